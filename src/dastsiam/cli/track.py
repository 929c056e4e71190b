"""``dastsiam track``: track one object through a video, a frame folder or a camera.

Stable contract used by scripts::

    dastsiam track SOURCE --box x,y,w,h [--model NAME|PATH] [--out DIR]

writes ``DIR/boxes.txt``: one line per frame, ``x,y,w,h`` comma-separated, 0-based pixels, the first line
being the given box. Lines are flushed as frames are tracked, so a failure at frame k keeps frames < k.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from dastsiam.errors import DastsiamWarning, InputError, ModelError, OutputError

BOXES_FILE = "boxes.txt"
VIDEO_FILE = "tracked.mp4"


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


def parse_box(text: str) -> np.ndarray:
    """``x,y,w,h`` from the command line (or the first line of a file of that name)."""
    raw = text
    path = Path(text)
    if "," not in text and not _numbers(text):  # a file name, not "x y w h"
        if path.is_dir():
            raise InputError(f"--box {text}: is a folder, not a box file")
        if not path.is_file():
            raise InputError(f"--box {text}: no such box file (give x,y,w,h or a file whose first line holds them)")
        try:
            lines = [line for line in path.read_text().splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"--box {text}: unreadable box file ({getattr(exc, 'strerror', None) or exc})") from None
        if not lines:
            raise InputError(f"{path}: empty box file")
        raw = lines[0]
    parts = [p for p in raw.replace("\t", ",").replace(" ", ",").split(",") if p]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InputError(f"--box {text!r}: not four numbers x,y,w,h") from None
    if len(values) != 4:
        raise InputError(f"--box {text!r}: needs four numbers x,y,w,h, got {len(values)}")
    box = np.array(values)
    if not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise InputError(f"--box {text!r}: width and height must be finite and > 0")
    return box


def _numbers(text: str) -> bool:
    try:
        [float(p) for p in text.split()]
    except ValueError:
        return False
    return bool(text.split())


def format_box(box) -> str:
    """``x,y,w,h`` with up to 3 decimals and no trailing zeros (``10,20,30.5,40``)."""
    out = []
    for v in np.asarray(box, dtype=np.float64):
        s = f"{v:.3f}".rstrip("0").rstrip(".")
        out.append("0" if s in ("-0", "") else s)
    return ",".join(out)


def _load(args):
    """``(model, tracker_config)`` for the chosen model and back end."""
    from dastsiam.models import DEFAULT_MODEL, load_model
    from dastsiam.tracking.config import preset, tracker_config_for

    name = args.model or DEFAULT_MODEL
    path = Path(name)
    if path.is_dir():  # an exported ONNX folder
        from dastsiam.onnx_backend import OnnxModel

        model = OnnxModel(path, threads=args.threads)
        cfg = model.config
    elif args.backend == "onnx":  # shipped export of a built-in, or the export cache: no torch on this path
        from dastsiam.onnx_backend import cached_onnx_model

        model = cached_onnx_model(name, threads=args.threads)
        cfg = model.config
    else:
        from dastsiam.runtime import configure_torch_threads, inference_threads

        configure_torch_threads(args.threads or inference_threads())
        model, cfg = load_model(name, device=args.device)
        if hasattr(model, "fuse_for_inference"):
            model.fuse_for_inference()  # same function, faster; this model object is ours and only tracks
    tracker_cfg = preset(args.preset) if args.preset else tracker_config_for(cfg)
    return model, tracker_cfg


def resolve_backend(args) -> str:
    """``auto`` -> onnxruntime for trained weights on the CPU (about 4x faster than eager PyTorch for the
    nano models, see benchmarks/speed.py), PyTorch otherwise (GPUs, untrained built-ins, exported folders)."""
    if args.backend != "auto":
        return args.backend
    from dastsiam.models.registry import BUILTIN_MODELS, DEFAULT_MODEL

    name = args.model or DEFAULT_MODEL
    trained = (BUILTIN_MODELS[name].weights is not None) if name in BUILTIN_MODELS else Path(name).is_file()
    if trained and name not in BUILTIN_MODELS:
        import importlib.util

        if importlib.util.find_spec("onnx") is None:
            return "torch"  # exporting the user's weights needs the [export] extra; PyTorch runs them as they are
    return "onnx" if trained and str(args.device) == "cpu" else "torch"


def check_trained(model: str | None, allow_untrained: bool, option: str = "--allow-untrained") -> None:
    """Refuse a built-in model without trained weights (``siamfc``, ``dastsiam-r50``, ...) unless allowed, and
    then warn: its random weights give boxes that look like a result but mean nothing (issue 11.4)."""
    from dastsiam.models.registry import BUILTIN_MODELS

    if model not in BUILTIN_MODELS or BUILTIN_MODELS[model].weights is not None:
        return
    if not allow_untrained:
        raise ModelError(f"--model {model}: has no trained weights (random initialisation, its boxes would mean "
                         f"nothing); train it (dastsiam train) and pass the weights file, or add {option}")
    warnings.warn(f"--model {model} is UNTRAINED (random weights): the boxes are not a tracking result",
                  DastsiamWarning, stacklevel=2)


def build_tracker(args):
    """A :class:`Tracker` for ``args.model`` / ``args.backend`` / ``args.device`` / ``args.threads`` /
    ``args.preset`` (``dastsiam run`` builds one per worker process through this too)."""
    from dastsiam.tracking.tracker import Tracker

    args.backend = resolve_backend(args)
    model, tracker_cfg = _load(args)
    return Tracker(model, tracker_cfg, device=args.device if args.backend == "torch" else "cpu")


def _quiet_opencv() -> None:
    """Keep OpenCV's and FFmpeg's own log lines (camera probing, "moov atom not found") off stderr."""
    import os

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET; read when the FFmpeg backend opens
    try:
        import cv2.utils.logging as cv_logging

        cv_logging.setLogLevel(cv_logging.LOG_LEVEL_ERROR)
    except (ImportError, AttributeError):  # older OpenCV builds: keep their default logging
        pass


def check_runtime_options(args) -> None:
    """Validate ``args.device`` / ``args.threads`` and apply the thread count (shared by ``dastsiam track`` and
    :func:`dastsiam.load_tracker`). Raises :class:`InputError` naming the bad value."""
    threads = getattr(args, "threads", None)
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise InputError(f"--threads {threads}: must be a whole number >= 1")
    if str(args.device) != "cpu":  # the CPU always exists; checking it would import torch for nothing
        _check_device(str(args.device))
    if threads:
        import cv2

        cv2.setNumThreads(threads)  # torch's and onnxruntime's counts are set where the model is built (_load)


def _check_device(name: str) -> None:
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"--device {name!r}: not a torch device (cpu, cuda, cuda:1, mps, ...)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {name!r}: CUDA is not available on this machine")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"--device {name!r}: MPS is not available on this machine")


def _draw(frame: np.ndarray, box, index: int, score: float) -> np.ndarray:
    import cv2

    image = frame.copy()
    x, y, w, h = (float(v) for v in box)
    if all(np.isfinite([x, y, w, h])):  # corners clipped near the frame: cv2 draws with C ints (1e308 overflowed)
        limit = 4.0 * max(image.shape[:2])
        x0, y0, x1, y1 = (int(round(min(max(v, -limit), limit))) for v in (x, y, x + w, y + h))
        cv2.rectangle(image, (x0, y0), (x1, y1), (0, 255, 0), 2)
    cv2.putText(image, f"#{index} {score:.2f}", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 255), 2)
    return image


@contextlib.contextmanager
def _signals_deferred():
    """Hold SIGINT and SIGTERM until the block is done, then act on the first one as the handlers in place would.

    Python-level handlers, not the thread signal mask: the kernel hands a process signal to any thread that
    does not block it (onnxruntime's, OpenCV's, tqdm's), so masking the main thread alone defers nothing.
    Only the main thread can change handlers; elsewhere the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[tuple[int, object]] = []
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, lambda number, frame: pending.append((number, frame)))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        if pending:
            signum, frame = pending[0]
            handler = previous[signum]
            if callable(handler):
                handler(signum, frame)
            elif handler != signal.SIG_IGN:
                signal.raise_signal(signum)


