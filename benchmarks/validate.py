"""Validation score of one or more models on the shared validation sequences (never trained on).

    python benchmarks/validate.py nano nano-v3 ft=runs/nano_ft/best.safetensors \\
        gate-off=runs/nano_st_da/best.safetensors+update_threshold=-1 [--backend auto|torch|onnx]
    python benchmarks/validate.py nano opencv-nano=nano+preset=opencv-nano nano-v3 dastsiam-nano \\
        --suite pool --protocol sre --compare nano --resume --json runs/lineup_sre.json

Each argument is ``[LABEL=]MODEL[+key=value ...]``: a built-in model name or a weights file, optionally with
tracker-config overrides (``TrackerConfig`` fields, e.g. ``+swap_rb=false``, ``+update_threshold=-1`` = update
the template every frame) or ``+preset=NAME`` (the tracker preset, as ``dastsiam run --preset``). Every model
is run with ``--protocol`` (default ``ope``: one pass, initialised on frame 1 with the ground truth, never
reset; ``sre`` / ``tre``: OTB's 12 perturbed first boxes / 20 start frames, ``dastsiam run --protocol``) over

* ``OTB/``: Couple, Crossing, Football1, MotorRolling, Surfer (``dastsiam run --dataset otb``),
* ``VOT/bag`` scored one-pass against the polygons' axis-aligned envelope (``--dataset custom``),
* ``UAV123_10fps/wakeboard7`` (``--dataset uav123``)

(``--suite extra``: the 4 half-size UAV123@10fps sequences of ``train_extra/`` instead, also never trained on;
``--suite pool``: the whole validation pool, those 7 + ``val_extra/OTB/Woman`` + the 4 of ``extra``, i.e.
every sequence of the shared data that is not training data; ``--suite unseen``: the pool's 5 sequences that
training's early stopping never sees, Woman + ``extra``, where a fine-tune's checkpoint choice cannot flatter it),

with the same code as ``dastsiam run`` (``dastsiam.evaluation.runner.run_protocol`` on the tracker
``dastsiam.api.build_tracker`` builds, plus the overrides), and scored with ``dastsiam eval`` (each
dataset's own conventions; SRE/TRE runs pooled as the OTB toolkit). Prints success AUC and precision (centre
error <= 20 px) per sequence and their unweighted mean over the sequences; ``--compare LABEL`` adds the paired
comparison of every other model against LABEL over all the suite's sequences
(``dastsiam.evaluation.compare``, what ``dastsiam eval --compare`` prints), ``--json FILE`` writes it all.
Results go to ``RESULTS/<dataset kind>/<LABEL>/`` (``sre/``, ``tre/`` below it); ``--resume`` keeps finished
runs (a long SRE sweep resumes; rerun without it after changing a model or the code).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads (2 shared cores)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"

# suite -> [(dataset kind for run/eval, root relative to the data folder, sequence names)]
SUITE_CHOICES = {
    "val": [
        ("otb", "OTB", ["Couple", "Crossing", "Football1", "MotorRolling", "Surfer"]),
        ("custom", "VOT/bag", ["bag"]),
        ("uav123", "UAV123_10fps", ["wakeboard7"]),
    ],
    # 4 more held-out sequences (not in train/; half-size UAV123@10fps): for tracker settings, not for training
    "extra": [("uav123", "train_extra/UAV123_10fps_half", ["building4", "person12_1", "truck4_1", "truck4_2"])],
}
# the whole validation pool: every sequence of the shared data that is not training data (issue 14)
SUITE_CHOICES["pool"] = [*SUITE_CHOICES["val"], ("otb", "val_extra/OTB", ["Woman"]), *SUITE_CHOICES["extra"]]
# the pool's sequences that training's early stopping never sees (validation.data = the "val" suite): a trained
# model's checkpoint was chosen on the other 7, so its gain there is partly selection; score it here too
SUITE_CHOICES["unseen"] = [("otb", "val_extra/OTB", ["Woman"]), *SUITE_CHOICES["extra"]]
SUITES = SUITE_CHOICES["val"]


@dataclasses.dataclass
class Arm:
    label: str
    model: str
    overrides: dict


def _value(text: str):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_arm(spec: str) -> Arm:
    """``[LABEL=]MODEL[+key=value ...]``."""
    label, _, rest = spec.partition("=") if "=" in spec.split("+")[0] else ("", "", spec)
    model, *pieces = rest.split("+")
    overrides = {}
    for piece in pieces:
        key, sep, value = piece.partition("=")
        if not sep:
            raise SystemExit(f"validate.py: {spec!r}: override {piece!r} is not key=value")
        overrides[key] = _value(value)
    if not label:
        label = Path(model).stem if Path(model).suffix else model
        if overrides:
            label += "+" + "+".join(f"{k}={v}" for k, v in overrides.items())
    return Arm(label, model, overrides)


def build_tracker(model: str, backend: str, overrides: tuple):
    """The tracker ``dastsiam run`` builds, with ``TrackerConfig`` overrides and ``preset`` (module level:
    picklable)."""
    from dastsiam.api import TrackerSpec
    from dastsiam.api import build_tracker as api_build_tracker

    overrides = dict(overrides)
    tracker = api_build_tracker(TrackerSpec(model=model, backend=backend, device="cpu", threads=1,
                                            preset=overrides.pop("preset", None)))
    if overrides:
        tracker.config = dataclasses.replace(tracker.config, **overrides)
    return tracker


def run_arm(arm: Arm, results: Path, backend: str, data: Path, workers: int, protocol: str = "ope",
            resume: bool = False) -> float:
    """Track every validation sequence with ``arm``; returns the seconds spent tracking."""
    import functools

    from dastsiam.datasets import load_dataset
    from dastsiam.evaluation.runner import run_protocol

    factory = functools.partial(build_tracker, arm.model, backend, tuple(sorted(arm.overrides.items())))
    factory()  # fail fast: unknown model, bad override
    spent = 0.0
    for kind, root, names in SUITES:
        sequences = load_dataset(kind, data / root, names=names)
        folder = results / kind
        start = time.perf_counter()
        run_protocol(factory, sequences, folder, arm.label, protocol, workers=workers, resume=resume)
        spent += time.perf_counter() - start
    return spent


def clear_results(results: Path, label: str, protocol: str) -> None:
    """Remove ``label``'s result files of ``protocol`` for the suite's sequences (other protocols' files and
    other sequences stay)."""
    for kind, _, names in SUITES:
        folder = results / kind / label
        for name in names:
            if protocol == "ope":
                for path in (folder / f"{name}.txt", folder / "times" / f"{name}_time.txt"):
                    path.unlink(missing_ok=True)
            else:
                shutil.rmtree(folder / protocol / name, ignore_errors=True)


def score_arm(arm: Arm, results: Path, data: Path, protocol: str = "ope", runs: dict | None = None
              ) -> dict[str, dict]:
    """``{sequence: {"auc": ..., "precision": ...}}`` from ``dastsiam eval --protocol``; with ``runs`` given,
    also fills ``runs[sequence]`` with the per-run scores the paired comparison needs."""
    from dastsiam.evaluation.compare import run_scores_from_json

    scores = {}
    for kind, root, names in SUITES:
        folder = results / kind / arm.label
        if not any((folder / protocol / n).is_dir() if protocol != "ope" else (folder / f"{n}.txt").is_file()
                   for n in names):
            continue  # nothing run there yet (--score-only during a sweep): its sequences show as '-'
        out = results / kind / f"{arm.label}.{protocol}.{root.replace('/', '_')}.json"
        argv = ["eval", "--dataset", kind, "--root", str(data / root), "--results", str(results / kind),
                "--trackers", arm.label, "--sequences", *names, "--json", str(out), "--per-sequence",
                "--protocol", protocol]
        # the command itself, as a user runs it (the library never imports the command line)
        done = subprocess.run([sys.executable, "-m", "dastsiam.cli.main", *argv], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"validate.py: dastsiam {' '.join(argv)} failed ({done.returncode}):\n"
                             f"{done.stdout}{done.stderr}")
        entry = json.loads(out.read_text())[arm.label]
        for name, s in entry["per_sequence"].items():
            if s["has_result"]:  # an unfinished sequence (some runs missing) shows as '-', out of the mean
                scores[name] = {"auc": s["success_auc"], "precision": s["precision"]}
        if runs is not None:
            runs.update(run_scores_from_json(entry))
    return scores


def format_table(table: dict[str, dict[str, dict]]) -> str:
    labels = list(table)
    sequences = [n for _, _, names in SUITES for n in names]
    width = max(12, *(len(label) for label in labels))
    lines = [f"{'sequence':<13}" + "".join(f"{label:>{width + 2}}" for label in labels),
             f"{'':<13}" + "".join(f"{'AUC / prec':>{width + 2}}" for _ in labels)]
    for name in sequences + ["mean"]:
        cells = []
        for label in labels:
            s = table[label].get(name)
            cells.append(f"{s['auc']:.3f} / {s['precision']:.3f}" if s else "-")
        lines.append(f"{name:<13}" + "".join(f"{c:>{width + 2}}" for c in cells))
    return "\n".join(lines)


def with_mean(scores: dict[str, dict]) -> dict[str, dict]:
    names = [n for _, _, ns in SUITES for n in ns if n in scores]
    mean = {k: sum(scores[n][k] for n in names) / len(names) for k in ("auc", "precision")}
    return {**scores, "mean": mean}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", metavar="[LABEL=]MODEL[+key=value]")
    parser.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto",
                        help="as dastsiam run (auto = onnxruntime for trained weights on the CPU)")
    parser.add_argument("--data", type=Path, default=DATA, help=f"shared data folder (default {DATA})")
    parser.add_argument("--results", type=Path, default=ROOT / "runs" / "validate",
                        help="result files go to RESULTS/<dataset>/<LABEL>/ (overwritten)")
    parser.add_argument("--workers", type=int, default=1, help="sequences tracked in parallel processes")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--suite", choices=sorted(SUITE_CHOICES), default="val",
                        help="val: the 7 validation sequences (default); extra: train_extra's 4 UAV123 sequences; "
                             "pool: all 12 (val + val_extra's Woman + extra); unseen: the pool's 5 that training's "
                             "early stopping never sees (Woman + extra), to score a trained model with --score-only")
    parser.add_argument("--protocol", choices=("ope", "sre", "tre"), default="ope",
                        help="ope (default), or OTB's sre / tre (dastsiam run --protocol)")
    parser.add_argument("--compare", metavar="LABEL",
                        help="paired comparison of every other model against LABEL (intervals and verdicts)")
    parser.add_argument("--resample", choices=("sequences+runs", "sequences"), default="sequences+runs",
                        help="--compare's bootstrap levels, as dastsiam eval --resample")
    parser.add_argument("--resume", action="store_true",
                        help="keep finished result files (resume a sweep) instead of re-running every model")
    parser.add_argument("--score-only", action="store_true",
                        help="score the result files there are (a sweep run elsewhere), track nothing")
    parser.add_argument("--json", type=Path, help="write {label: {sequence|mean: {auc, precision}}} here "
                                                  "(and, with --compare, {\"compare\": {label: ...}})")
    args = parser.parse_args(argv)

    import torch

    global SUITES
    SUITES = SUITE_CHOICES[args.suite]
    torch.set_num_threads(args.threads)
    arms = [parse_arm(spec) for spec in args.models]
    if len({a.label for a in arms}) != len(arms):
        raise SystemExit("validate.py: two models with the same label; name them LABEL=MODEL")
    if args.compare and args.compare not in {a.label for a in arms}:
        raise SystemExit(f"validate.py: --compare {args.compare}: not one of the models' labels")
    table, runs = {}, {}
    for arm in arms:
        spent = 0.0
        if not args.score_only:
            if not args.resume:
                clear_results(args.results, arm.label, args.protocol)
            spent = run_arm(arm, args.results, args.backend, args.data, args.workers, args.protocol, args.resume)
        runs[arm.label] = {}
        table[arm.label] = with_mean(score_arm(arm, args.results, args.data, args.protocol, runs[arm.label]))
        mean = table[arm.label]["mean"]
        print(f"{arm.label}: mean {args.protocol.upper()} AUC {mean['auc']:.3f}, precision {mean['precision']:.3f} "
              f"({spent:.0f} s tracking)", file=sys.stderr, flush=True)
    print(format_table(table))
    comparisons = []
    if args.compare:
        from dastsiam.evaluation.compare import compare, format_comparisons

        comparisons = [compare(runs[label], runs[args.compare], label, args.compare,
                               resample_runs=args.resample == "sequences+runs")
                       for label in table if label != args.compare]
        print()
        print(format_comparisons(comparisons))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = dict(table)
        if comparisons:
            payload["compare"] = {c.tracker: c.to_json() for c in comparisons}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
