"""Label assignment on hand-worked cases (eq. 6 centre rule, ellipse, IoU ablation) and the cell <-> pixel map."""

import math

import numpy as np
import pytest

from dastsiam.models.geometry import OutputGeometry
from dastsiam.training.config import LabelConfig
from dastsiam.training.labels import (
    assign_targets, centerness_of, centre_rule, ellipse_rule, iou_rule, ltrb_targets,
)

# r50 geometry: offset = 287/2 - 12 * 8 = 47.5, cell (i, j) looks at (47.5 + 8 j, 47.5 + 8 i); (12, 12) -> 143.5
R50 = OutputGeometry(exemplar_size=127, instance_size=287, stride=8, score_size=25)


def box_at(cx, cy, w, h):
    return np.array([cx - w / 2, cy - h / 2, w, h])


def positives(labels):
    return {(int(i), int(j)) for i, j in zip(*np.nonzero(labels == 1))}


def test_centre_rule_radius_two_strides_on_a_cell():
    labels = centre_rule(box_at(143.5, 143.5, 40, 40), R50, radius=2.0)
    # distance <= 2 strides from cell (12, 12): the 3x3 block plus the 4 cells two steps away on the axes
    expected = {(12 + di, 12 + dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)} | {(10, 12), (14, 12), (12, 10), (12, 14)}
    assert positives(labels) == expected
    assert labels[12, 15] == 0 and labels[10, 11] == 0  # (2, 1) is sqrt(5) strides away
    assert set(np.unique(labels)) == {0.0, 1.0}


def test_centre_rule_half_a_stride_off_grid():
    # centre at x = 147.5, half-way between columns 12 and 13: column offsets -1..2 x rows -1..1 -> 12 cells
    labels = centre_rule(box_at(147.5, 143.5, 40, 40), R50, radius=2.0)
    assert positives(labels) == {(12 + di, 12 + dj) for di in (-1, 0, 1) for dj in (-1, 0, 1, 2)}


def test_centre_rule_ignore_ring():
    labels = centre_rule(box_at(143.5, 143.5, 40, 40), R50, radius=1.0, ignore_radius=2.0)
    assert labels[12, 12] == 1 and labels[12, 13] == 1
    assert labels[11, 11] == -1 and labels[12, 14] == -1  # sqrt(2) and 2 strides: ignored
    assert labels[12, 15] == 0


def test_iou_rule_hand_computed():
    # 40x40 box: a shift of 8 px gives IoU 32*40 / (3200 - 1280) = 0.667 (positive), 16 px 0.43 and a diagonal
    # (8, 8) 0.47 (ignored), 24 px 0.25 (negative)
    labels = iou_rule(box_at(143.5, 143.5, 40, 40), R50, positive=0.6, negative=0.3)
    assert positives(labels) == {(12, 12), (11, 12), (13, 12), (12, 11), (12, 13)}
    assert labels[12, 14] == -1 and labels[11, 11] == -1
    assert labels[12, 15] == 0 and labels[0, 0] == 0


def test_ellipse_rule_follows_box_shape():
    # 80 wide x 16 high: half-axes at scale 0.5 are 20 x 4 px -> columns within 20 px (2.5 strides), one row
    labels = ellipse_rule(box_at(143.5, 143.5, 80, 16), R50, scale=0.5)
    assert positives(labels) == {(12, 12 + dj) for dj in (-2, -1, 0, 1, 2)}
    assert labels[11, 12] == -1  # 8 px above: outside the 4 px half-axis but inside the 8 px box ellipse
    assert labels[10, 12] == 0


def test_ltrb_and_centerness_at_a_cell():
    box = np.array([130.5, 133.5, 20.0, 30.0])
    ltrb = ltrb_targets(box, R50)
    np.testing.assert_allclose(ltrb[:, 12, 12], [13.0, 10.0, 7.0, 20.0])
    np.testing.assert_allclose(centerness_of(ltrb)[12, 12], math.sqrt(7 / 13 * 10 / 20), rtol=1e-6)
    assert centerness_of(ltrb)[0, 0] == 0.0  # outside the box


def test_regression_cells_are_positive_cells_inside_the_box():
    # a 10 px target: the radius-2 positives reach 16 px away, outside the box; only the centre cell is inside
    targets = assign_targets(box_at(143.5, 143.5, 10, 10), R50, LabelConfig(rule="centre", radius=2.0))
    assert targets.cls.sum() == 13
    assert positives(targets.reg_weight) == {(12, 12)}
    wide = assign_targets(box_at(143.5, 143.5, 10, 10), R50, LabelConfig(reg_cells="inside_box", radius=0.5))
    assert positives(wide.reg_weight) == {(12, 12)} and wide.cls.sum() == 1


def test_negative_pair_has_no_positive_and_no_regression():
    t = assign_targets(None, R50, LabelConfig())
    assert t.cls.shape == (25, 25) and (t.cls == 0).all() and t.reg_weight.sum() == 0


@pytest.mark.parametrize("score_size,stride,instance", [(25, 8, 287), (16, 16, 255), (17, 8, 255)])
def test_positive_cells_surround_the_target_for_every_grid(score_size, stride, instance):
    """Moving the target to any cell's crop point makes that cell the positive centre (exact round trip)."""
    g = OutputGeometry(127, instance, stride, score_size)
    xs, ys = g.cell_centers()
    for i, j in [(0, 0), (3, score_size - 2), (score_size // 2, score_size // 2)]:
        labels = centre_rule(box_at(xs[i, j], ys[i, j], 30, 30), g, radius=0.5)
        assert positives(labels) == {(i, j)}
        assert g.cell_of_point(xs[i, j], ys[i, j]) == (i, j)


def test_uses_the_models_geometry_override():
    from dastsiam.models import load_model

    model, _ = load_model("nano")
    g = model.geometry
    xs, ys = g.cell_centers()
    labels = centre_rule(box_at(xs[5, 9], ys[5, 9], 40, 40), g, radius=0.5)
    assert positives(labels) == {(5, 9)}
