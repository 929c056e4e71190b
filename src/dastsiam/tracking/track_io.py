"""Tracking I/O: box text in and out, and the box/video writer of one tracking run.

Used by ``dastsiam track`` and the web app alike (the same files, the same errors):

* :func:`parse_box` / :func:`format_box`: ``x,y,w,h`` text (0-based pixels) <-> a box;
* :class:`TrackOutputs`: ``DIR/boxes.txt`` (one ``x,y,w,h`` line per frame, flushed as frames are tracked, so a
  failure at frame k keeps frames < k) and optionally the annotated ``DIR/tracked.mp4`` (H.264 / VP9 through
  PyAV, or mp4v, :mod:`dastsiam.tracking.video_writer`), both written frame
  by frame with SIGINT/SIGTERM held between the two writes (:func:`signals_deferred`).

Nothing here imports OpenCV until a video is written or a box drawn.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path

import numpy as np

from dastsiam.errors import InputError, OutputError

__all__ = ["BOXES_FILE", "VIDEO_FILE", "parse_box", "format_box", "draw_box", "signals_deferred", "TrackOutputs"]

BOXES_FILE = "boxes.txt"
VIDEO_FILE = "tracked.mp4"


def parse_box(text: str) -> np.ndarray:
    """``x,y,w,h`` from the command line (or the first line of a file of that name).

    Errors name the value as ``--box`` (the flag that gives it on the command line); raises
    :class:`~dastsiam.errors.InputError` for anything but four finite numbers with ``w, h > 0``.
    """
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


def draw_box(frame: np.ndarray, box, index: int, score: float) -> np.ndarray:
    """A copy of ``frame`` with ``box`` drawn in green and ``#N score`` written in its corner.

    ``index`` is 0-based (as the tracking loop counts); the overlay says frame N = index + 1, as the app's page,
    its scrubber and the line numbers of ``boxes.txt`` do.
    """
    import cv2

    image = frame.copy()
    x, y, w, h = (float(v) for v in box)
    if all(np.isfinite([x, y, w, h])):  # corners clipped near the frame: cv2 draws with C ints (1e308 overflowed)
        limit = 4.0 * max(image.shape[:2])
        x0, y0, x1, y1 = (int(round(min(max(v, -limit), limit))) for v in (x, y, x + w, y + h))
        cv2.rectangle(image, (x0, y0), (x1, y1), (0, 255, 0), 2)
    cv2.putText(image, f"#{index + 1} {score:.2f}", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 255), 2)
    return image


@contextlib.contextmanager
def signals_deferred():
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


class TrackOutputs:
    """``DIR/boxes.txt`` (and ``DIR/tracked.mp4``), checked and opened before any tracking work starts.

    Every failure (``out`` is a file or cannot be created, ``boxes.txt`` is a folder, no permission, disk
    full) is an :class:`OutputError` naming the path (the CLI prints it as one line with exit status 2).
    Call :meth:`close` in a ``finally``: an mp4 is only playable once finished. ``codec`` is
    ``auto|h264|vp9|mp4v`` (``dastsiam track --video-codec``).
    """

    def __init__(self, out: Path, save_video: bool, fps: float, size: tuple[int, int], codec: str = "auto"):
        from dastsiam.tracking.video_writer import resolve_codec, video_suffix

        out = Path(out)
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
        """Append frame ``index``'s box to ``boxes.txt`` and its annotated frame to the video."""
        annotated = draw_box(frame, box, index, score) if self.writer is not None else None
        # boxes.txt and the video must hold the same frames: a Ctrl-C / SIGTERM between the two writes would
        # leave one file a frame ahead, so both signals wait until the pair is written
        with signals_deferred():
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
                with signals_deferred():
                    writer.close()
        finally:
            if self.boxes is not None:
                boxes, self.boxes = self.boxes, None
                try:
                    boxes.close()
                except OSError:  # the failed flush was reported already
                    pass
