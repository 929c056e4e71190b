"""How often the template-update gate opens: the share of frames on which the tracker updated its template memory
(``Tracker.last.updated``: the frame's gate value passed ``update_threshold``), one pass over each sequence of a
``benchmarks/validate.py`` suite, initialised on the first ground-truth box.

    python benchmarks/gate_rate.py dastsiam-fear st-da=runs/ft/st_da_s0/best.safetensors [--suite pool]
    python benchmarks/gate_rate.py dastsiam-nano nano-gate-120=dastsiam-nano+update_threshold=1.2

Models as ``validate.py`` takes them (``[LABEL=]MODEL[+key=value]``). A gate that passes on every frame of
sequences where the target is lost (``truck4_1``) does not gate anything: docs/ablation.md, "FEAR".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import validate  # noqa: E402  (benchmarks/validate.py: its suites, model specs and tracker factory; sets OMP_WAIT_POLICY)


def gate_rates(arm, data: Path, suite: str, backend: str = "auto", max_frames: int = 0) -> dict[str, tuple[int, int]]:
    """``{sequence: (frames updated, frames tracked)}`` for one model (frames after the first)."""
    import cv2

    from dastsiam.datasets import load_dataset

    tracker = validate.build_tracker(arm.model, backend, tuple(sorted(arm.overrides.items())))
    counts = {}
    for kind, root, names in validate.SUITE_CHOICES[suite]:
        for seq in load_dataset(kind, data / root, names=names):
            frames = seq.frames[: max_frames or None]
            tracker.init(cv2.imread(str(frames[0])), seq.ground_truth[0])
            updated = 0
            for path in frames[1:]:
                tracker.track(cv2.imread(str(path)))
                updated += bool(tracker.last.updated)
            counts[seq.name] = (updated, len(frames) - 1)
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", metavar="[LABEL=]MODEL[+key=value]")
    parser.add_argument("--suite", choices=sorted(validate.SUITE_CHOICES), default="pool")
    parser.add_argument("--data", type=Path, default=validate.DATA, help=f"shared data folder (default {validate.DATA})")
    parser.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
    parser.add_argument("--max-frames", type=int, default=0, help="only the first N frames of each sequence (0 = all)")
    args = parser.parse_args(argv)
    for spec in args.models:
        arm = validate.parse_arm(spec)
        counts = gate_rates(arm, args.data, args.suite, args.backend, args.max_frames)
        updated, total = (sum(c[i] for c in counts.values()) for i in (0, 1))
        print(f"{arm.label}: gate open on {updated} of {total} frames ({updated / max(total, 1):.3f}); "
              + ", ".join(f"{name} {u}/{n}" for name, (u, n) in counts.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
