"""FEAR-XS tracking (preset ``fear-xs``, :mod:`dastsiam.tracking.fear`): crops, decoding, smoothing, and the whole
tracker against a line-by-line transcription of the reference Python tracker on real frames."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from dastsiam.models.fear import GEOMETRY
from dastsiam.tracking.config import TrackerConfig, preset, tracker_config_for
from dastsiam.tracking.crop import get_rect_subwindow
from dastsiam.tracking.fear import clamp_box, decode, extend_box

# ---------------------------------------------------------------- a transcription of the reference (numpy)
# PinataFarms/FEARTracker model_training/utils/utils.py, box_coder.py, base_tracker.py, fear_tracker.py with
# siam_tracker.yaml (smooth unset), kept independent of dastsiam.tracking.fear on purpose.


def _ref_extend_bbox(bbox, offset):
    x, y, w, h = bbox
    return np.array([x - w * offset, y - h * offset, w * (1.0 + 2 * offset), h * (1.0 + 2 * offset)]).astype("int32")


def _ref_ensure_bbox_boundaries(bbox, img_shape):
    x1, y1, w, h = bbox
    x1, y1 = min(max(0, x1), img_shape[1]), min(max(0, y1), img_shape[0])
    x2, y2 = min(max(0, x1 + w), img_shape[1]), min(max(0, y1 + h), img_shape[0])
    return np.array([x1, y1, x2 - x1, y2 - y1]).astype("int32")


def _ref_clamp_bbox(bbox, shape, min_side=3):
    x, y, w, h = _ref_ensure_bbox_boundaries(bbox, shape)
    if w < min_side:
        w = min_side
        x -= max(0, x + w - shape[1])
    if h < min_side:
        h = min_side
        y -= max(0, y + h - shape[0])
    return np.array([x, y, w, h])


def _ref_get_extended_crop(image, bbox, crop_size, offset, padding_value=None):
    if padding_value is None:
        padding_value = np.mean(image, axis=(0, 1))
    context = _ref_extend_bbox(bbox, offset)
    pad_left, pad_top = max(-context[0], 0), max(-context[1], 0)
    pad_right = max(context[0] + context[2] - image.shape[1], 0)
    pad_bottom = max(context[1] + context[3] - image.shape[0], 0)
    crop = image[context[1] + pad_top: context[1] + context[3] - pad_bottom,
                 context[0] + pad_left: context[0] + context[2] - pad_right]
    padded = cv2.copyMakeBorder(crop, int(pad_top), int(pad_bottom), int(pad_left), int(pad_right),
                                cv2.BORDER_CONSTANT, value=[float(v) for v in padding_value])
    return cv2.resize(padded, (crop_size, crop_size), interpolation=cv2.INTER_LINEAR), context


class _ReferenceFEAR:
    def __init__(self, model):
        self.model = model

    def initialize(self, image, rect):
        self.bbox = _ref_clamp_bbox(rect, image.shape)
        self.mean_color = np.mean(image, axis=(0, 1))
        crop, _ = _ref_get_extended_crop(image, self.bbox, 128, 0.2)
        self.features = self.model.template(crop.transpose(2, 0, 1)[None].astype(np.float32))

    def update(self, image):
        crop, context = _ref_get_extended_crop(image, self.bbox, 256, 2, self.mean_color)
        out = self.model.track(crop.transpose(2, 0, 1)[None].astype(np.float32), self.features)
        cls = 1 / (1 + np.exp(-out.cls[0, 0]))
        grid = (np.arange(16) - np.floor(float(16 // 2))) * 16 + 256 // 2  # make_grid
        grid_x, grid_y = np.meshgrid(grid, grid)
        r, c = np.unravel_index(np.argmax(cls), cls.shape)
        loc = out.loc[0]
        x1, y1 = grid_x[r, c] - loc[0, r, c], grid_y[r, c] - loc[1, r, c]
        x2, y2 = grid_x[r, c] + loc[2, r, c], grid_y[r, c] + loc[3, r, c]
        bbox = np.array([x1, y1, x2 - x1, y2 - y1], dtype=np.float32)
        w_scale, h_scale = context[2] / 256, context[3] / 256  # _rescale_bbox
        bbox[0] = round(bbox[0] * w_scale + context[0])
        bbox[1] = round(bbox[1] * h_scale + context[1])
        bbox[2] = max(3, round(bbox[2] * w_scale))
        bbox[3] = max(3, round(bbox[3] * h_scale))
        self.bbox = _ref_clamp_bbox(list(map(int, bbox)), image.shape)
        return self.bbox


# ---------------------------------------------------------------- unit tests


def test_extend_box_truncates_towards_zero_like_astype_int32():
    assert extend_box([10.6, 20.2, 30, 40], 0.2, integer=True).tolist() == [4, 12, 42, 56]
    assert extend_box([1.5, 1, 10, 10], 2, integer=True).tolist() == [-18, -19, 50, 50]  # -18.5 -> -18
    assert extend_box([1.5, 1, 10, 10], 2, integer=False).tolist() == [-18.5, -19, 50, 50]
    for box, offset in (([10.6, 20.2, 30, 40], 0.2), ([-7.3, 3.9, 13.1, 7.7], 2.0)):
        assert extend_box(box, offset, True).tolist() == _ref_extend_bbox(box, offset).tolist()


def test_clamp_box_keeps_the_references_quirks():
    # a box leaving the frame on the left keeps its width (x2 = clamped x1 + w), as ensure_bbox_boundaries does
    assert clamp_box([-5, 10, 20, 20], (100, 80), 3, integer=True).tolist() == [0, 10, 20, 20]
    assert clamp_box([-5, 10, 20, 20], (100, 80), 3, integer=False).tolist() == [0, 10, 15, 20]
    # sides of at least 3 px, pushed back inside at the right / bottom edge
    assert clamp_box([99, 79, 1, 1], (100, 80), 3, integer=True).tolist() == [97, 77, 3, 3]
    for box in ([-5.7, 10.2, 20.9, 20.1], [99, 79, 1, 1], [50.5, 70.7, 60.2, 30.3], [3.2, 4.8, 2.2, 1.1]):
        assert clamp_box(box, (100, 80), 3, True).tolist() == _ref_clamp_bbox(box, (80, 100, 3)).tolist()


def test_rect_crop_is_the_references_pad_and_resize(shared_data):
    image = cv2.imread(str(shared_data / "OTB" / "Crossing" / "img" / "0001.jpg"))  # 360 x 240
    pad = np.mean(image, axis=(0, 1))
    for box, offset, size in (([204, 150, 17, 50], 2, 256), ([5, 200, 60, 30], 2, 256), ([300, 20, 50, 70], 2, 256),
                              ([204, 150, 17, 50], 0.2, 128), ([100, 80, 150, 120], 0.2, 128)):
        ref, context = _ref_get_extended_crop(image, np.array(box), size, offset, pad)
        got = get_rect_subwindow(image, context, size, pad)
        diff = np.abs(got.astype(int) - ref.astype(int))
        # enlarged crops: cv2.resize repeats the region's edge pixel in the outermost half pixel, we read the image;
        # inside, warpAffine's 1/32 px sample positions against cv2.resize's exact ones: a few grey levels at edges
        margin = int(np.ceil(size / min(context[2], context[3]))) + 1
        inner = diff[margin:-margin, margin:-margin]
        assert inner.max() <= 8 and inner.mean() < 0.5, (box, offset, inner.max(), inner.mean())
        np.testing.assert_array_equal(get_rect_subwindow(image, context, size, pad, exact=True), ref)


def test_decode_takes_the_best_cell_and_its_ltrb_box():
    cls = np.full((1, 16, 16), -3.0)
    cls[0, 5, 9] = 2.0
    loc = np.empty((4, 16, 16))
    loc[:] = np.array([10.0, 20.0, 30.0, 40.0])[:, None, None]
    box, cell, score = decode(cls, loc, GEOMETRY)
    assert cell == (5, 9)
    assert box.tolist() == [16 * 9 - 10, 16 * 5 - 20, 40, 60]  # cell (i, j) at crop pixel (16 j, 16 i)
    assert score == pytest.approx(1 / (1 + np.exp(-2.0)))


def test_smoothing_is_the_references_formula():
    cls = np.zeros((1, 16, 16))
    cls[0, 8, 8] = 4.0
    loc = np.full((4, 16, 16), 30.0)  # a 60 x 60 box at every cell
    window = np.outer(np.hanning(16), np.hanning(16))
    prev = (50.0, 40.0)
    box, cell, score = decode(cls, loc, GEOMETRY, prev_size_crop=prev, window=window, penalty_k=0.062,
                              window_influence=0.38, lr=0.765)
    assert cell == (8, 8)
    size_measure = lambda w, h: np.sqrt((w + (w + h) / 2) * (h + (w + h) / 2))  # noqa: E731
    s_c = max(size_measure(60, 60) / size_measure(*prev), size_measure(*prev) / size_measure(60, 60))
    r_c = max((50 / 40) / 1.0, 1.0 / (50 / 40))
    rate = np.exp(-(r_c * s_c - 1) * 0.062) * score * 0.765
    expected = (1 - rate ** 2) * np.array(prev) + rate ** 2 * 60  # _smooth_size, simplified
    np.testing.assert_allclose(box[2:], expected)
    assert box[:2].tolist() == [128 - 30, 128 - 30]  # the predicted top-left corner is kept


def test_preset_and_config_checks():
    from dastsiam.config import ConfigError
    from dastsiam.models.registry import BUILTIN_MODELS

    cfg = tracker_config_for(BUILTIN_MODELS["fear-xs"].config)
    assert cfg == preset("fear-xs")
    assert (cfg.decoder, cfg.rounding, cfg.fear_template_offset, cfg.fear_search_offset, cfg.fear_smooth) == (
        "fear", "fear", 0.2, 2.0, False)
    assert (cfg.penalty_k, cfg.window_influence, cfg.lr, cfg.min_size) == (0.062, 0.38, 0.765, 3.0)
    with pytest.raises(ConfigError, match="needs decoder"):
        TrackerConfig(rounding="fear")
    with pytest.raises(ConfigError, match="takes rounding"):
        TrackerConfig(decoder="fear", rounding="opencv")


# ---------------------------------------------------------------- the tracker on real frames



@pytest.fixture(scope="module")
def onnx_fear():
    from dastsiam.onnx_backend import SHIPPED_DIR, OnnxModel

    return OnnxModel(SHIPPED_DIR / "fear-xs", threads=1)


@pytest.mark.parametrize("name", ["Crossing", "MotorRolling"])
def test_tracker_reproduces_the_reference_tracker_on_real_frames(otb_frames, onnx_fear, name):
    from dastsiam.boxes import iou
    from dastsiam.tracking import Tracker

    images, gt = otb_frames(name, 30)
    ours, ref = Tracker(onnx_fear, preset("fear-xs")), _ReferenceFEAR(onnx_fear)
    ours.init(images[0], gt[0])
    ref.initialize(images[0], gt[0])
    assert ours._fear.box.tolist() == ref.bbox.tolist()
    diffs = []
    for image in images[1:]:
        ours._fear.box = ref.bbox.astype(np.float64)  # the same state: compare one step, without compounding
        box, score = ours.track(image)
        expected = ref.update(image)
        diffs.append(np.abs(box - expected).max())
        assert 0.0 < score < 1.0 and np.all(box == np.round(box))  # integer boxes, as the reference's
    assert max(diffs) == 0.0, diffs  # the same crops and decoding: the reference's boxes exactly
    assert iou(np.array([ours.last.box]), gt[-1:])[0] > 0.3


def test_onnx_and_torch_back_ends_track_alike(otb_frames, onnx_fear):
    import torch

    from dastsiam.models.registry import load_model
    from dastsiam.tracking import Tracker

    images, gt = otb_frames("Crossing", 12)
    torch.set_num_threads(1)
    trackers = [Tracker(onnx_fear, preset("fear-xs")), Tracker(load_model("fear-xs")[0], preset("fear-xs"))]
    for t in trackers:
        t.init(images[0], gt[0])
    for image in images[1:]:
        a, b = (t.track(image)[0] for t in trackers)
        assert np.abs(a - b).max() <= 1.0


def test_subpixel_rounding_tracks_in_floats(otb_frames, onnx_fear):
    from dastsiam.boxes import iou
    from dastsiam.tracking import Tracker

    images, gt = otb_frames("Crossing", 12)
    tracker = Tracker(onnx_fear, preset("fear-xs", rounding="subpixel", fear_smooth=True))
    tracker.init(images[0], gt[0])
    boxes = np.array([tracker.track(image)[0] for image in images[1:]])
    assert not np.all(boxes == np.round(boxes))
    assert iou(boxes, gt[1:]).mean() > 0.5
