"""Annotated-video encoders: H.264 MP4 (the default, plays in every browser), VP9 WebM, or OpenCV's ``mp4v``.

``track --save-video`` and the web app's download used OpenCV's ``mp4v`` (MPEG-4 Part 2), which browsers refuse
(Chromium: ``DEMUXER_ERROR_NO_SUPPORTED_STREAMS``). The pip wheels of OpenCV have no H.264 encoder (``avc1``
cannot open) and their VP9 (``VP90``) runs libvpx at its slowest setting (~0.6 s per 480x360 frame). PyAV
(FFmpeg's libraries in-process, the ``video`` extra) has libx264 and libvpx-vp9 with speed presets, and being
in-process it keeps the writer's signal handling as it is (an ffmpeg child process, as imageio-ffmpeg runs,
would get the terminal's Ctrl-C itself). Measurements and the choice: docs/tracking.md, "Annotated video";
benchmarks/video_encoders.py.

Codecs: ``h264`` (libx264, preset ``superfast``, CRF 23, ``yuv420p``, ``+faststart`` so a browser starts
playing before the whole file has arrived), ``vp9`` (libvpx-vp9, realtime deadline), ``mp4v`` (OpenCV, no
extra dependency, not browser-playable), ``auto`` = ``h264`` when PyAV is installed, else ``mp4v`` with a
warning naming the extra.
"""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np

from dastsiam.errors import DastsiamWarning, OutputError

__all__ = ["CODECS", "VideoWriter", "resolve_codec", "video_suffix"]

# name -> (FFmpeg encoder or None for OpenCV's, file suffix, encoder options)
CODECS: dict[str, tuple[str | None, str, dict[str, str]]] = {
    "h264": ("libx264", ".mp4", {"preset": "superfast", "crf": "23"}),
    "vp9": ("libvpx-vp9", ".webm", {"deadline": "realtime", "cpu-used": "8", "crf": "32", "b": "0"}),
    "mp4v": (None, ".mp4", {}),
}
_FALLBACK_WARNED = False


def _have_pyav() -> bool:
    import importlib.util

    return importlib.util.find_spec("av") is not None


def resolve_codec(codec: str = "auto") -> str:
    """``auto`` -> ``h264`` with PyAV, else ``mp4v`` (warned once per process); other names are checked."""
    global _FALLBACK_WARNED
    if codec == "auto":
        if _have_pyav():
            return "h264"
        if not _FALLBACK_WARNED:
            _FALLBACK_WARNED = True
            warnings.warn("PyAV is not installed, so the annotated video is mp4v, which browsers do not play; "
                          "pip install 'dastsiam[video]' for H.264", DastsiamWarning, stacklevel=2)
        return "mp4v"
    if codec not in CODECS:
        raise OutputError(f"video codec {codec!r}: choose one of auto, {', '.join(CODECS)}")
    return codec


def video_suffix(codec: str) -> str:
    """The file suffix of a resolved codec's container (``.mp4`` or ``.webm``)."""
    return CODECS[codec][1]


class VideoWriter:
    """``write(frame)`` BGR ``uint8`` frames of one size, then ``close()`` (the file is playable once closed).

    Odd frame sizes are padded by one edge pixel for the 4:2:0 codecs (they need even sizes). Errors (no such
    codec, disk full) are :class:`OutputError` naming the file.
    """

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int], codec: str = "auto"):
        self.path = Path(path)
        self.codec = resolve_codec(codec)
        self.width, self.height = int(size[0]), int(size[1])
        self._container = self._stream = self._cv = None
        self._count = 0
        fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else 30.0
        encoder, _, options = CODECS[self.codec]
        if encoder is None:
            import cv2

            self._cv = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*self.codec), fps,
                                       (self.width, self.height))
            if not self._cv.isOpened():
                self._cv = None
                raise OutputError(f"{self.path}: cannot open a video writer ({self.codec})")
            return
        try:
            import av
        except ModuleNotFoundError:
            raise OutputError(f"{self.path}: the {self.codec} video needs PyAV: pip install 'dastsiam[video]' "
                              f"(or choose mp4v)") from None
        try:  # FFmpeg opens the file only at the first packet: find an unwritable path now, before tracking
            open(self.path, "wb").close()
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot open a {self.codec} video writer "
                              f"({exc.strerror or exc})") from None
        try:
            container_options = {"movflags": "+faststart"} if self.path.suffix == ".mp4" else {}
            self._container = av.open(str(self.path), "w", options=container_options)
            rate = Fraction(fps).limit_denominator(1001)
            self._stream = self._container.add_stream(encoder, rate=rate, options=dict(options))
            self._stream.width = self.width + (self.width & 1)
            self._stream.height = self.height + (self.height & 1)
            self._stream.pix_fmt = "yuv420p"
            self._time_base = Fraction(1) / rate
            self._stream.codec_context.time_base = self._time_base
        except (av.FFmpegError, ValueError, OSError) as exc:
            self._abandon()
            raise OutputError(f"{self.path}: cannot open a {self.codec} video writer ({exc})") from None

    def write(self, frame: np.ndarray) -> None:
        if self._cv is not None:
            self._cv.write(frame)
            return
        import av

        if (self._stream.width, self._stream.height) != (frame.shape[1], frame.shape[0]):
            frame = np.pad(frame, ((0, self._stream.height - frame.shape[0]),
                                   (0, self._stream.width - frame.shape[1]), (0, 0)), mode="edge")
        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="bgr24")
        picture.pts = self._count
        picture.time_base = self._time_base
        try:
            for packet in self._stream.encode(picture):
                self._container.mux(packet)
        except (av.FFmpegError, OSError) as exc:
            raise OutputError(f"{self.path}: cannot write frame {self._count} ({exc})") from None
        self._count += 1

    def close(self) -> None:
        """Flush the encoder and finish the file (idempotent)."""
        if self._cv is not None:
            self._cv.release()
            self._cv = None
        if self._container is not None:
            import av

            container, self._container = self._container, None
            try:
                for packet in self._stream.encode():
                    container.mux(packet)
            except (av.FFmpegError, OSError) as exc:
                raise OutputError(f"{self.path}: cannot finish the video ({exc})") from None
            finally:
                container.close()

    def _abandon(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001 - already failing; the first error is the one reported
                pass
            self._container = None
