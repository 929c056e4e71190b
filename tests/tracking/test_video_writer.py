"""The annotated-video writer: H.264 / VP9 through PyAV, mp4v through OpenCV, and the fallback without PyAV."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest

from dastsiam.errors import DastsiamWarning, OutputError
from dastsiam.tracking import video_writer
from dastsiam.tracking.video_writer import VideoWriter, resolve_codec

av = pytest.importorskip("av")


def _frames(n, width, height):
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (0, 0), 4)
    return [np.roll(base, 3 * i, axis=1) for i in range(n)]


@pytest.mark.parametrize("codec,suffix,name", [("h264", ".mp4", "h264"), ("vp9", ".webm", "vp9"),
                                               ("mp4v", ".mp4", "mpeg4")])
@pytest.mark.parametrize("size", [(160, 120), (161, 121)], ids=["even", "odd"])
def test_every_frame_is_in_the_finished_file(tmp_path, codec, suffix, name, size):
    path = tmp_path / f"v{suffix}"
    frames = _frames(12, *size)
    writer = VideoWriter(path, 25.0, size, codec)
    for frame in frames:
        writer.write(frame)
    writer.close()
    writer.close()  # idempotent
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == name
        decoded = [f.to_ndarray(format="bgr24") for f in container.decode(stream)]
        assert stream.average_rate == 25
    assert len(decoded) == 12
    # 4:2:0 needs even sizes: ours pads odd ones by an edge pixel, OpenCV's mp4v drops the last row and column
    assert abs(decoded[0].shape[1] - size[0]) <= 1 and abs(decoded[0].shape[0] - size[1]) <= 1
    h, w = min(size[1], decoded[0].shape[0]), min(size[0], decoded[0].shape[1])
    error = np.abs(decoded[5][:h, :w].astype(float) - frames[5][:h, :w].astype(float)).mean()
    assert error < 8, error  # the picture itself, not just a frame count
    capture = cv2.VideoCapture(str(path))  # and OpenCV reads it back, as the signal tests do
    assert capture.isOpened() and capture.read()[0]


def test_auto_is_h264_with_pyav_else_mp4v_with_a_warning(monkeypatch):
    assert resolve_codec("auto") == "h264"
    monkeypatch.setattr(video_writer, "_have_pyav", lambda: False)
    monkeypatch.setattr(video_writer, "_FALLBACK_WARNED", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert resolve_codec("auto") == "mp4v"
    assert any(issubclass(w.category, DastsiamWarning) and "dastsiam[video]" in str(w.message) for w in caught)
    with pytest.raises(OutputError, match="choose one of"):
        resolve_codec("divx")


def test_unwritable_path_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="cannot open"):
        VideoWriter(tmp_path / "missing" / "v.mp4", 25.0, (64, 48), "h264")


def test_camera_fps_of_zero_still_writes(tmp_path):
    writer = VideoWriter(tmp_path / "v.mp4", 0.0, (64, 48), "h264")  # cameras and frame folders may report 0
    for frame in _frames(3, 64, 48):
        writer.write(frame)
    writer.close()
    with av.open(str(tmp_path / "v.mp4")) as container:
        assert container.streams.video[0].average_rate == 30


def test_the_overlay_numbers_frames_from_one():
    """The annotated video says #1 on the first frame, as the app's page and boxes.txt's line numbers count."""
    import cv2

    from dastsiam.tracking.track_io import draw_box

    frame = np.zeros((60, 160, 3), np.uint8)
    drawn = draw_box(frame, (200.0, 200.0, 5.0, 5.0), 0, 0.5)  # box outside the frame: only the text is drawn

    def text(label):
        image = frame.copy()
        cv2.putText(image, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 255), 2)
        return image

    assert np.array_equal(drawn, text("#1 0.50"))
    assert not np.array_equal(drawn, text("#0 0.50"))
