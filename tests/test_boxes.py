import numpy as np
import pytest

from dastsiam import boxes


def test_iou_hand_computed():
    # two 10x10 boxes overlapping in a 5x10 strip: 50 / (100 + 100 - 50)
    assert boxes.iou([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(1 / 3)
    assert boxes.iou([0, 0, 10, 10], [0, 0, 10, 10]) == pytest.approx(1.0)
    assert boxes.iou([0, 0, 10, 10], [20, 20, 5, 5]) == 0.0


def test_iou_nan_and_degenerate_give_zero():
    out = boxes.iou(np.array([[0, 0, 10, 10], [np.nan, 0, 1, 1], [0, 0, 0, 0]]), np.array([0, 0, 0, 0]))
    assert out.tolist() == [0.0, 0.0, 0.0]


def test_conversions_round_trip():
    b = np.array([[3.5, 2.0, 10.0, 4.0]])
    assert np.allclose(boxes.xywh_to_cxcywh(b), [[8.5, 4.0, 10.0, 4.0]])
    assert np.allclose(boxes.cxcywh_to_xywh(boxes.xywh_to_cxcywh(b)), b)
    assert np.allclose(boxes.xyxy_to_xywh(boxes.xywh_to_xyxy(b)), b)


def test_polygon_envelope():
    poly = [1, 2, 11, 2, 11, 7, 1, 7]
    assert np.allclose(boxes.polygon_to_xywh(poly), [1, 2, 10, 5])
    assert np.allclose(boxes.polygon_to_xywh([[1, 2, 3, 4]]), [[1, 2, 3, 4]])
    with pytest.raises(ValueError):
        boxes.polygon_to_xywh([1, 2, 3])


def test_center_distance_and_clip():
    assert boxes.center_distance([0, 0, 10, 10], [3, 4, 10, 10]) == pytest.approx(5.0)
    assert np.allclose(boxes.clip_box([-5, -5, 20, 20], 10, 10), [0, 0, 10, 10])
    assert boxes.is_valid_box([0, 0, 1, 1]) and not boxes.is_valid_box([0, 0, 0, 1])
    assert not boxes.is_valid_box([np.nan, 0, 1, 1])
