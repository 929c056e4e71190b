"""Tracking speed: our tracker (torch and onnxruntime back ends) next to OpenCV's cv2.TrackerNano.

All trackers run on the same frames, preloaded into memory, in one process, interleaved round by round so a
busy machine slows them alike; each timing covers ``init`` on the first frame plus ``track`` on the rest.
Prints frames/s (median over rounds) and the ratio to OpenCV NanoTrack.

    python benchmarks/speed.py                       # assets/bag.mp4, model nano, 2 threads
    python benchmarks/speed.py --source ../shared/data/OTB/Couple/img --rounds 5 --threads 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# torch's OpenMP workers busy-wait between calls by default; with OpenCV's and onnxruntime's pools in the same
# process on 2 cores that starves the others (torch measured 5 fps instead of 30). Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WEIGHTS = REPO.parent / "shared" / "data" / "weights" / "nanotrack" / "nanotrackv2"


def load_frames(source: str, limit: int | None) -> list[np.ndarray]:
    from dastsiam.tracking.video import open_source

    frames = []
    for _, frame in open_source(source):
        frames.append(frame)
        if limit and len(frames) >= limit:
            break
    return frames


def time_run(init, update, frames, box) -> float:
    start = time.perf_counter()
    init(frames[0], box)
    for frame in frames[1:]:
        update(frame)
    return len(frames) / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(REPO / "assets" / "bag.mp4"), help="video or frame folder")
    parser.add_argument("--box", default=str(REPO / "assets" / "bag_init_box.txt"), help="x,y,w,h or a box file")
    parser.add_argument("--model", default="nano", help="built-in model name or weights path")
    parser.add_argument("--frames", type=int, default=None, help="use only the first N frames")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--opencv-weights", type=Path, default=DEFAULT_WEIGHTS,
                        help="folder with nanotrack_backbone_sim.onnx / nanotrack_head_sim.onnx")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch back end")
    args = parser.parse_args(argv)

    from dastsiam.cli.track import parse_box
    from dastsiam.export import OnnxModel, export_onnx
    from dastsiam.models import load_model
    from dastsiam.tracking import Tracker, tracker_config_for

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    frames = load_frames(args.source, args.frames)
    box = parse_box(args.box)
    print(f"{len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]} from {args.source}; "
          f"{args.threads} threads (torch {torch.__version__}, OpenCV {cv2.__version__})")

    runners: dict[str, tuple] = {}
    model, cfg = load_model(args.model)
    tracker_cfg = tracker_config_for(cfg)
    onnx_dir = Path(tempfile.mkdtemp(prefix="dastsiam_speed_"))
    export_onnx(model, onnx_dir, config=cfg)
    onnx_tracker = Tracker(OnnxModel(onnx_dir, threads=args.threads), tracker_cfg)
    runners[f"dastsiam {args.model} (onnxruntime)"] = (onnx_tracker.init, onnx_tracker.track)
    if not args.no_torch:
        if hasattr(model, "fuse_for_inference"):
            model.fuse_for_inference()
        torch_tracker = Tracker(model, tracker_cfg)
        runners[f"dastsiam {args.model} (torch)"] = (torch_tracker.init, torch_tracker.track)

    opencv_name = "OpenCV TrackerNano (v2)"
    if hasattr(cv2, "TrackerNano") and (args.opencv_weights / "nanotrack_backbone_sim.onnx").is_file():
        params = cv2.TrackerNano_Params()
        params.backbone = str(args.opencv_weights / "nanotrack_backbone_sim.onnx")
        params.neckhead = str(args.opencv_weights / "nanotrack_head_sim.onnx")
        peer = cv2.TrackerNano_create(params)
        int_box = tuple(int(v) for v in box)
        runners[opencv_name] = (lambda f, b: peer.init(f, int_box), peer.update)
    else:
        print(f"(OpenCV TrackerNano unavailable: needs OpenCV >= 4.7 and {args.opencv_weights})")

    for init, update in runners.values():  # warm-up: first-call allocations, graph optimisation
        time_run(init, update, frames[:10], box)
    results: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, (init, update) in runners.items():
            results[name].append(time_run(init, update, frames, box))

    reference = statistics.median(results[opencv_name]) if opencv_name in results else None
    width = max(len(n) for n in results)
    print(f"{'tracker':<{width}}  {'fps (median)':>12}  {'min..max':>15}  {'x OpenCV':>8}")
    for name, values in results.items():
        fps = statistics.median(values)
        ratio = f"{fps / reference:8.2f}" if reference else "       -"
        print(f"{name:<{width}}  {fps:12.1f}  {min(values):6.1f}..{max(values):<7.1f}  {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
