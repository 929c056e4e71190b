"""Frame sources for the tracker: a video file, a folder of images, or a camera index.

Every frame comes out as ``uint8 (H, W, 3)`` BGR (OpenCV order). Grayscale frames (``(H, W)`` or
``(H, W, 1)``) and 4-channel BGRA frames are converted to BGR; any other shape or dtype is an
:class:`~dastsiam.errors.InputError` naming the frame.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
import warnings
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from dastsiam.errors import DastsiamWarning, InputError

__all__ = ["IMAGE_SUFFIXES", "to_bgr", "FrameSource", "open_source", "list_frames", "read_frame"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def to_bgr(frame, where: str = "frame") -> np.ndarray:
    """``frame`` as ``uint8 (H, W, 3)`` BGR; grayscale and BGRA are converted, anything else is an error."""
    if not isinstance(frame, np.ndarray):
        raise InputError(f"{where}: expected an image array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise InputError(f"{where}: expected 8-bit pixels (uint8), got {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    raise InputError(f"{where}: unsupported image shape {frame.shape} (need H x W gray, H x W x 3 BGR or H x W x 4 BGRA)")


def list_frames(folder: Path) -> list[Path]:
    """Image files of ``folder`` in name order (an OTB-style ``img/`` sub-folder is used when present)."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        for sub in ("img", "color"):
            if (folder / sub).is_dir():
                return list_frames(folder / sub)
    return files


def _truncated_jpeg(file: Path) -> bool:
    """A JPEG whose data does not end with the EOI marker ``FF D9`` (trailing zero padding allowed)."""
    try:
        with open(file, "rb") as f:
            if f.read(2) != b"\xff\xd8":
                return False
            f.seek(0, os.SEEK_END)
            f.seek(max(2, f.tell() - 64))
            tail = f.read()
    except OSError:
        return False  # imread reports it
    return not tail.rstrip(b"\x00").endswith(b"\xff\xd9")


_SILENCE_LOCK = threading.Lock()
_silenced = {"depth": 0, "saved": None}


@contextlib.contextmanager
def _stderr_silenced():
    """libjpeg prints "Premature end of JPEG file" on file descriptor 2 itself; our warning replaces it.

    Descriptor 2 belongs to the whole process, so threads decoding at once (the web app's tracks) share one
    redirection: the first in saves the real descriptor, the last out restores it. Saving and restoring per
    thread lost the real one for good when two overlapped (issue 20 B5)."""
    with _SILENCE_LOCK:
        if _silenced["depth"] == 0:
            try:
                sys.stderr.flush()
                saved = os.dup(2)
            except (OSError, ValueError):  # no real descriptor 2 (embedded interpreters)
                saved = None
            if saved is not None:
                try:
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    try:
                        os.dup2(devnull, 2)
                    finally:
                        os.close(devnull)
                except OSError:
                    os.close(saved)
                    saved = None
            _silenced["saved"] = saved
        _silenced["depth"] += 1
    try:
        yield
    finally:
        with _SILENCE_LOCK:
            _silenced["depth"] -= 1
            if _silenced["depth"] == 0 and _silenced["saved"] is not None:
                saved, _silenced["saved"] = _silenced["saved"], None
                os.dup2(saved, 2)
                os.close(saved)


def read_frame(file: Path, index: int) -> np.ndarray:
    """Frame ``index`` of a folder as BGR; a truncated JPEG is decoded (its missing part grey, as libjpeg does)
    with a :class:`DastsiamWarning` naming the file and frame; an undecodable file is an :class:`InputError`."""
    if _truncated_jpeg(file):
        with _stderr_silenced():
            image = cv2.imread(str(file), cv2.IMREAD_UNCHANGED)
        if image is not None:
            warnings.warn(f"{file} (frame {index}): truncated JPEG (premature end of file); "
                          "its missing part is decoded as grey", DastsiamWarning, stacklevel=2)
    else:
        image = cv2.imread(str(file), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError(f"{file}: unreadable image (frame {index})")
    return to_bgr(image, f"{file} (frame {index})")


class FrameSource:
    """Iterate ``(index, frame)`` pairs; ``len()`` is the frame count when known (``None`` for cameras)."""

    def __init__(self, source: str | int | Path):
        self.source = source
        self.files: list[Path] | None = None
        self.capture: cv2.VideoCapture | None = None
        self.fps: float = 30.0
        self.count: int | None = None
        text = str(source)
        if isinstance(source, int) or (isinstance(source, str) and text.isdigit() and not Path(text).exists()):
            self.name = f"camera {int(text)}"
            self.capture = cv2.VideoCapture(int(text))
            if not self.capture.isOpened():
                raise InputError(f"camera {int(text)}: cannot be opened")
            return
        path = Path(text)
        self.name = str(path)
        if not path.exists():
            raise InputError(f"{path}: no such video file or frame folder")
        if path.is_dir():
            self.files = list_frames(path)
            if not self.files:
                raise InputError(f"{path}: folder holds no image files ({', '.join(IMAGE_SUFFIXES)})")
            self.count = len(self.files)
            return
        kind = path.stat().st_mode
        if not (stat.S_ISREG(kind) or stat.S_ISCHR(kind)):  # a character device: a camera such as /dev/video0
            # a FIFO blocks cv2.VideoCapture inside C++ until a writer comes, where no Ctrl-C or SIGTERM reaches
            raise InputError(f"{path}: not a regular file (a FIFO, socket or block device); "
                             f"give a video file or a folder of frames")
        self.capture = cv2.VideoCapture(str(path))
        if not self.capture.isOpened():
            raise InputError(f"{path}: not a readable video file")
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        if fps and np.isfinite(fps) and fps > 0:
            self.fps = float(fps)
        frames = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.count = frames if frames > 0 else None

    def __len__(self) -> int:
        return self.count or 0

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        if self.files is not None:
            for index, file in enumerate(self.files):
                yield index, read_frame(file, index)
            return
        assert self.capture is not None
        index = 0
        while True:
            ok, image = self.capture.read()
            if not ok or image is None:
                if index == 0:
                    raise InputError(f"{self.name}: no frame could be decoded")
                break
            yield index, to_bgr(image, f"{self.name} frame {index}")
            index += 1

    def close(self) -> None:
        if self.capture is not None:
            self.capture.release()

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_source(source: str | int | Path) -> FrameSource:
    """A :class:`FrameSource` for a video file path, a frame folder, or a camera index (``0`` or ``"0"``)."""
    return FrameSource(source)
