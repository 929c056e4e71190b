"""The anchor head of `dastsiam-r50` (paper Sec. 2.3 / 3.1: SiamRPN's anchors, centre-distance labels, eq. 5-6):
anchor generation, offset encoding / decoding, label assignment, losses and tracking, all on hand-worked numbers."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from dastsiam.models.base import HeadOutput, SiameseModel
from dastsiam.models.config import ModelConfig
from dastsiam.models.geometry import OutputGeometry
from dastsiam.models.siamrpn import R50_ANCHOR_GEOMETRY
from dastsiam.tracking import Tracker, TrackerConfig
from dastsiam.tracking import postprocess as pp
from dastsiam.tracking.crop import context_size
from dastsiam.training.config import DataSourceConfig, LabelConfig, LossConfig, TrainConfig
from dastsiam.training.labels import IGNORE, NEGATIVE, POSITIVE, anchor_iou, anchor_offsets, assign_targets
from dastsiam.training.losses import compute_loss

GEO = R50_ANCHOR_GEOMETRY
CENTRE = 143.5  # crop pixel of cell (12, 12): 287 / 2


def test_anchor_shapes_are_siamrpns():
    # pysot Anchors: size = 8 * 8; ws = int(sqrt(size / r)), hs = int(ws * r); times scale 8
    #   r = 0.33: ws = int(13.93) = 13, hs = int(4.29) = 4;  r = 0.5: 11, int(5.5) = 5;  r = 1: 8, 8
    #   r = 2: int(5.66) = 5, 10;  r = 3: int(4.62) = 4, 12
    np.testing.assert_array_equal(GEO.anchor_sizes(), [[104, 32], [88, 40], [64, 64], [40, 80], [32, 96]])
    anchors = GEO.anchors()
    assert anchors.shape == (4, 5, 25, 25)
    np.testing.assert_array_equal(anchors[:, 2, 12, 12], [CENTRE, CENTRE, 64, 64])
    np.testing.assert_array_equal(anchors[:, 0, 0, 3], [47.5 + 24, 47.5, 104, 32])  # (row 0, col 3)
    np.testing.assert_array_equal(anchors[:, 4, 24, 24], [239.5, 239.5, 32, 96])
    # YAML (exported metadata) gives lists: the geometry is the same value
    assert OutputGeometry(127, 287, 8, 25, anchor_ratios=[0.33, 0.5, 1, 2, 3], anchor_scales=[8]) == GEO


def test_offsets_by_hand_and_round_trip():
    box = np.array([100.0, 120.0, 52.0, 64.0])  # centre (126, 152)
    anchors = GEO.anchors()
    d = anchor_offsets(box, anchors)
    assert d.shape == (4, 5, 25, 25)
    # anchor 2 (64 x 64) at cell (12, 12), centre 143.5: dx = -17.5 / 64, dy = 8.5 / 64, dw = log(52/64), dh = 0
    np.testing.assert_allclose(d[:, 2, 12, 12], [-0.2734375, 0.1328125, math.log(52 / 64), 0.0], atol=1e-7)
    # anchor 0 (104 x 32) at cell (0, 0), centre (47.5, 47.5)
    np.testing.assert_allclose(d[:, 0, 0, 0], [78.5 / 104, 104.5 / 32, math.log(0.5), math.log(2.0)], rtol=1e-6)
    # decoding inverts encoding at every anchor (absolute anchors here; the tracker's are crop-centre relative)
    cx, cy, w, h = pp.decode_anchor_offsets(d.reshape(20, 25, 25), anchors)
    for got, want in ((cx, 126.0), (cy, 152.0), (w, 52.0), (h, 64.0)):
        np.testing.assert_allclose(got, want, rtol=1e-5)
    relative = pp.anchor_points(GEO)
    np.testing.assert_allclose(relative[:2] + CENTRE, anchors[:2])
    np.testing.assert_array_equal(relative[2:], anchors[2:])


def test_iou_labels_by_hand():
    """A 64 x 64 target on the crop centre. For the 64 x 64 anchor shifted by (dx, dy) cells of 8 px,
    IoU = (64 - |dx|)(64 - |dy|) / (8192 - (64 - |dx|)(64 - |dy|)): 1 at 0, 0.778 at 8 px, 0.6 at 16 px,
    0.620 at (8, 8), 0.488 at (16, 8), 0.455 at 24 px. The other shapes on the centre: 104x32 2048/5376 = 0.381,
    88x40 2560/5056 = 0.506, 40x80 2560/4736 = 0.541, 32x96 2048/5120 = 0.4."""
    box = np.array([CENTRE - 32, CENTRE - 32, 64.0, 64.0])
    iou = anchor_iou(box, GEO.anchors())
    np.testing.assert_allclose(iou[:, 12, 12], [2048 / 5376, 2560 / 5056, 1.0, 2560 / 4736, 2048 / 5120])
    np.testing.assert_allclose([iou[2, 12, 13], iou[2, 12, 14], iou[2, 13, 13], iou[2, 13, 14], iou[2, 12, 15]],
                               [3584 / 4608, 0.6, 3136 / 5056, 2688 / 5504, 2560 / 5632])
    labels = assign_targets(box, GEO, LabelConfig(rule="iou", iou_positive=0.6, iou_negative=0.3)).cls
    assert labels.shape == (5, 25, 25)
    positives = {tuple(int(v) for v in p) for p in np.argwhere(labels == POSITIVE)}
    expected = {(2, 12 + dr, 12 + dc) for dr, dc in [(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2),
                                                      (2, 0), (-2, 0), (1, 1), (1, -1), (-1, 1), (-1, -1)]}
    assert positives == expected
    assert (labels[[0, 1, 3, 4], 12, 12] == IGNORE).all() and labels[2, 12, 15] == IGNORE
    assert labels[2, 0, 0] == NEGATIVE and (labels[:, 0, :] == NEGATIVE).all()


def test_centre_distance_labels_all_anchors_of_near_cells():
    """Eq. 6: every anchor of a cell within `radius` strides of the target centre is positive."""
    box = np.array([CENTRE - 10, CENTRE - 30, 20.0, 60.0])  # thin target: no anchor has IoU >= 0.6 with it
    targets = assign_targets(box, GEO, LabelConfig(rule="centre", radius=2.0))
    cells = {(12 + dr, 12 + dc) for dr in range(-2, 3) for dc in range(-2, 3) if dr * dr + dc * dc <= 4}
    assert len(cells) == 13
    for k in range(5):
        assert {tuple(int(v) for v in p) for p in np.argwhere(targets.cls[k] == POSITIVE)} == cells
    assert ((targets.cls == POSITIVE) | (targets.cls == NEGATIVE)).all()  # no ignore band by default
    np.testing.assert_array_equal(targets.reg_weight, targets.cls == POSITIVE)  # regression on positives
    np.testing.assert_allclose(targets.reg[:, 2, 12, 12], [0, 0, math.log(20 / 64), math.log(60 / 64)], atol=1e-6)
    assert (assign_targets(box, GEO, LabelConfig(rule="iou")).cls != POSITIVE).all()
    negative = assign_targets(None, GEO, LabelConfig())
    assert negative.cls.shape == (5, 25, 25) and not negative.cls.any() and not negative.reg_weight.any()


def _batch(targets):
    return {"cls": torch.from_numpy(targets.cls)[None], "reg": torch.from_numpy(targets.reg)[None],
            "reg_weight": torch.from_numpy(targets.reg_weight)[None],
            "centerness": torch.from_numpy(targets.centerness)[None]}


def test_anchor_losses_by_hand():
    box = np.array([CENTRE - 10, CENTRE - 30, 20.0, 60.0])
    batch = _batch(assign_targets(box, GEO, LabelConfig(rule="centre", radius=2.0)))
    loc = batch["reg"].reshape(1, 20, 25, 25).clone()  # perfect offsets (channel i * K + k)
    cls = torch.zeros(1, 10, 25, 25)
    out = HeadOutput(cls=cls, loc=loc, conf=torch.zeros(1, 5, 25, 25))
    cfg = LossConfig(smooth_l1_beta=0.11)
    losses = compute_loss(out, batch, cfg)
    assert losses["reg"].item() == pytest.approx(0.0, abs=1e-7)
    assert losses["cls1"].item() == pytest.approx(math.log(2.0), rel=1e-5)  # uniform logits: CE = log 2
    # dx off by 0.5 on every anchor: smooth-L1 = 0.5 - beta / 2 per positive anchor
    loc[:, 0:5] += 0.5
    assert compute_loss(out._replace(loc=loc), batch, cfg)["reg"].item() == pytest.approx(0.5 - 0.055, rel=1e-5)
    # target logits up at the positives: the CE falls, gradients reach all three outputs
    cls = torch.zeros(1, 10, 25, 25, requires_grad=True)
    conf = torch.zeros(1, 5, 25, 25, requires_grad=True)
    loc = torch.zeros(1, 20, 25, 25, requires_grad=True)
    total = compute_loss(HeadOutput(cls, loc, conf), batch, cfg)["total"]
    total.backward()
    positive = batch["cls"][0] == POSITIVE  # (5, 25, 25)
    assert (cls.grad[0, 5:][positive] < 0).all()  # raising channel K + k (target) lowers the loss there
    assert loc.grad.abs().sum() > 0 and conf.grad.abs().sum() > 0


class FakeAnchorModel(SiameseModel):
    """Every anchor predicts the box ``rel`` (cx, cy, w, h around the crop centre); only anchor ``k`` at cell
    ``cell`` is confident."""

    def __init__(self, rel=(12.0, -6.0, 50.0, 70.0), k=3, cell=(12, 14)):
        super().__init__()
        self.geometry = GEO
        self.rel, self.k, self.cell = rel, k, cell

    def template(self, z):
        return torch.zeros(1, 1, 1, 1)

    def track(self, x, f_z):
        cx, cy, w, h = self.rel
        offsets = anchor_offsets(np.array([cx - w / 2 + CENTRE, cy - h / 2 + CENTRE, w, h]), GEO.anchors())
        cls = torch.full((1, 10, 25, 25), -20.0)
        cls[0, 5 + self.k, self.cell[0], self.cell[1]] = 20.0
        return HeadOutput(cls=cls, loc=torch.from_numpy(offsets).reshape(1, 20, 25, 25), conf=None)


def test_tracker_decodes_the_chosen_anchor():
    model = FakeAnchorModel()
    tracker = Tracker(model, TrackerConfig(lr=1.0, penalty_k=0.0, window_influence=0.0))
    frame = np.random.default_rng(0).integers(0, 255, (400, 500, 3), dtype=np.uint8)
    tracker.init(frame, (200.0, 150.0, 40.0, 60.0))
    box, score = tracker.track(frame)
    scale_z = 127 / context_size(40, 60, 0.5)
    cx, cy = 220 + 12 / scale_z, 180 - 6 / scale_z
    w, h = 50 / scale_z, 70 / scale_z
    np.testing.assert_allclose(box, [cx - w / 2, cy - h / 2, w, h], rtol=1e-6)
    assert score == pytest.approx(1.0) and tracker.last.best_cell == (12, 14)
    assert tracker.last.gate == pytest.approx(2.0)  # the sum gate; no conf branch counts as agreeing


def test_training_sample_has_per_anchor_targets(tmp_path):
    from dastsiam.training.data import TrackSource, TrainingSet

    rng = np.random.default_rng(0)
    frames = []
    for i in range(3):
        path = tmp_path / f"{i}.jpg"
        cv2.imwrite(str(path), rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
        frames.append(str(path))
    source = TrackSource("seq", np.array(frames), np.tile([120.0, 90.0, 60.0, 40.0], (3, 1)), np.arange(3))
    cfg = TrainConfig(model=ModelConfig(arch="r50"), data=[DataSourceConfig(kind="custom", root=Path(tmp_path))])
    sample = TrainingSet([[source]], np.array([1.0]), GEO, cfg, length=2)[0]
    assert sample["cls"].shape == (5, 25, 25) and sample["reg"].shape == (4, 5, 25, 25)
    assert sample["reg_weight"].shape == (5, 25, 25) and (sample["cls"] == POSITIVE).any()
