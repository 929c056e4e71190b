"""``dastsiam eval``: score results folders against a benchmark, print a table, write JSON and plots.

Stable contract used by scripts::

    dastsiam eval --dataset otb --anno DIR --results ROOT --json FILE

scores every ``ROOT/<Tracker>/<Seq>.txt`` against ``DIR/<Seq>.txt`` and writes
``{"<Tracker>": {"success_auc": ..., "precision": ..., ...}}``. Problems with single files are printed as
warnings (file and line) and the rest is still scored.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

import numpy as np

from dastsiam.evaluation import conventions as C

DATASETS = ("otb", "uav123", "lasot", "got10k", "vot2018", "custom")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "eval",
        help="score tracking results against a benchmark",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", required=True, choices=DATASETS, help="benchmark (selects reader and scoring preset)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--anno", type=Path, help="folder of <Seq>.txt ground-truth files (benchmark's own convention)")
    src.add_argument("--root", type=Path, help="dataset folder in the benchmark's own layout")
    p.add_argument("--split", help="dataset split (got10k: train/val/test; lasot: train/test)")
    p.add_argument("--att", type=Path,
                   help="per-sequence attribute folder of <Seq>.txt flag rows: OTB's 11 or LaSOT's 14 (its toolkit's "
                        "att files) (default: ANNO/../att or ROOT/att when present)")
    p.add_argument("--results", type=Path, action="append", required=True,
                   help="results root holding <Tracker>/<Seq>.txt (repeatable)")
    p.add_argument("--trackers", nargs="+", help="score only these trackers")
    p.add_argument("--sequences", nargs="+", metavar="NAMES",
                   help="score only these sequences: comma- or space-separated, as in 'dastsiam run' "
                        "(any spelling of split OTB sequences: Jogging-1, Jogging.1, Jogging_1)")
    p.add_argument("--missing", choices=("fail", "shared"), default="fail",
                   help="a sequence without a result: 'fail' scores all its frames as failures and marks the "
                        "tracker incomplete (default); 'shared' ranks every tracker on the sequences they all "
                        "have results for (pytracking's rule)")
    p.add_argument("--protocol", choices=("ope", "sre", "tre"), default=None,
                   help="ope (default; VOT2018: the reset protocol unless a protocol is given), or OTB's sre / tre "
                        "runs written by 'dastsiam run --protocol': each sequence's runs pooled as the OTB "
                        "toolkit pools them, plus their spread")
    p.add_argument("--compare", metavar="BASE",
                   help="paired comparison of every tracker against tracker BASE on the sequences both have: mean "
                        "difference in success AUC and precision, a bootstrap interval over sequences (and over "
                        "runs within a sequence for sre/tre), per-sequence differences, and a verdict: better, "
                        "worse or cannot tell")
    p.add_argument("--bootstrap", type=int, default=10000, metavar="N", help="bootstrap resamples for --compare")
    p.add_argument("--confidence", type=float, default=0.95, help="interval level for --compare (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed for --compare (default 0)")
    p.add_argument("--resample", choices=("sequences+runs", "sequences"), default="sequences+runs",
                   help="--compare's bootstrap levels: sequences and the runs within each (default; a little "
                        "conservative), or sequences only (their pooled scores; see docs/evaluation.md)")
    p.add_argument("--json", type=Path, help="write the scores (and the curves, to redraw the plots) as JSON")
    p.add_argument("--per-sequence", action="store_true", help="include per-sequence scores in the JSON")
    p.add_argument("--plots", type=Path, help="write success/precision plots into this folder (VOT2018: the AR plot "
                                               "and the expected-overlap curves)")
    p.add_argument("--plot-format", nargs="+", default=["png"], choices=["png", "pdf", "svg"],
                   help="plot file format(s) (default: png)")
    p.add_argument("--attributes", action="store_true",
                   help="print per-attribute scores: success AUC (OTB, LaSOT attribute files), EAO/accuracy/failures "
                        "(VOT per-frame tags: camera_motion, illum_change, occlusion, size_change, motion_change)")
    p.add_argument("--max-warnings", type=int, default=20, help="print at most this many warnings (default 20)")
    p.add_argument("--pack-got10k", type=Path, metavar="ZIP",
                   help="GOT-10k: instead of scoring, zip one tracker's results (ROOT/<Tracker>/<Seq>/<Seq>_001.txt "
                        "and <Seq>_time.txt for every sequence of --root/--split, rows checked) for the evaluation "
                        "server; the test split has no ground truth to score")
    g = p.add_argument_group("scoring conventions (defaults come from the dataset's preset; see docs/evaluation.md)")
    g.add_argument("--iou", choices=C.IOU_CHOICES, help="box overlap: continuous (area w*h) or pixel (VOC +1 rule)")
    g.add_argument("--first-frame", choices=C.FIRST_FRAME_CHOICES,
                   help="frame 1: set to the ground truth (OTB), scored as_is (pysot), or excluded (GOT-10k)")
    g.add_argument("--invalid-result", choices=C.INVALID_RESULT_CHOICES,
                   help="a missing/NaN/empty result box: the previous box (OTB) or scored as_is (IoU 0)")
    g.add_argument("--invalid-gt", choices=C.INVALID_GT_CHOICES,
                   help="frames with invalid ground truth: count as failures (OTB) or skip them (GOT-10k)")
    g.add_argument("--gt-valid", choices=C.GT_VALID_CHOICES,
                   help="valid ground truth: all four numbers positive (OTB) or finite with w, h > 0 (size)")
    g.add_argument("--success-op", choices=C.SUCCESS_OP_CHOICES,
                   help="success at threshold t: IoU > t (every official toolkit) or IoU >= t")
    g.add_argument("--align", choices=C.ALIGN_CHOICES,
                   help="a short result covers the first (start) or last (end) frames; the rest are failures")
    g.add_argument("--average", choices=C.AVERAGE_CHOICES,
                   help="average curves per sequence (OTB, LaSOT) or pool all frames (GOT-10k)")
    g.add_argument("--success-thresholds", type=int,
                   help="points of the success curve over [0, 1] (OTB 21, GOT-10k 101)")
    g.add_argument("--precision-threshold", type=float, help="centre-error threshold in pixels for precision (20)")
    g.add_argument("--vot-burn-in", type=int, default=10, help="VOT accuracy burn-in frames (default 10)")
    g.add_argument("--vot-overlap", choices=("raster", "exact"), default="raster",
                   help="VOT overlap: 'raster' = pixel masks as the VOT toolkit and pysot (default), 'exact' = polygon areas")
    p.set_defaults(func=run)
    return p


def _conventions(args) -> C.Conventions:
    base = C.preset("custom" if args.dataset == "vot2018" else args.dataset)  # VOT one-pass: its 0-based envelope
    return base.with_overrides(
        iou=args.iou, first_frame=args.first_frame, invalid_result=args.invalid_result, invalid_gt=args.invalid_gt,
        gt_valid=args.gt_valid, success_op=args.success_op, align=args.align, average=args.average,
        success_thresholds=args.success_thresholds, precision_threshold=args.precision_threshold,
    )


def _print_warnings(warnings, limit: int) -> None:
    if not len(warnings):
        return
    messages = list(warnings)
    print(f"{len(messages)} warning(s):", file=sys.stderr)
    for message in messages[:limit]:
        print(f"  warning: {message}", file=sys.stderr)
    if len(messages) > limit:
        print(f"  ... and {len(messages) - limit} more (--max-warnings)", file=sys.stderr)


def split_names(values) -> list[str] | None:
    """Sequence names from ``--sequences`` given comma- or space-separated (or both): ``a,b c`` -> a, b, c."""
    if not values:
        return None
    if isinstance(values, str):
        values = [values]
    names = [n for v in values for n in v.replace(",", " ").split()]
    return list(dict.fromkeys(names)) or None


def check_outputs(json_path: Path | None = None, plots_dir: Path | None = None) -> None:
    """Make sure the JSON file and the plots folder can be written, before any scoring starts (InputError)."""
    from dastsiam.errors import InputError

    if json_path is not None:
        json_path = Path(json_path)
        if json_path.is_dir():
            raise InputError(f"--json {json_path}: is a folder; give a file name")
        _check_folder(json_path.parent, f"--json {json_path}")
        probe = json_path.with_name(f".{json_path.name}.probe")
        try:
            with open(json_path if json_path.exists() else probe, "a"):
                pass
        except OSError as exc:
            raise InputError(f"--json {json_path}: cannot write ({exc.strerror or exc})") from None
        finally:
            if probe.exists():
                probe.unlink()
    if plots_dir is not None:
        plots_dir = Path(plots_dir)
        if plots_dir.exists() and not plots_dir.is_dir():
            raise InputError(f"--plots {plots_dir}: is a file; give a folder")
        _check_folder(plots_dir, f"--plots {plots_dir}")


@contextlib.contextmanager
def _writing(path: Path, option: str):
    """An OSError while writing an output (a full disk, a folder removed meanwhile) as one-line OutputError."""
    from dastsiam.errors import OutputError

    try:
        yield
    except OSError as exc:
        raise OutputError(f"{option} {path}: cannot write ({exc.strerror or exc})") from None


def _check_folder(folder: Path, what: str) -> None:
    from dastsiam.errors import InputError

    for parent in [folder, *folder.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{what}: {parent} is not a folder")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{what}: cannot create {folder} ({exc.strerror or exc})") from None
    probe = folder / ".dastsiam-write-probe"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"{what}: cannot write in {folder} ({exc.strerror or exc})") from None


def run(args) -> int:
    from dastsiam.datasets import load_dataset
    from dastsiam.errors import InputError
    from dastsiam.evaluation.report import (
        attach_attributes, format_table, ground_truth_from_anno_dir, ground_truth_from_sequences, score_results,
    )
    from dastsiam.evaluation.results import Warnings

    if args.vot_burn_in < 0:
        raise InputError(f"--vot-burn-in {args.vot_burn_in}: must be 0 or more frames")
    if args.precision_threshold is not None and not (np.isfinite(args.precision_threshold)
                                                     and args.precision_threshold > 0):
        raise InputError(f"--precision-threshold {args.precision_threshold:g}: must be a positive number of pixels")
    check_outputs(args.json, args.plots)
    args.sequences = split_names(args.sequences)
    if args.pack_got10k is not None:
        return _pack_got10k(args)
    if args.bootstrap < 100:
        raise InputError(f"--bootstrap {args.bootstrap}: use at least 100 resamples")
    if not 0.5 <= args.confidence < 1:
        raise InputError(f"--confidence {args.confidence}: give a level between 0.5 and 1 (e.g. 0.95)")
    if args.dataset == "vot2018" and args.protocol is None:
        if args.compare:
            raise InputError("--compare works on success/precision scores: give --protocol ope|sre|tre to score VOT "
                             "sequences one-pass")
        return _run_vot(args)
    if args.dataset == "vot2018" and args.root is None:
        raise InputError("VOT one-pass scoring needs the dataset (--root): its polygons give the boxes")
    conventions = _conventions(args)
    warnings = Warnings()
    if args.anno is not None:
        ground_truth = ground_truth_from_anno_dir(args.anno, args.att, args.sequences, warnings, args.dataset)
    else:
        sequences = load_dataset(args.dataset, args.root, split=args.split, names=args.sequences)
        if any(s.attributes.get("test_split") for s in sequences):
            raise InputError(f"{args.root}: the GOT-10k test split has no ground truth; submit to the server")
        ground_truth = ground_truth_from_sequences(sequences, args.dataset)
        att = args.att if args.att is not None else (args.root / "att" if (args.root / "att").is_dir() else None)
        attach_attributes(ground_truth, att, args.dataset, warnings)
    trackers = args.trackers
    if args.compare and trackers and args.compare not in trackers:
        trackers = [*trackers, args.compare]
    report = score_results(ground_truth, args.results, conventions, args.dataset, trackers, warnings,
                           missing=args.missing, protocol=args.protocol or "ope")
    print(format_table(report, attributes=args.attributes))
    comparisons = _compare(report, args) if args.compare else []
    if args.json:
        with _writing(args.json, "--json"):
            report.write_json(args.json, per_sequence=args.per_sequence,
                              extra={c.tracker: {"compare": c.to_json()} for c in comparisons})
        print(f"scores written to {args.json}")
    if args.plots:
        from dastsiam.evaluation.plots import plot_report

        with _writing(args.plots, "--plots"):
            written = plot_report(report, args.plots, tuple(args.plot_format), attributes=args.attributes)
        print(f"{len(written)} plot(s) written to {args.plots}")
    _print_warnings(warnings, args.max_warnings)
    return 0


def _pack_got10k(args) -> int:
    """``--pack-got10k ZIP``: the GOT-10k server's submission of one tracker (runner.pack_got10k_submission)."""
    from dastsiam.datasets import load_dataset
    from dastsiam.errors import InputError
    from dastsiam.evaluation.report import discover_trackers
    from dastsiam.evaluation.runner import pack_got10k_submission

    if args.dataset != "got10k":
        raise InputError(f"--pack-got10k packs GOT-10k results; --dataset is {args.dataset}")
    if args.root is None:
        raise InputError("--pack-got10k needs the dataset (--root, with --split test or val) to check every sequence")
    if args.pack_got10k.is_dir():
        raise InputError(f"--pack-got10k {args.pack_got10k}: is a folder; give the .zip file to write")
    trackers = discover_trackers(args.results)
    if args.trackers:
        unknown = [t for t in args.trackers if t not in trackers]
        if unknown:
            raise InputError(f"--trackers {', '.join(unknown)}: no results folder under "
                             f"{', '.join(str(r) for r in args.results)}")
        trackers = {t: trackers[t] for t in args.trackers}
    if len(trackers) != 1:
        names = ", ".join(sorted(trackers)) or "none"
        raise InputError(f"--pack-got10k packs one tracker; found {len(trackers)} ({names}): choose one with --trackers")
    (name, folder), = trackers.items()
    sequences = load_dataset("got10k", args.root, split=args.split, names=args.sequences)
    with _writing(args.pack_got10k, "--pack-got10k"):
        archive = pack_got10k_submission(folder.parent, name, sequences, args.pack_got10k)
    print(f"GOT-10k submission of {name}: {len(sequences)} sequences packed into {archive}")
    return 0


