"""Tracking speed next to OpenCV's cv2.TrackerNano, as ratios (our time / OpenCV's time; < 1 = faster), in one run.

1. **Per frame** (in this process): our tracker on the onnxruntime back end (the shipped export of a trained
   built-in, or the export cache) and on torch, and ``cv2.TrackerNano``, on the same frames preloaded into
   memory, interleaved round by round so a busy machine slows them alike. Each timing covers ``init`` on the
   first frame plus ``track`` on the rest.
2. **Command** (fresh processes, as a user runs them): ``dastsiam track SOURCE --box ... --max-frames N`` next to
   a 20-line script using ``cv2.TrackerNano`` on the same frames; both write one box per line, flushed. Start-up
   is the time from launching the process to its first box line in the file (so it includes the interpreter,
   imports and model loading); wall is launch to exit.

Every figure is the median over rounds with min..max beside it (the machine may be shared: read the spread).

    python benchmarks/speed.py                                   # OTB Crossing (first 100 frames) if present
    python benchmarks/speed.py --source assets/bag.mp4 --box assets/bag_init_box.txt --frames 0
    python benchmarks/speed.py --rounds 5 --cli-rounds 5 --threads 1 --no-torch
    python benchmarks/speed.py --model nano fear-xs --threads 1 --cpu-time --no-torch --cli-rounds 0 --resolutions

Nothing is left on disk: the command outputs live in a temporary folder removed at exit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DASTSIAM_DATA", REPO.parent / "shared" / "data"))
DEFAULT_WEIGHTS = SHARED / "weights" / "nanotrack" / "nanotrackv2"
DEFAULT_SOURCE = SHARED / "OTB" / "Crossing" / "img"

sys.path.insert(0, str(REPO / "src"))
from dastsiam.runtime import prepare_environment  # noqa: E402

prepare_environment()  # passive OpenMP waiting before torch starts (docs/runtime.md)

import cv2  # noqa: E402
import numpy as np  # noqa: E402

# The reference a user would write: cv2.TrackerNano over a folder or video, one box per line, flushed.
OPENCV_SCRIPT = r'''
import sys, glob, cv2
source, box, out, limit, weights, threads = sys.argv[1:7]
cv2.setNumThreads(int(threads))
params = cv2.TrackerNano_Params()
params.backbone = weights + "/nanotrack_backbone_sim.onnx"
params.neckhead = weights + "/nanotrack_head_sim.onnx"
tracker = cv2.TrackerNano_create(params)
files = sorted(glob.glob(source + "/*.jpg") + glob.glob(source + "/*.png"))
capture = None if files else cv2.VideoCapture(source)
def frames():
    for f in files:
        yield cv2.imread(f)
    while capture is not None:
        ok, frame = capture.read()
        if not ok: return
        yield frame
box = tuple(int(float(v)) for v in box.split(","))
with open(out, "w") as f:
    for i, frame in enumerate(frames()):
        if int(limit) and i >= int(limit): break
        if i == 0: tracker.init(frame, box)
        else: _, box = tracker.update(frame)
        f.write(",".join(str(v) for v in box) + "\n"); f.flush()
'''


def load_frames(source: str, limit: int | None) -> list[np.ndarray]:
    from dastsiam.tracking.video import open_source

    frames = []
    for _, frame in open_source(source):
        frames.append(frame)
        if limit and len(frames) >= limit:
            break
    return frames


CLOCK = time.perf_counter  # --cpu-time: time.thread_time


def time_run(init, update, frames, box) -> float:
    """Seconds per frame for init on the first frame + update on the rest (wall, or this thread's CPU time)."""
    start = CLOCK()
    init(frames[0], box)
    for frame in frames[1:]:
        update(frame)
    return (CLOCK() - start) / len(frames)


def time_command(command: list[str], boxes: Path, env: dict) -> tuple[float, float]:
    """(time to the first box line, wall time) of one process run, in seconds."""
    boxes.unlink(missing_ok=True)
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = None
    while process.poll() is None:
        if first is None:
            try:
                if boxes.stat().st_size > 0:
                    first = time.perf_counter() - start
            except FileNotFoundError:
                pass
        time.sleep(0.002 if first is None else 0.02)  # light polling: the machine may have 2 cores
    wall = time.perf_counter() - start
    error = process.stderr.read().decode(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"{command[:4]}... failed ({process.returncode}): {error[-400:]}")
    if first is None:  # finished between two polls
        first = wall
    return first, wall


def summary(values: list[float], scale: float = 1.0) -> str:
    return (f"{statistics.median(values) * scale:8.1f}  "
            f"{min(values) * scale:7.1f}..{max(values) * scale:<7.1f}")


def print_table(title: str, unit: str, results: dict[str, list[float]], reference: str | None, scale: float) -> None:
    width = max(len(n) for n in results)
    print(f"\n{title}")
    print(f"{'':<{width}}  {unit:>8}  {'min..max':>15}  {'x OpenCV':>8}  {'min..max':>11}")
    ref = results.get(reference) if reference else None
    for name, values in results.items():
        if ref and name != reference:
            ratios = [v / r for v, r in zip(values, ref)]  # per round: both ran back to back
            ratio = f"{statistics.median(ratios):8.2f}  {min(ratios):5.2f}..{max(ratios):<5.2f}"
        else:
            ratio = f"{'1.00' if ref else '-':>8}"
        print(f"{name:<{width}}  {summary(values, scale)}  {ratio}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(DEFAULT_SOURCE if DEFAULT_SOURCE.is_dir() else REPO / "assets" / "bag.mp4"),
                        help="video or frame folder (default: OTB Crossing, else assets/bag.mp4)")
    parser.add_argument("--box", default=None, help="x,y,w,h or a box file (default: the source's first box)")
    parser.add_argument("--model", nargs="+", default=["nano"],
                        help="built-in model names or weights paths, each timed per frame next to OpenCV's NanoTrack "
                             "(the frame-size and command parts use the first)")
    parser.add_argument("--frames", type=int, default=100, help="use only the first N frames (0 = all)")
    parser.add_argument("--rounds", type=int, default=5, help="per-frame rounds")
    parser.add_argument("--cli-rounds", type=int, default=5, help="command rounds (0 = skip the command part)")
    parser.add_argument("--threads", type=int, default=None,
                        help="inference threads for every tracker (default: each one's own default)")
    parser.add_argument("--opencv-weights", type=Path, default=DEFAULT_WEIGHTS,
                        help="folder with nanotrack_backbone_sim.onnx / nanotrack_head_sim.onnx")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch back end")
    parser.add_argument("--resolutions", nargs="*", default=["320x240", "3840x2160"], metavar="WxH",
                        help="also time the onnxruntime tracker per frame on the frames resized to these sizes "
                             "(box scaled alike; the first is the reference; none = skip)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="per-frame parts: this thread's CPU time instead of wall time (needs --threads 1, so "
                             "that every tracker works in the calling thread); on a loaded shared machine it is "
                             "what one free core would take, where wall time mostly measures the queue")
    args = parser.parse_args(argv)
    if args.cpu_time:
        if args.threads != 1:
            parser.error("--cpu-time needs --threads 1")
        global CLOCK
        CLOCK = time.thread_time

    from dastsiam.api import TrackerSpec, build_tracker
    from dastsiam.tracking import Tracker
    from dastsiam.tracking.track_io import parse_box

    if args.box is None:
        gt = Path(args.source).parent / "groundtruth_rect.txt"
        if gt.is_file():  # OTB: 1-based first box
            box = parse_box(gt.read_text().splitlines()[0]) - np.array([1.0, 1.0, 0.0, 0.0])
        else:
            box = parse_box(str(REPO / "assets" / "bag_init_box.txt"))
    else:
        box = parse_box(args.box)
    if args.threads:
        cv2.setNumThreads(args.threads)
    frames = load_frames(args.source, args.frames or None)
    have_opencv = hasattr(cv2, "TrackerNano") and (args.opencv_weights / "nanotrack_backbone_sim.onnx").is_file()
    print(f"{len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]} from {args.source}, box "
          f"{','.join(f'{v:g}' for v in box)}; threads: {args.threads or 'defaults'}; OpenCV {cv2.__version__}; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")

    # ---------------------------------------------------------------- 1. per frame, in this process
    runners: dict[str, tuple] = {}
    first_onnx = None
    for name in args.model:
        onnx_tracker = build_tracker(TrackerSpec(model=name, backend="onnx", threads=args.threads))
        first_onnx = first_onnx or onnx_tracker
        runners[f"dastsiam {name} (onnxruntime)"] = (onnx_tracker.init, onnx_tracker.track)
        if not args.no_torch:
            torch_tracker = build_tracker(TrackerSpec(model=name, backend="torch", threads=args.threads))
            runners[f"dastsiam {name} (torch)"] = (torch_tracker.init, torch_tracker.track)
    opencv_name = "OpenCV TrackerNano (v2)"
    int_box = tuple(int(v) for v in box)
    if have_opencv:
        params = cv2.TrackerNano_Params()
        params.backbone = str(args.opencv_weights / "nanotrack_backbone_sim.onnx")
        params.neckhead = str(args.opencv_weights / "nanotrack_head_sim.onnx")
        peer = cv2.TrackerNano_create(params)
        runners[opencv_name] = (lambda f, b: peer.init(f, int_box), peer.update)
    else:
        print(f"(OpenCV TrackerNano unavailable: needs OpenCV >= 4.7 and {args.opencv_weights})")

    for init, update in runners.values():  # warm-up: first-call allocations, graph optimisation
        time_run(init, update, frames[:10], box)
    per_frame: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, (init, update) in runners.items():
            per_frame[name].append(time_run(init, update, frames, box))
    print_table(f"per frame (in process, frames in memory; {'CPU time of this thread' if args.cpu_time else 'wall'})", "ms", per_frame, opencv_name if have_opencv else None, 1e3)

    if args.resolutions:  # frame size should not matter: crops are sampled straight at the network's size
        sized: dict[str, tuple] = {}
        height, width = frames[0].shape[:2]
        for text in args.resolutions:
            w, h = (int(v) for v in text.lower().split("x"))
            scaled = [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA if w < width else cv2.INTER_LINEAR)
                      for f in frames]
            scaled_box = box * np.array([w / width, h / height, w / width, h / height])
            tracker = Tracker(first_onnx.model, first_onnx.config)  # the frame-size part: the first model's session
            sized[f"dastsiam {args.model[0]} (onnxruntime) {w}x{h}"] = (tracker.init, tracker.track, scaled, scaled_box)
        for init, update, fs, b in sized.values():
            time_run(init, update, fs[:10], b)
        by_size: dict[str, list[float]] = {name: [] for name in sized}
        for _ in range(args.rounds):
            for name, (init, update, fs, b) in sized.items():
                by_size[name].append(time_run(init, update, fs, b))
        first = next(iter(by_size))
        width_ = max(len(n) for n in by_size)
        print(f"\nper frame by frame size (x the first size)")
        for name, values in by_size.items():
            ratios = [v / r for v, r in zip(values, by_size[first])]
            print(f"{name:<{width_}}  {summary(values, 1e3)}  {statistics.median(ratios):8.2f}  "
                  f"{min(ratios):5.2f}..{max(ratios):<5.2f}")

    # ---------------------------------------------------------------- 2. whole commands, fresh processes
    if args.cli_rounds <= 0:
        return 0
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    box_text = ",".join(f"{v:g}" for v in box)
    with tempfile.TemporaryDirectory(prefix="dastsiam_speed_") as tmp:
        tmp = Path(tmp)
        commands = {f"dastsiam track ({args.model[0]}, auto back end)": (
            [sys.executable, "-m", "dastsiam.cli.main", "track", args.source, f"--box={box_text}", "--model",
             args.model[0], "--out", str(tmp / "ours"), "--no-progress"]
            + (["--max-frames", str(args.frames)] if args.frames else [])
            + (["--threads", str(args.threads)] if args.threads else []),
            tmp / "ours" / "boxes.txt")}
        if have_opencv:
            script = tmp / "opencv_nano.py"
            script.write_text(OPENCV_SCRIPT)
            commands[opencv_name] = ([sys.executable, str(script), args.source, box_text, str(tmp / "cv.txt"),
                                      str(args.frames), str(args.opencv_weights), str(args.threads or cv2.getNumThreads())],
                                     tmp / "cv.txt")
        for command, boxes in commands.values():  # warm-up: the OS file cache, Python's bytecode cache
            time_command(command, boxes, env)
        first: dict[str, list[float]] = {name: [] for name in commands}
        wall: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.cli_rounds):
            for name, (command, boxes) in commands.items():
                t_first, t_wall = time_command(command, boxes, env)
                first[name].append(t_first)
                wall[name].append(t_wall)
    reference = opencv_name if have_opencv else None
    print_table("start-up: process launch to first box", "s", first, reference, 1.0)
    print_table(f"whole command: launch to exit, {len(frames)} frames", "s", wall, reference, 1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
