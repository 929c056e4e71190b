"""Encoders for the annotated video (``track --save-video``, the app's download): speed, size, what a browser plays.

Measures, on the frames of a video (default: the bundled sample), each candidate's encoding time per frame and
file size: OpenCV's own ``cv2.VideoWriter`` (``mp4v`` = MPEG-4 Part 2, which Chromium refuses; ``avc1`` = H.264,
absent from the pip wheels; ``VP90`` = VP9 in WebM), PyAV (FFmpeg's libx264 H.264 / libvpx-vp9 in-process) and
imageio-ffmpeg (an ffmpeg executable fed through a pipe). Candidates whose package is missing are skipped::

    .venv/bin/python benchmarks/video_encoders.py [VIDEO] [--frames N] [--threads 1]

docs/tracking.md ("Annotated video") has the numbers and the choice.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _frames(video: Path, limit: int) -> list[np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(str(video))
    frames = []
    while len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    return frames


def _opencv(fourcc: str, suffix: str):
    def encode(frames, path: Path, fps: float, threads: int) -> None:
        import cv2

        cv2.setNumThreads(threads)
        h, w = frames[0].shape[:2]
        writer = cv2.VideoWriter(str(path.with_suffix(suffix)), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
        if not writer.isOpened():
            raise RuntimeError(f"OpenCV cannot open a {fourcc} writer")
        for frame in frames:
            writer.write(frame)
        writer.release()
    return encode


def _pyav(codec: str, suffix: str, options: dict):
    def encode(frames, path: Path, fps: float, threads: int) -> None:
        from fractions import Fraction

        import av

        h, w = frames[0].shape[:2]
        with av.open(str(path.with_suffix(suffix)), "w") as container:
            stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001), options=options)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            stream.thread_count = threads
            for frame in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    return encode


def _imageio_ffmpeg(codec: str, suffix: str):
    def encode(frames, path: Path, fps: float, threads: int) -> None:
        import imageio_ffmpeg

        h, w = frames[0].shape[:2]
        writer = imageio_ffmpeg.write_frames(str(path.with_suffix(suffix)), (w, h), fps=fps, codec=codec,
                                             pix_fmt_in="bgr24", pix_fmt_out="yuv420p", macro_block_size=2,
                                             ffmpeg_log_level="error", output_params=["-threads", str(threads)])
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
    return encode


CANDIDATES = {
    "opencv mp4v (MPEG-4 Part 2)": (_opencv("mp4v", ".mp4"), ".mp4"),
    "opencv avc1 (H.264)": (_opencv("avc1", ".mp4"), ".mp4"),
    "opencv VP90 (VP9 WebM)": (_opencv("VP90", ".webm"), ".webm"),
    "pyav libx264 ultrafast crf23": (_pyav("libx264", ".mp4", {"preset": "ultrafast", "crf": "23",
                                                               "movflags": "+faststart"}), ".mp4"),
    "pyav libx264 superfast crf23": (_pyav("libx264", ".mp4", {"preset": "superfast", "crf": "23",
                                                               "movflags": "+faststart"}), ".mp4"),
    "pyav libx264 veryfast crf23": (_pyav("libx264", ".mp4", {"preset": "veryfast", "crf": "23",
                                                              "movflags": "+faststart"}), ".mp4"),
    "pyav libx264 medium crf23": (_pyav("libx264", ".mp4", {"preset": "medium", "crf": "23"}), ".mp4"),
    "pyav libvpx-vp9 realtime": (_pyav("libvpx-vp9", ".webm", {"deadline": "realtime", "cpu-used": "8",
                                                               "crf": "32", "b": "0"}), ".webm"),
    "imageio-ffmpeg libx264": (_imageio_ffmpeg("libx264", ".mp4"), ".mp4"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path, nargs="?", default=ROOT / "assets" / "bag.mp4")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", action="append", default=[], help="candidates whose name contains this")
    args = parser.parse_args()
    frames = _frames(args.video, args.frames)
    h, w = frames[0].shape[:2]
    print(f"{len(frames)} frames {w}x{h} of {args.video.name}, {args.threads} thread(s), best of {args.repeats}")
    chosen = {k: v for k, v in CANDIDATES.items() if not args.only or any(o in k for o in args.only)}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (encode, suffix) in chosen.items():
            path = Path(tmp) / name.replace(" ", "_")
            best = None
            try:
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    encode(frames, path, 30.0, args.threads)
                    elapsed = time.perf_counter() - start
                    best = elapsed if best is None else min(best, elapsed)
            except Exception as exc:  # noqa: BLE001 - a missing package or codec: report and go on
                print(f"  {name:32s} unavailable: {type(exc).__name__}: {str(exc).splitlines()[0][:90]}")
                continue
            size = os.path.getsize(path.with_suffix(suffix))
            print(f"  {name:32s} {best / len(frames) * 1000:6.2f} ms/frame  {size / 1024:8.1f} KiB")


if __name__ == "__main__":
    main()