def _compare(report, args) -> list:
    """Every other tracker of ``report`` against ``args.compare``: printed, and returned for the JSON."""
    from dastsiam.errors import InputError
    from dastsiam.evaluation.compare import compare, format_comparisons, run_scores_of

    if args.compare not in report.trackers:
        raise InputError(f"--compare {args.compare}: no such tracker among {', '.join(report.trackers)}")
    base = run_scores_of(report.trackers[args.compare])
    comparisons = [
        compare(run_scores_of(tr), base, name, args.compare, resamples=args.bootstrap, confidence=args.confidence,
                seed=args.seed, resample_runs=args.resample == "sequences+runs")
        for name, tr in report.trackers.items() if name != args.compare
    ]
    if comparisons:
        print()
        print(format_comparisons(comparisons))
    else:
        print(f"--compare {args.compare}: no other tracker to compare with")
    return comparisons


VOT_TAGS = ("camera_motion", "illum_change", "occlusion", "size_change", "motion_change")


def _run_vot(args) -> int:
    """VOT2018 baseline results: accuracy, robustness and EAO, per attribute with ``--attributes``."""
    import cv2

    from dastsiam.datasets import load_vot2018
    from dastsiam.errors import InputError
    from dastsiam.evaluation.report import discover_trackers, resolve_names
    from dastsiam.evaluation.results import Warnings, read_vot_result
    from dastsiam.evaluation.vot import ground_truth_regions, score_vot

    if args.root is None:
        raise InputError("VOT scoring needs the dataset (--root) for its polygons, frame sizes and tags")
    sequences = load_vot2018(args.root, args.sequences)
    sizes, tags = {}, {}
    for seq in sequences:
        image = cv2.imread(str(seq.frames[0]))
        if image is None:
            raise InputError(f"{seq.frames[0]}: frame missing or unreadable (VOT overlaps need the frame size)")
        sizes[seq.name] = (image.shape[1], image.shape[0])
        tags[seq.name] = {k: np.asarray(v, dtype=bool) for k, v in seq.attributes.items()
                          if isinstance(v, np.ndarray) and v.dtype == bool and len(v) == len(seq)}
    warnings = Warnings()
    trackers = discover_trackers(args.results)
    if args.trackers:
        unknown = [t for t in args.trackers if t not in trackers]
        for t in unknown:
            warnings.add(f"tracker {t}: no results folder under {', '.join(str(r) for r in args.results)}")
        trackers = {t: trackers[t] for t in args.trackers if t in trackers}
    loaded: dict[str, dict[str, list]] = {}
    for name, folder in trackers.items():
        base = folder / "baseline" if (folder / "baseline").is_dir() else folder
        listing = [p.name for p in base.iterdir() if p.is_dir()] if base.is_dir() else []
        matched = resolve_names([seq.name for seq in sequences], listing)
        runs = {}
        for seq in sequences:
            stem = matched.get(seq.name)
            files = sorted((base / stem).glob(f"{stem}_[0-9][0-9][0-9].txt")) if stem else []
            trajs = []
            for f in files:
                try:
                    traj = read_vot_result(f)
                except InputError as exc:
                    warnings.add(f"{exc}; run skipped")
                    continue
                if not traj:
                    warnings.add(f"{f}: empty; run skipped")
                    continue
                if len(traj) < len(seq):
                    # frames past the end of the file were never tracked: each is scored as lost (no overlap,
                    # and a failure at the first of them), so a short file cannot score better
                    warnings.add(f"{f}: {len(traj)} lines for {len(seq)} frames; the missing frames count as a failure")
                    traj = list(traj) + [2] + [0] * (len(seq) - len(traj) - 1)
                elif len(traj) > len(seq):
                    warnings.add(f"{f}:{len(seq) + 1}: {len(traj)} lines for {len(seq)} frames; extra lines ignored")
                    traj = traj[: len(seq)]
                trajs.append(traj)
            if trajs:
                runs[seq.name] = trajs
        if not runs:
            warnings.add(f"{base}: no baseline results for any of the {len(sequences)} sequences; tracker {name} left out")
            continue
        loaded[name] = runs
    if not loaded:
        skipped = [m for m in warnings if m.endswith("; run skipped")]
        if skipped:  # every run was unreadable: say why (the warnings would otherwise never be printed)
            more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
            raise InputError(f"nothing to score under {', '.join(str(r) for r in args.results)}: every VOT "
                             f"baseline run was skipped: {skipped[0][: -len('; run skipped')]}{more}")
        raise InputError(
            f"nothing to score under {', '.join(str(r) for r in args.results)}: no VOT baseline results "
            f"(expected TRACKER/baseline/<seq>/<seq>_001.txt, written by 'dastsiam run --dataset vot2018')"
        )
    all_names = [seq.name for seq in sequences]
    if args.missing == "shared":
        names = [n for n in all_names if all(n in r for r in loaded.values())]
        if not names:
            raise InputError("the trackers share no VOT sequence with results; use --missing fail")
        if len(names) < len(all_names):
            left = [n for n in all_names if n not in set(names)]
            warnings.add(f"{len(left)} of {len(all_names)} sequences left out because some tracker has no result "
                         f"for them ({', '.join(left[:5])}); every tracker is scored on the {len(names)} they share")
    else:
        names = all_names
    polygons = {seq.name: ground_truth_regions(seq) for seq in sequences}
    out, ranked, incomplete = {}, [], []
    for name, runs in loaded.items():
        missing = [n for n in names if n not in runs]
        use = {n: runs[n] for n in names if n in runs}
        score = score_vot(use, polygons, sizes, burn_in=args.vot_burn_in, method=args.vot_overlap,
                          tags={n: tags[n] for n in use})
        entry = {"accuracy": score.accuracy, "robustness": score.robustness, "failures": score.failures,
                 "eao": score.eao, "sequences": len(use), "annotated_sequences": len(all_names),
                 "missing": missing, "complete": not missing, "frames": score.frames,
                 "curves": {"expected_overlap": {"lengths": list(range(1, len(score.expected_overlaps) + 1)),
                                                 "values": [None if not np.isfinite(v) else round(float(v), 6)
                                                            for v in score.expected_overlaps]}}}
        if score.attributes:
            entry["attributes"] = score.attributes
        out[name] = entry
        if missing:
            warnings.add(f"{trackers[name]}: no baseline results for {len(missing)} of {len(names)} sequences "
                         f"({', '.join(missing[:5])}); tracker {name} is incomplete and left out of the ranking")
            incomplete.append(name)
        else:
            ranked.append(name)
    print(_vot_table(out, ranked, incomplete, len(names), len(all_names), args.missing))
    if args.attributes:
        print(_vot_attribute_table(out, ranked + incomplete))
    if args.json:
        clean = {n: {k: (_round(v) if isinstance(v, float) else v) for k, v in e.items()} for n, e in out.items()}
        for e in clean.values():
            for d in e.get("attributes", {}).values():
                for k, v in d.items():
                    d[k] = _round(v) if isinstance(v, float) else v
        args.json.parent.mkdir(parents=True, exist_ok=True)
        with _writing(args.json, "--json"):
            args.json.write_text(json.dumps(clean, indent=2) + "\n")
        print(f"scores written to {args.json}")
    if args.plots:
        from dastsiam.evaluation.plots import plot_vot

        with _writing(args.plots, "--plots"):
            written = plot_vot(out, args.plots, tuple(args.plot_format))
        print(f"{len(written)} plot(s) written to {args.plots} (AR plot, expected-overlap curves)")
    _print_warnings(warnings, args.max_warnings)
    return 0


