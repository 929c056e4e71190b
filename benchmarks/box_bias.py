"""Box bias: median offset of the tracker's box centre from the ground truth's, with success AUC, per sequence.

Issue 8.6: our boxes sat a median 1-2 px right of and below the ground-truth centre on the OTB sequences.
Runs presets in-process (the model is run once per preset and sequence) and prints, per sequence and preset,
the median centre offset ``dx, dy`` (pixels; + = right / down) and the OTB success AUC.

    python benchmarks/box_bias.py                                  # opencv-nano vs nano on ../shared/data/OTB
    python benchmarks/box_bias.py --presets opencv-nano nano --model nano --results DIR   # a dastsiam run folder

With ``--results`` it reads result files written by ``dastsiam run`` (``DIR/<tracker>/<Seq>.txt``, OTB's
1-based convention) instead of tracking: the offsets of the before/after runs reported in docs/tracking.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DASTSIAM_DATA", REPO.parent / "shared" / "data"))
sys.path.insert(0, str(REPO / "src"))

from dastsiam.runtime import prepare_environment  # noqa: E402

prepare_environment()


def centre_offsets(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``(N, 2)`` box centre minus ground-truth centre over frames 2.. where both are valid."""
    ok = np.all(np.isfinite(gt), axis=1) & (gt[:, 2] > 0) & (gt[:, 3] > 0)
    ok[0] = False  # the given first box
    c_box = boxes[:, :2] + boxes[:, 2:] / 2.0
    c_gt = gt[:, :2] + gt[:, 2:] / 2.0
    return (c_box - c_gt)[ok]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=SHARED / "OTB")
    parser.add_argument("--model", default="nano")
    parser.add_argument("--presets", nargs="+", default=["opencv-nano", "nano"])
    parser.add_argument("--results", type=Path, default=None, help="score `dastsiam run` result folders instead")
    parser.add_argument("--trackers", nargs="+", default=None, help="tracker names under --results (default: all)")
    args = parser.parse_args(argv)

    import cv2

    from dastsiam.datasets.otb import load_otb
    from dastsiam.evaluation.metrics import score_sequence

    sequences = load_otb(args.root)
    rows: dict[str, dict[str, tuple]] = {}
    if args.results is not None:

        names = args.trackers or sorted(p.name for p in args.results.iterdir() if p.is_dir())
        for name in names:
            for seq in sequences:
                path = args.results / name / f"{seq.name}.txt"
                raw = np.loadtxt(path, delimiter=",", ndmin=2) if path.is_file() else None
                if raw is None:
                    continue
                boxes = raw.copy()
                boxes[:, :2] -= 1.0  # OTB result files are 1-based
                rows.setdefault(seq.name, {})[name] = _row(boxes, seq.ground_truth, score_sequence, seq.name)
    else:
        from dastsiam.onnx_backend import cached_onnx_model
        from dastsiam.tracking import Tracker, preset

        model = cached_onnx_model(args.model, threads=1)
        for seq in sequences:
            frames = [cv2.imread(str(f)) for f in seq.frames]
            for name in args.presets:
                tracker = Tracker(model, preset(name))
                tracker.init(frames[0], seq.ground_truth[0])
                boxes = [seq.ground_truth[0]] + [tracker.track(f)[0] for f in frames[1:]]
                rows.setdefault(seq.name, {})[name] = _row(np.array(boxes), seq.ground_truth, score_sequence, seq.name)
    names = list(next(iter(rows.values())).keys())
    print(f"{'sequence':<14}" + "".join(f"{n:>28}" for n in names))
    print(f"{'':<14}" + "".join(f"{'dx':>9}{'dy':>7}{'AUC':>12}" for _ in names))
    aucs = {n: [] for n in names}
    offsets = {n: [] for n in names}
    for seq_name, by_name in rows.items():
        line = f"{seq_name:<14}"
        for n in names:
            dx, dy, auc_value, off = by_name[n]
            aucs[n].append(auc_value)
            offsets[n].append(off)
            line += f"{dx:9.2f}{dy:7.2f}{auc_value:12.3f}"
        print(line)
    line = f"{'all frames':<14}"
    for n in names:
        off = np.concatenate(offsets[n])
        dx, dy = np.median(off, axis=0)
        line += f"{dx:9.2f}{dy:7.2f}{np.mean(aucs[n]):12.3f}"
    print(line + "   (median offset over all frames; mean AUC)")
    return 0


def _row(boxes, gt, score_sequence, name):
    off = centre_offsets(boxes, gt)
    dx, dy = np.median(off, axis=0)
    return float(dx), float(dy), float(score_sequence(name, boxes, gt).success_auc), off


if __name__ == "__main__":
    sys.exit(main())
