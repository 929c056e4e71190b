"""Crops with context and mean padding (pysot get_subwindow / OpenCV TrackerNano conventions)."""

import math

import numpy as np
import pytest

from dastsiam.tracking.crop import context_size, crop_window, get_subwindow


def _ramp(h=60, w=80):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx, yy, (xx + yy) % 256], axis=2).astype(np.uint8)


def test_crop_window_hand_worked():
    # pysot: side 21, c = 11, xmin = floor(40.3 - 11 + 0.5) = 29 ; ymin = floor(30.7 - 10.5) = 20
    w = crop_window((40.3, 30.7), 21.4, 127, "pysot")
    assert (w.x0, w.y0, w.side) == (29, 20, 21)
    # opencv: side int(21.9) = 21, c = 11, xmin = int(40.3) - 11 = 29, ymin = int(30.7) - 11 = 19
    w = crop_window((40.3, 30.7), 21.9, 127, "opencv")
    assert (w.x0, w.y0, w.side) == (29, 19, 21)
    # pysot rounds the side, OpenCV truncates it
    assert crop_window((0, 0), 21.6, 127, "pysot").side == 22
    assert crop_window((0, 0), 21.6, 127, "opencv").side == 21
    # C truncation towards zero for negative centres
    assert crop_window((-3.7, 5), 10, 127, "opencv").x0 == -3 - 5
    with pytest.raises(ValueError):
        crop_window((0, 0), 10, 10, "other")


@pytest.mark.parametrize("rounding", ["pysot", "opencv"])
def test_crop_inside_is_the_exact_slice(rounding):
    image = _ramp()
    crop, win = get_subwindow(image, (40.0, 30.0), 21, 21, rounding=rounding)
    assert crop.shape == (21, 21, 3) and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop, image[win.y0:win.y0 + 21, win.x0:win.x0 + 21])
    # hand-worked: pysot floor(40 - 11 + 0.5) = 29, OpenCV int(40) - (22 // 2) = 29
    assert (win.x0, win.y0) == (29, 19)
    assert crop[0, 0, 0] == 29 and crop[0, 0, 1] == 19


def test_padding_uses_the_frame_mean_colour():
    image = np.zeros((40, 50, 3), np.uint8)
    image[..., 0] = 10
    image[..., 1] = 100
    image[:, :25, 2] = 200  # channel 2 mean = 100
    crop, win = get_subwindow(image, (2.0, 2.0), 20, 20, rounding="pysot")
    assert win.x0 < 0 and win.y0 < 0
    np.testing.assert_array_equal(crop[0, 0], [10, 100, 100])  # padded corner = mean colour
    inside = crop[-win.y0:, -win.x0:]
    np.testing.assert_array_equal(inside, image[: 20 + win.y0, : 20 + win.x0])
    # explicit pad value
    crop, _ = get_subwindow(image, (2.0, 2.0), 20, 20, pad_value=(1, 2, 3))
    np.testing.assert_array_equal(crop[0, 0], [1, 2, 3])


def test_crop_entirely_outside_is_all_padding_and_resize():
    image = _ramp()
    crop, _ = get_subwindow(image, (-500.0, -500.0), 30, 64)
    assert crop.shape == (64, 64, 3)
    mean = np.round(np.array([image[..., c].mean() for c in range(3)]))
    np.testing.assert_array_equal(crop.reshape(-1, 3).min(0), mean)
    np.testing.assert_array_equal(crop.reshape(-1, 3).max(0), mean)


def test_resize_of_a_constant_region_keeps_it_and_scale():
    image = np.full((100, 100, 3), 77, np.uint8)
    crop, win = get_subwindow(image, (50.0, 50.0), 40.0, 127)
    assert crop.shape == (127, 127, 3) and np.all(crop == 77)
    assert win.scale == pytest.approx(127 / 40)


def test_context_size():
    # w=20, h=10, p = 0.5 * 30 = 15 -> sqrt(35 * 25)
    assert context_size(20, 10, 0.5) == pytest.approx(math.sqrt(35 * 25))
    # OpenCV's update() truncates w + h first: int(20.7 + 10.6) = 31 -> p = 15.5
    assert context_size(20.7, 10.6, 0.5, truncate_sum=True) == pytest.approx(math.sqrt(36.2 * 26.1))
