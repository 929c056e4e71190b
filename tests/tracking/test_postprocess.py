"""Cosine window, penalties, score maps and box decoding on small hand-worked cases."""

import math

import numpy as np
import pytest

from dastsiam.models.geometry import OutputGeometry
from dastsiam.tracking import postprocess as pp


def test_cosine_window_hand_values():
    np.testing.assert_allclose(pp.cosine_window(3), [[0, 0, 0], [0, 1, 0], [0, 0, 0]], atol=1e-12)
    hann4 = np.array([0.0, 0.75, 0.75, 0.0])  # 0.5 (1 - cos(2 pi n / 3))
    np.testing.assert_allclose(pp.cosine_window(4), np.outer(hann4, hann4), atol=1e-12)
    np.testing.assert_allclose(pp.cosine_window(4, "sqrt"), np.sqrt(np.outer(hann4, hann4)), atol=1e-12)
    w = pp.cosine_window(16)
    np.testing.assert_allclose(w, np.outer(np.hanning(16), np.hanning(16)), atol=1e-12)
    assert w.shape == (16, 16) and w.max() < 1.0
    with pytest.raises(ValueError):
        pp.cosine_window(4, "gauss")


def test_apply_window():
    score = np.array([[1.0, np.nan], [0.5, 0.0]])
    window = np.array([[0.0, 1.0], [1.0, 0.0]])
    out = pp.apply_window(score, window, 0.25)
    np.testing.assert_allclose(out[[0, 1, 1], [0, 0, 1]], [0.75, 0.625, 0.0])
    assert out[0, 1] == -np.inf  # NaN never wins the argmax


def test_change_and_size_measure():
    np.testing.assert_allclose(pp.change([2.0, 0.5, 1.0]), [2.0, 2.0, 1.0])
    assert pp.size_measure(20, 10) == pytest.approx(math.sqrt(35 * 25))


def test_scale_aspect_penalty_hand_worked():
    k = 0.1
    # unchanged box: no penalty
    assert pp.scale_aspect_penalty(20.0, 10.0, 20.0, 10.0, k) == pytest.approx(1.0)
    # twice as wide: s = sqrt(65*35)/sqrt(35*25), r = (20/10)/(40/10) = 0.5 -> change 2
    s = math.sqrt(65 * 35) / math.sqrt(35 * 25)
    assert pp.scale_aspect_penalty(40.0, 10.0, 20.0, 10.0, k) == pytest.approx(math.exp(-(2 * s - 1) * k))
    # OpenCV's reference override
    expected = math.exp(-(pp.size_measure(20, 10) / 100.0 * 1.0 - 1) * k)  # change(s) with s < 1 -> 1/s
    got = pp.scale_aspect_penalty(20.0, 10.0, 20.0, 10.0, k, ref_size=100.0)
    assert got == pytest.approx(math.exp(-(100.0 / pp.size_measure(20, 10) - 1) * k))
    assert got != pytest.approx(expected)
    # degenerate predictions give a finite (maximal) penalty, never NaN
    out = pp.scale_aspect_penalty(np.array([0.0, -5.0]), np.array([10.0, 10.0]), 20.0, 10.0, k)
    assert np.all(np.isfinite(out)) and np.all(out < 1e-3)


def test_softmax_and_score_maps():
    cls = np.zeros((2, 1, 2))
    cls[1, 0, 0] = math.log(3.0)  # p = 3 / (1 + 3)
    np.testing.assert_allclose(pp.softmax_target(cls)[0], [0.75, 0.5])
    np.testing.assert_allclose(pp.softmax_target(np.zeros((1, 1, 1))), [[0.5]])
    conf = np.full((1, 1, 2), math.log(4.0))  # sigmoid = 0.8
    np.testing.assert_allclose(pp.score_map(cls, conf, "conf")[0], [0.8, 0.8])
    np.testing.assert_allclose(pp.score_map(cls, conf, "weighted", 0.25)[0], [0.25 * 0.75 + 0.6, 0.25 * 0.5 + 0.6])
    np.testing.assert_allclose(pp.score_map(cls, None, "weighted")[0], [0.75, 0.5])  # no conf branch -> cls
    np.testing.assert_allclose(pp.score_map(cls, conf, "cls")[0], [0.75, 0.5])
    # the paper's sum, normalised by the weight sum for picking: (1 * 0.75 + 1 * 0.8) / 2, (0.5 + 0.8) / 2
    np.testing.assert_allclose(pp.score_map(cls, conf, "sum")[0], [0.775, 0.65])
    np.testing.assert_allclose(pp.score_map(cls, conf, "sum", weights=(3.0, 1.0))[0], [(2.25 + 0.8) / 4, (1.5 + 0.8) / 4])
    np.testing.assert_allclose(pp.score_map(cls, None, "sum")[0], [0.75, 0.5])  # no conf branch -> cls


