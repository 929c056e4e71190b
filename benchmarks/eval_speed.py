"""Time scoring all OTB-100 sequences for all shared trackers (goal: under 2 s).

Usage: python benchmarks/eval_speed.py [--data ../shared/data] [--repeat 3]
Prints the best wall time of reading the annotations and scoring every ``results/<Tracker>/<Seq>.txt``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dastsiam.evaluation.conventions import preset
from dastsiam.evaluation.report import ground_truth_from_anno_dir, score_results
from dastsiam.evaluation.results import Warnings

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    otb = args.data / "OTB100"
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        warnings = Warnings()
        gt = ground_truth_from_anno_dir(otb / "anno", warnings=warnings)
        report = score_results(gt, [otb / "results"], preset("otb"), "otb", warnings=warnings)
        best = min(best, time.perf_counter() - start)
    pairs = sum(len(t.sequences) for t in report.trackers.values())
    frames = sum(t.summary["frames"] for t in report.trackers.values())
    print(f"scored {len(report.trackers)} trackers x {len(gt)} sequences ({pairs} result files, {frames} frames) "
          f"in {best:.3f} s (best of {args.repeat})")


if __name__ == "__main__":
    main()