def _round(value: float):
    return None if value != value else round(float(value), 6)


def _vot_table(out: dict, ranked: list, incomplete: list, count: int, annotated: int, policy: str) -> str:
    width = max([8] + [len(n) + 1 for n in out])
    scope = (f"{count} of {annotated} sequences shared by every tracker (--missing shared)" if policy == "shared"
             else f"{count} sequences")
    lines = [f"VOT2018 baseline: {scope}",
             f"{'Tracker':<{width}}  {'Accuracy':>8}  {'Robust.':>8}  {'Failures':>8}  {'EAO':>8}  {'Seqs':>7}"]
    lines.append("-" * len(lines[-1]))
    order = sorted(ranked, key=lambda n: -np.nan_to_num(out[n]["eao"], nan=-1)) + incomplete
    for name in order:
        s = out[name]
        label = name + ("*" if name in incomplete else "")
        seqs = f"{s['sequences']}/{count}"
        lines.append(f"{label:<{width}}  {s['accuracy']:8.3f}  {s['robustness']:8.3f}  {s['failures']:8.1f}  "
                     f"{s['eao']:8.3f}  {seqs:>7}")
    if incomplete:
        lines.append("* incomplete (sequences without results): not ranked; its numbers cover fewer sequences")
    return "\n".join(lines)


def _vot_attribute_table(out: dict, order: list) -> str:
    tags = []
    for name in order:
        tags += [t for t in out[name].get("attributes", {}) if t not in tags]
    tags = [t for t in VOT_TAGS if t in tags] + [t for t in tags if t not in VOT_TAGS]
    if not tags:
        return "\nno per-frame VOT tags (<seq>/camera_motion.tag, ...) in the dataset: no per-attribute scores"
    width = max([8] + [len(n) + 1 for n in out])
    lines = ["", "EAO / accuracy / failures per attribute (VOT per-frame tags):"]
    head = f"{'Tracker':<{width}}  " + "  ".join(f"{t[:19]:>19}" for t in tags)
    lines += [head, "-" * len(head)]
    for name in order:
        cells = []
        for t in tags:
            d = out[name].get("attributes", {}).get(t)
            cells.append(f"{d['eao']:5.3f} {d['accuracy']:5.3f} {d['failures']:6.1f}" if d else f"{'-':>19}")
        lines.append(f"{name:<{width}}  " + "  ".join(f"{c:>19}" for c in cells))
    return "\n".join(lines)
