"""``dastsiam track``: track one object through a video, a frame folder or a camera.

Stable contract used by scripts::

    dastsiam track SOURCE --box x,y,w,h [--model NAME|PATH] [--out DIR]

writes ``DIR/boxes.txt``: one line per frame, ``x,y,w,h`` comma-separated, 0-based pixels, the first line
being the given box. Lines are flushed as frames are tracked, so a failure at frame k keeps frames < k.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from dastsiam.errors import InputError
from dastsiam.tracking.track_io import VIDEO_FILE


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "track",
        help="track one object in a video, a frame folder or a camera",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", metavar="SOURCE", help="video file, folder of frames, or camera index (0, 1, ...)")
    first_box = p.add_mutually_exclusive_group(required=True)
    first_box.add_argument("--box", help="initial box x,y,w,h (0-based pixels), or a file whose first line holds it")
    first_box.add_argument("--select", action="store_true",
                           help="drag the initial box on the first frame in a window (needs a display and OpenCV "
                                "with windows, the [gui] extra; without them: `dastsiam app` in a browser)")
    p.add_argument("--box-base", type=int, choices=(0, 1), default=0,
                   help="pixel base of --box: 0 = dastsiam's 0-based pixels, as boxes.txt holds them (default); "
                        "1 = a 1-based benchmark file (OTB/UAV123/LaSOT/GOT-10k ground truth): x and y minus 1")
    p.add_argument("--model", default=None,
                   help="built-in model name (see `dastsiam models`), a .safetensors/.pt weights file, "
                        "or an exported ONNX folder (default: the default built-in model)")
    p.add_argument("--out", type=Path, default=Path("track_out"), help="output folder (default: ./track_out)")
    p.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto",
                   help="inference back end: PyTorch, or onnxruntime (the model is exported to ONNX once and "
                        "cached); auto (default) = onnx for trained weights on the CPU, else torch")
    p.add_argument("--device", default="cpu", help="torch device for the torch back end (default: cpu)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for inference (default: library default)")
    p.add_argument("--preset", default=None,
                   help="tracker preset (nano, siamrpn, siamfc; default: the one matching the model)")
    p.add_argument("--save-video", action="store_true",
                   help=f"also write an annotated video DIR/{VIDEO_FILE} (H.264, plays in browsers; needs the "
                        f"[video] extra, PyAV)")
    p.add_argument("--video-codec", choices=("auto", "h264", "vp9", "mp4v"), default="auto",
                   help="codec of --save-video: h264 (MP4), vp9 (WebM, DIR/tracked.webm), or mp4v (MPEG-4 Part 2: "
                        "no PyAV needed, but browsers do not play it); auto (default) = h264 when PyAV is installed, "
                        "else mp4v with a warning")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames (cameras never end)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--show", action="store_true",
                   help="live preview window of the tracked boxes (q or Esc stops tracking early, keeping the "
                        "results); needs a display and OpenCV with windows")
    p.add_argument("--allow-untrained", action="store_true",
                   help="run a built-in model that has no trained weights (siamfc, dastsiam-r50, ...) anyway, "
                        "with a warning; without it such a model is refused")
    p.set_defaults(func=run)
    return p


def _quiet_opencv() -> None:
    """Keep OpenCV's and FFmpeg's own log lines (camera probing, "moov atom not found") off stderr."""
    import os

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET; read when the FFmpeg backend opens
    try:
        import cv2.utils.logging as cv_logging

        cv_logging.setLogLevel(cv_logging.LOG_LEVEL_ERROR)
    except (ImportError, AttributeError):  # older OpenCV builds: keep their default logging
        pass


def _progress_bar(total, disabled: bool):
    from tqdm import tqdm

    # no bar where stderr is not a terminal (logs, pipes): it would break the one-line error contract there
    return tqdm(total=total, unit="frame", disable=True if disabled else None, file=sys.stderr, dynamic_ncols=True)


def gui_problem() -> str | None:
    """Why OpenCV cannot open a window here, or ``None`` when it can."""
    import os

    import cv2

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display here (DISPLAY / WAYLAND_DISPLAY not set)"
    import re

    gui = re.search(r"^\s*GUI:\s*(\S+)", cv2.getBuildInformation(), flags=re.M)
    if gui is not None and gui.group(1).upper() == "NONE":
        return ("this OpenCV has no window support (opencv-python-headless); install opencv-python "
                "(pip install 'dastsiam[gui]') in its place")
    return None


def select_box(frame: np.ndarray, name: str) -> np.ndarray:
    """The box the user drags on ``frame`` in an OpenCV window (Enter/Space accepts, c/Esc cancels)."""
    import cv2

    title = f"dastsiam: drag a box around the target, then Enter ({name})"
    try:
        x, y, w, h = cv2.selectROI(title, frame, showCrosshair=True, fromCenter=False)
    except cv2.error as exc:
        raise InputError(f"--select: cannot open a window ({str(exc).strip().splitlines()[-1]})") from None
    finally:
        try:
            cv2.destroyWindow(title)
        except cv2.error:
            pass
    if w <= 0 or h <= 0:
        raise InputError("--select: no box was drawn (drag a box around the target, then press Enter or Space)")
    print(f"selected box {x},{y},{w},{h} (x,y,w,h)", file=sys.stderr)
    return np.array([x, y, w, h], dtype=np.float64)


class _Preview:
    """``--show``: the annotated frames in a window as they are tracked; q or Esc stops tracking early."""

    def __init__(self, name: str):
        self.title = f"dastsiam: {name} (q or Esc stops)"

    def show(self, frame: np.ndarray, box, index: int, score: float) -> bool:
        import cv2

        from dastsiam.tracking.track_io import draw_box

        cv2.imshow(self.title, draw_box(frame, box, index, score))
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), 27):
            print(f"stopped from the preview window at frame {index}", file=sys.stderr)
            return False
        return True

    def close(self) -> None:
        import cv2

        try:
            cv2.destroyWindow(self.title)
        except cv2.error:
            pass


def run(args) -> int:
    from dastsiam.api import TrackerSpec, build_tracker, check_runtime_options, check_trained
    from dastsiam.tracking.track_io import TrackOutputs, format_box, parse_box
    from dastsiam.tracking.video import open_source

    # OpenCV's own warnings (camera probing, codec fallbacks) would break the one-line error contract
    _quiet_opencv()
    box = None
    if not args.select:
        box = parse_box(args.box)
        box[:2] -= args.box_base  # 1-based benchmark files -> dastsiam's 0-based pixels (dastsiam run does the same)
    for flag, wanted in (("--select", args.select), ("--show", args.show)):
        problem = gui_problem() if wanted else None
        if problem:
            raise InputError(f"{flag}: cannot open a window: {problem}; give --box x,y,w,h, or pick the box in "
                             f"a browser with `dastsiam app`")
    spec = TrackerSpec(model=args.model, backend=args.backend, device=args.device, threads=args.threads,
                       preset=args.preset)
    check_trained(spec.model, args.allow_untrained)
    check_runtime_options(spec)
    if args.max_frames is not None and args.max_frames < 1:
        raise InputError(f"--max-frames {args.max_frames}: must be >= 1")
    source = open_source(args.source)
    outputs = progress = preview = None
    count = 0
    try:
        frames = iter(source)
        try:
            _, first = next(frames)
        except StopIteration:
            raise InputError(f"{source.name}: no frames") from None
        height, width = first.shape[:2]
        if args.select:
            box = select_box(first, source.name)
        if box[0] >= width or box[1] >= height or box[0] + box[2] <= 0 or box[1] + box[3] <= 0:
            raise InputError(f"--box {format_box(box)} lies outside the {width}x{height} first frame of {source.name}")
        outputs = TrackOutputs(args.out, args.save_video, source.fps, (width, height),  # before the slow model load
                               codec=getattr(args, "video_codec", "auto"))
        tracker = build_tracker(spec)

        total = source.count if args.max_frames is None else min(source.count or args.max_frames, args.max_frames)
        start = time.perf_counter()
        tracker.init(first, box)
        outputs.write(box, first, 0, 1.0)
        count = 1
        # tqdm is imported once the first box is out (its import is a good part of a cold start-up)
        progress = _progress_bar(total, disabled=args.no_progress)
        progress.update(1)
        preview = _Preview(source.name) if args.show else None
        stopped = preview is not None and not preview.show(first, box, 0, 1.0)
        for index, frame in frames:
            if stopped or (args.max_frames is not None and count >= args.max_frames):
                break
            result, score = tracker.track(frame)
            outputs.write(result, frame, index, score)
            count += 1
            progress.update(1)
            stopped = preview is not None and not preview.show(frame, result, index, score)
        elapsed = time.perf_counter() - start
    finally:
        if preview is not None:
            preview.close()
        if progress is not None:
            progress.close()
        if outputs is not None:
            outputs.close()
        source.close()
    fps = count / elapsed if elapsed > 0 else math.inf
    where = f"boxes in {outputs.boxes_path}"
    if outputs.video_path is not None:
        where += f", annotated video in {outputs.video_path}"
    print(f"tracked {count} frames of {source.name} in {elapsed:.2f} s: {fps:.1f} fps (incl. decoding); {where}")
    return 0