class _Outputs:
    """``DIR/boxes.txt`` (and ``DIR/tracked.mp4``), checked and opened before any tracking work starts.

    Every failure (``--out`` is a file or cannot be created, ``boxes.txt`` is a folder, no permission, disk
    full) is an :class:`OutputError` naming the path, which the CLI prints as one line with exit status 2.
    """

    def __init__(self, out: Path, save_video: bool, fps: float, size: tuple[int, int], codec: str = "auto"):
        from dastsiam.tracking.video_writer import resolve_codec, video_suffix

        self.boxes_path = out / BOXES_FILE
        codec = resolve_codec(codec) if save_video else codec
        self.video_path = (out / VIDEO_FILE).with_suffix(video_suffix(codec)) if save_video else None
        self.lines = 0
        self.boxes = None
        self.writer = None
        if out.exists() and not out.is_dir():
            raise OutputError(f"--out {out}: exists and is not a folder")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"--out {out}: cannot create the folder ({exc.strerror or exc})") from None
        for path in (self.boxes_path, self.video_path):
            if path is not None and path.is_dir():
                raise OutputError(f"{path}: is a folder, cannot write the {path.suffix[1:]} file there")
        try:
            self.boxes = open(self.boxes_path, "w")
        except OSError as exc:
            raise OutputError(f"{self.boxes_path}: cannot write ({exc.strerror or exc})") from None
        if self.video_path is not None:
            from dastsiam.tracking.video_writer import VideoWriter

            try:
                self.writer = VideoWriter(self.video_path, fps, size, codec)
            except OutputError:
                self.close()
                raise

    def write(self, box, frame: np.ndarray, index: int, score: float) -> None:
        annotated = _draw(frame, box, index, score) if self.writer is not None else None
        # boxes.txt and the video must hold the same frames: a Ctrl-C / SIGTERM between the two writes would
        # leave one file a frame ahead, so both signals wait until the pair is written
        with _signals_deferred():
            try:
                self.boxes.write(format_box(box) + "\n")
                self.boxes.flush()
            except OSError as exc:
                raise OutputError(f"{self.boxes_path}: cannot write ({exc.strerror or exc}); "
                                  f"the first {self.lines} lines are kept") from None
            self.lines += 1
            if self.writer is not None:
                self.writer.write(annotated)

    def close(self) -> None:
        """Finish both files (also on errors, Ctrl-C and SIGTERM: an mp4 is only playable once finished; a
        signal arriving meanwhile waits until it is)."""
        try:
            if self.writer is not None:
                writer, self.writer = self.writer, None
                with _signals_deferred():
                    writer.close()
        finally:
            if self.boxes is not None:
                boxes, self.boxes = self.boxes, None
                try:
                    boxes.close()
                except OSError:  # the failed flush was reported already
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

        cv2.imshow(self.title, _draw(frame, box, index, score))
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
    check_trained(args.model, args.allow_untrained)
    check_runtime_options(args)
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
        outputs = _Outputs(args.out, args.save_video, source.fps, (width, height),  # before the slow model load
                           codec=getattr(args, "video_codec", "auto"))
        tracker = build_tracker(args)

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
