"""Does a model run in real time (>= 30 frames/s per frame) on one core of this machine?

    python benchmarks/realtime.py nano nano-v3 dastsiam-nano [--sequence OTB/Crossing] [--rounds 3]

Each model is built as ``dastsiam run`` builds it (``dastsiam.cli.run.build_tracker``: onnxruntime for trained
built-ins, one thread) and tracks the sequence's frames, preloaded into memory, ``--rounds`` times. Per frame
it records the **CPU time** of this process (``time.process_time``: with one inference thread, the time the
frame costs one core) beside the wall time. On a shared machine the wall time measures the other jobs as much
as the model; the CPU time does not (it still carries some of their cache and memory contention, so it errs
on the slow side). Prints the median per-frame CPU and wall milliseconds over all frames and rounds, the frame
rate one core gives (1000 / CPU ms) and whether that is at least 30.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DASTSIAM_DATA", REPO.parent / "shared" / "data"))


def measure(model: str, preset: str | None, frames: list, box, rounds: int) -> dict:
    from dastsiam.api import TrackerSpec, build_tracker

    tracker = build_tracker(TrackerSpec(model=model, backend="auto", device="cpu", threads=1, preset=preset))
    cpu, wall = [], []
    for _ in range(rounds):
        for i, frame in enumerate(frames):
            c0, w0 = time.process_time(), time.perf_counter()
            if i == 0:
                tracker.init(frame, box.copy())
            else:
                tracker.track(frame)
            if i:  # init builds the template once; the per-frame cost is track's
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
    cpu_ms = 1000 * statistics.median(cpu)
    return {"cpu_ms": cpu_ms, "wall_ms": 1000 * statistics.median(wall), "fps_one_core": 1000 / cpu_ms,
            "real_time": 1000 / cpu_ms >= 30, "frames": len(cpu)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", metavar="[LABEL=]MODEL[+preset=NAME]")
    parser.add_argument("--sequence", default="OTB/Crossing", help="OTB-layout sequence under the data folder")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from dastsiam.datasets import load_dataset
    from dastsiam.evaluation.runner import read_frame

    root = DATA / args.sequence
    seq = load_dataset("otb", root.parent, names=[root.name])[0]
    frames = [read_frame(p) for p in seq.frames]
    out = {}
    for spec in args.models:
        label, _, rest = spec.partition("=") if "=" in spec.split("+")[0] else (spec, "", spec)
        model, _, preset = rest.partition("+preset=")
        out[label] = measure(model, preset or None, frames, seq.init_box, args.rounds)
        r = out[label]
        print(f"{label:<16} CPU {r['cpu_ms']:6.2f} ms/frame ({r['fps_one_core']:6.0f} frames/s on one core; "
              f"real time: {'yes' if r['real_time'] else 'NO'}), wall {r['wall_ms']:6.2f} ms "
              f"({r['frames']} frames)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