def test_gate_values_by_hand():
    cls = np.zeros((2, 1, 2))
    cls[1, 0, 0] = math.log(3.0)  # p_cls = 0.75, 0.5
    conf = np.array([[[math.log(9.0), math.log(1.5)]]])  # p_conf = 0.9, 0.6
    sum_map = pp.score_map(cls, conf, "sum")
    # eq.: gate = w_cls * softmax + w_conf * sigmoid at the chosen cell, weights 1 and 1 -> [0, 2]
    assert pp.gate_value(sum_map, (0, 0), "sum") == pytest.approx(0.75 + 0.9)  # 1.65 > 1.18: update
    assert pp.gate_value(sum_map, (0, 1), "sum") == pytest.approx(0.5 + 0.6)  # 1.10 < 1.18: no update
    weighted = pp.score_map(cls, conf, "sum", weights=(2.0, 0.5))
    assert pp.gate_value(weighted, (0, 1), "sum", (2.0, 0.5)) == pytest.approx(2.0 * 0.5 + 0.5 * 0.6)
    # the weighted average, single branches and the map maximum
    assert pp.gate_value(pp.score_map(cls, conf, "weighted", 0.5), (0, 0), "weighted") == pytest.approx(0.825)
    assert pp.gate_value(pp.score_map(cls, conf, "cls"), (0, 1), "cls") == pytest.approx(0.5)
    assert pp.gate_value(pp.score_map(cls, conf, "conf"), (0, 1), "conf") == pytest.approx(0.6)
    assert pp.gate_value(pp.score_map(cls, conf, "response_max"), (0, 1), "response_max") == pytest.approx(0.75)
    # a model without the confidence branch: the sum counts it as agreeing, 2 * p_cls
    assert pp.gate_value(pp.score_map(cls, None, "sum"), (0, 0), "sum") == pytest.approx(1.5)
    with pytest.raises(ValueError, match="unknown confidence mode"):
        pp.score_map(cls, conf, "max")


def test_cell_points_hand_values():
    nano = OutputGeometry(127, 255, 16, 16, offset_override=-1.0)
    xs, ys = pp.cell_points(nano, "opencv")
    assert xs[0, 0] == -128 and xs[0, 8] == 0 and ys[15, 0] == 112 and xs[3, 15] == 112
    xs, _ = pp.cell_points(nano, "geometry")
    assert xs[0, 8] == pytest.approx(-1 + 128 - 127.5)
    r50 = OutputGeometry(127, 287, 8, 25)
    xs, ys = pp.cell_points(r50, "geometry")
    assert xs[12, 12] == 0 and ys[12, 12] == 0 and xs[0, 0] == -96


@pytest.mark.parametrize("grid", ["geometry", "opencv"])
def test_decode_round_trip(grid):
    """A box encoded as l, t, r, b distances at every cell decodes back to itself."""
    geo = OutputGeometry(127, 255, 16, 16, offset_override=-1.0)
    xs, ys = pp.cell_points(geo, grid)
    x1, y1, x2, y2 = -27.0, -37.5, 33.0, 12.5  # relative to the crop centre
    loc = np.stack([xs - x1, ys - y1, x2 - xs, y2 - ys])
    cx, cy, w, h = pp.decode_ltrb(loc, xs, ys)
    np.testing.assert_allclose(cx, 3.0)
    np.testing.assert_allclose(cy, -12.5)
    np.testing.assert_allclose(w, 60.0)
    np.testing.assert_allclose(h, 50.0)
