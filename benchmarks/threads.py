"""Per-frame tracking time by back end, thread count and OpenMP wait policy (the measurement behind docs/runtime.md).

Each configuration runs in its own process (OpenMP reads ``OMP_WAIT_POLICY`` once, when torch starts), on the
same frames preloaded into memory; configurations are interleaved round by round so a busy machine slows them
alike. Prints ms/frame: median and min..max over rounds, and the machine's load average.

    python benchmarks/threads.py                       # OTB Crossing, 60 frames, 3 rounds
    python benchmarks/threads.py --frames 100 --rounds 5 --model nano
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DASTSIAM_DATA", REPO.parent / "shared" / "data"))

# (label, back end, threads, OMP_WAIT_POLICY, onnxruntime spinning)
CONFIGS = [
    ("onnxruntime, 1 thread", "onnx", 1, "PASSIVE", False),
    ("onnxruntime, 2 threads", "onnx", 2, "PASSIVE", False),
    ("onnxruntime, 2 threads, spinning", "onnx", 2, "PASSIVE", True),
    ("torch, 1 thread, passive", "torch", 1, "PASSIVE", False),
    ("torch, 2 threads, passive", "torch", 2, "PASSIVE", False),
    ("torch, 2 threads, active (old default)", "torch", 2, "ACTIVE", False),
]

CHILD = r'''
import json, sys, time
source, frames_n, model_name, backend, threads, spinning = sys.argv[1:7]
threads, spinning = int(threads), spinning == "1"
import cv2
cv2.setNumThreads(threads)
from dastsiam.tracking import Tracker, tracker_config_for
from dastsiam.tracking.video import open_source
frames = [f for _, (_, f) in zip(range(int(frames_n)), open_source(source))]
box = [float(v) for v in sys.argv[7].split(",")]
if backend == "onnx":
    from dastsiam.onnx_backend import cached_onnx_model
    model = cached_onnx_model(model_name, threads=threads, spinning=spinning)
    cfg = model.config
else:
    import torch
    torch.set_num_threads(threads)
    from dastsiam.models import load_model
    model, cfg = load_model(model_name)
    model.fuse_for_inference() if hasattr(model, "fuse_for_inference") else None
tracker = Tracker(model, tracker_config_for(cfg))
def run(fs):
    start = time.perf_counter()
    tracker.init(fs[0], box)
    for f in fs[1:]:
        tracker.track(f)
    return (time.perf_counter() - start) / len(fs)
run(frames[:10])
print(json.dumps(run(frames)))
'''


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(SHARED / "OTB" / "Crossing" / "img"))
    parser.add_argument("--box", default="204,150,17,50")
    parser.add_argument("--model", default="nano")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    results: dict[str, list[float]] = {label: [] for label, *_ in CONFIGS}
    loads = []
    for _ in range(args.rounds):
        for label, backend, threads, policy, spinning in CONFIGS:
            env = dict(os.environ, OMP_WAIT_POLICY=policy, OMP_NUM_THREADS=str(threads), KMP_BLOCKTIME="0"
                       if policy == "PASSIVE" else "200")
            env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO / "src"), env.get("PYTHONPATH", "")] if p)
            done = subprocess.run([sys.executable, "-c", CHILD, args.source, str(args.frames), args.model, backend,
                                   str(threads), "1" if spinning else "0", args.box],
                                  env=env, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                raise SystemExit(f"{label}: {done.stderr[-500:]}")
            results[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
            loads.append(os.getloadavg()[0])
    print(f"{args.frames} frames of {args.source}, model {args.model}, {args.rounds} rounds; {os.cpu_count()} cores, "
          f"load average {min(loads):.1f}..{max(loads):.1f} during the runs")
    width = max(len(label) for label in results)
    print(f"{'configuration':<{width}}  {'ms/frame':>8}  {'min..max':>13}")
    for label, values in results.items():
        print(f"{label:<{width}}  {statistics.median(values) * 1e3:8.1f}  "
              f"{min(values) * 1e3:5.1f}..{max(values) * 1e3:<6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
