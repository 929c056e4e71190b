"""Frame sources and frame conversion."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from dastsiam.errors import InputError
from dastsiam.tracking.video import open_source, to_bgr

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def test_to_bgr_conversions():
    bgr = np.random.default_rng(1).integers(0, 255, (4, 5, 3), dtype=np.uint8)
    assert to_bgr(bgr) is bgr
    gray = bgr[..., 0].copy()
    np.testing.assert_array_equal(to_bgr(gray), np.repeat(gray[..., None], 3, axis=2))
    np.testing.assert_array_equal(to_bgr(gray[..., None]), np.repeat(gray[..., None], 3, axis=2))
    bgra = np.concatenate([bgr, np.full((4, 5, 1), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(to_bgr(bgra), bgr)
    with pytest.raises(InputError, match="frame 3.*unsupported image shape"):
        to_bgr(np.zeros((4, 5, 2), np.uint8), "frame 3")
    with pytest.raises(InputError, match="uint8"):
        to_bgr(np.zeros((4, 5, 3), np.uint16))


def test_folder_source(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:04d}.png"), np.full((8, 10), 40 * i, np.uint8))  # grayscale files
    (tmp_path / "notes.txt").write_text("not a frame")
    source = open_source(tmp_path)
    assert len(source) == 3
    frames = list(source)
    assert [i for i, _ in frames] == [0, 1, 2]
    assert all(f.shape == (8, 10, 3) for _, f in frames) and frames[2][1][0, 0, 0] == 80


def test_otb_style_folder_uses_img(shared_data):
    source = open_source(shared_data / "OTB" / "Couple")
    assert len(source) == 140


def test_unreadable_frame_names_the_file(tmp_path):
    cv2.imwrite(str(tmp_path / "0001.jpg"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "0002.jpg").write_bytes(b"not a jpeg")
    frames = iter(open_source(tmp_path))
    next(frames)
    with pytest.raises(InputError, match="0002.jpg: unreadable image"):
        next(frames)


def test_sample_video_reads():
    source = open_source(ASSETS / "bag.mp4")
    assert len(source) == 196 and source.fps > 0
    first = next(iter(source))[1]
    assert first.shape == (360, 480, 3)
    source.close()


def test_bad_sources(tmp_path):
    with pytest.raises(InputError, match="no such video file"):
        open_source(tmp_path / "missing.mp4")
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match="broken.mp4"):
        list(open_source(bad))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no image files"):
        open_source(empty)
