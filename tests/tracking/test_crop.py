"""Crops with context and mean padding (pysot get_subwindow / OpenCV TrackerNano conventions)."""

import math

import numpy as np
import pytest

from dastsiam.tracking.crop import context_size, crop_window, frame_mean, get_subwindow


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


# ---------------------------------------------------------------- "subpixel" crops (issues 8.6, 10.3, 9.2)
def test_subpixel_crop_on_whole_pixels_is_the_exact_slice():
    """Box x..x+w-1 has its centre pixel at x + w/2 - 1/2: a crop of that side centred there at scale 1 is
    the slice itself (no rounding, no shift)."""
    image = _ramp()
    box = (30.0, 20.0, 21.0, 21.0)  # pixels 30..50, 20..40
    centre = (box[0] + box[2] / 2, box[1] + box[3] / 2)
    crop, win = get_subwindow(image, centre, 21, 21, rounding="subpixel")
    np.testing.assert_array_equal(crop, image[20:41, 30:51])
    assert (win.x0, win.y0, win.side) == (30.0, 20.0, 21.0)


@pytest.mark.parametrize("rounding", ["subpixel", "pysot", "opencv"])
@pytest.mark.parametrize("box", [(37.0, 21.0, 14.0, 9.0), (36.3, 20.6, 13.2, 10.9), (40.5, 25.5, 7.0, 6.0)])
def test_crop_is_centred_on_the_target(rounding, box):
    """Issue 8.6's cause: a target drawn symmetrically about its box centre must sit at the crop centre. The
    integer conventions put it up to a pixel off (to the lower right); the subpixel crop does not."""
    h, w = 80, 100
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    # a smooth blob centred on the box centre (pixel-centre coordinates: pixel i has its centre at i + 1/2)
    blob = np.exp(-(((xx + 0.5 - cx) / 4.0) ** 2 + ((yy + 0.5 - cy) / 4.0) ** 2)) * 250
    image = np.repeat(blob[..., None], 3, axis=2).round().astype(np.uint8)
    crop, _ = get_subwindow(image, (cx, cy), 31.0, 63, rounding=rounding)
    weights = crop[..., 0].astype(np.float64)
    vv, uu = np.mgrid[0:63, 0:63]
    centroid = np.array([(weights * uu).sum(), (weights * vv).sum()]) / weights.sum()
    offset_image_px = (centroid - 31.0) * 31.0 / 63  # crop pixels -> image pixels
    if rounding == "subpixel":
        assert np.all(np.abs(offset_image_px) < 0.05), offset_image_px
    else:
        assert np.all(offset_image_px > -0.05) and np.any(offset_image_px > 0.25), offset_image_px


def test_subpixel_padding_is_the_mean_colour_and_blends_at_the_edge():
    image = np.zeros((40, 50, 3), np.uint8)
    image[..., 0] = 10
    image[..., 1] = 100
    image[:, :25, 2] = 200  # channel 2 mean = 100
    crop, _ = get_subwindow(image, (2.0, 2.0), 20, 20, rounding="subpixel")
    np.testing.assert_array_equal(crop[0, 0], [10, 100, 100])
    assert crop[-1, -1, 2] == 200
    crop, _ = get_subwindow(image, (2.0, 2.0), 20, 20, pad_value=(1, 2, 3), rounding="subpixel")
    np.testing.assert_array_equal(crop[0, 0], [1, 2, 3])


def test_mean_of_a_large_frame_is_taken_from_every_kth_row():
    image = np.zeros((2160, 64, 3), np.uint8)
    image[::6] = 60  # exactly the rows a 2160-row frame is averaged over (k = ceil(2160 / 360) = 6)
    assert frame_mean(image, exact=False) == pytest.approx((60.0, 60.0, 60.0))
    assert frame_mean(image, exact=True) == pytest.approx((10.0, 10.0, 10.0))
    small = _ramp()
    assert frame_mean(small, exact=False) == pytest.approx(frame_mean(small, exact=True))  # <= 360 rows: all


@pytest.mark.parametrize("rounding", ["subpixel", "pysot", "opencv"])
def test_huge_crop_work_is_bounded_by_the_output(rounding):
    """Issue 9.2: a window of 3e6 px (a 108 TB padded patch) is sampled straight at the output size."""
    import tracemalloc

    image = _ramp(240, 320)
    tracemalloc.start()
    try:
        crop, win = get_subwindow(image, (500_000.0, 500_000.0), 3e6, 255, rounding=rounding)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert crop.shape == (255, 255, 3) and win.side >= 2.9e6
    assert peak < 5e6, f"{peak / 1e6:.0f} MB allocated"
    # the frame is a dot in the middle of the crop, the rest is the mean colour
    mean = np.round(frame_mean(image)).astype(int)
    np.testing.assert_allclose(crop[0, 0].astype(int), mean, atol=1)


def test_integer_conventions_fall_back_only_for_windows_above_four_frames():
    """The reference pixels (copyMakeBorder + resize) up to four frames of padded window; above, the warp
    differs from them by at most one grey level."""
    import dastsiam.tracking.crop as crop_module

    image = _ramp(60, 80)
    centre, side = (40.0, 30.0), 130.0  # 130^2 = 16900 < 4 * 4800: reference path
    ref, _ = get_subwindow(image, centre, side, 127, rounding="opencv")
    old = crop_module.MAX_WINDOW_FRAMES
    crop_module.MAX_WINDOW_FRAMES = 1  # force the bounded path on the same window
    try:
        got, _ = get_subwindow(image, centre, side, 127, rounding="opencv")
    finally:
        crop_module.MAX_WINDOW_FRAMES = old
    assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1
