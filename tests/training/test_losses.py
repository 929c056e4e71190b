"""Each loss on hand-computed values, and the paper's combination L_total = l1 (l L_cls1 + L_cls2) + L_reg."""

import math

import pytest
import torch

from dastsiam.models.base import HeadOutput
from dastsiam.training.config import LossConfig
from dastsiam.training.losses import (
    compute_loss, confidence_loss, cross_entropy_loss, logistic_loss, ltrb_iou, regression_loss,
)


def softplus(v):
    return math.log1p(math.exp(v))


def test_cross_entropy_balances_positives_and_negatives():
    logits = torch.zeros(1, 2, 1, 3)
    logits[0, 1, 0, 0] = 2.0  # positive cell, target logit 2
    logits[0, 0, 0, 1] = 1.0  # negative cell, background logit 1
    logits[0, 1, 0, 2] = 5.0  # ignored cell
    labels = torch.tensor([[[1.0, 0.0, -1.0]]])
    expected = 0.5 * softplus(-2.0) + 0.5 * softplus(-1.0)
    assert cross_entropy_loss(logits, labels).item() == pytest.approx(expected, rel=1e-6)
    assert cross_entropy_loss(logits, labels, positive_share=1.0).item() == pytest.approx(softplus(-2.0), rel=1e-6)


def test_cross_entropy_uniform_logits_is_log2_and_no_positive_is_finite():
    labels = torch.zeros(2, 4, 4)
    labels[0, 1, 1] = 1
    assert cross_entropy_loss(torch.zeros(2, 2, 4, 4), labels).item() == pytest.approx(math.log(2), rel=1e-6)
    logits = torch.zeros(1, 2, 2, 2, requires_grad=True)
    loss = cross_entropy_loss(logits, torch.zeros(1, 2, 2))  # negative pair only
    assert loss.item() == pytest.approx(0.5 * math.log(2), rel=1e-6)
    loss.backward()
    assert logits.grad is not None


def test_logistic_loss_siamfc():
    logits = torch.tensor([[[[3.0, -2.0, 0.0]]]])
    labels = torch.tensor([[[1.0, 0.0, 0.0]]])
    expected = 0.5 * softplus(-3.0) + 0.5 * (softplus(-2.0) + softplus(0.0)) / 2
    assert logistic_loss(logits, labels).item() == pytest.approx(expected, rel=1e-6)


def test_smooth_l1_regression_on_known_values():
    target = torch.full((1, 4, 2, 2), 32.0)
    pred = target.clone()
    pred[0, 0, 0, 0] += 3.2  # 0.05 after /64: quadratic part, 0.5 * 0.05^2 / 0.11
    pred[0, 2, 0, 0] -= 12.8  # 0.2: linear part, 0.2 - 0.055
    pred[0, :, 1, 1] = 0.0  # a cell without regression weight: must not count
    weight = torch.tensor([[[1.0, 1.0], [0.0, 0.0]]])
    per_cell = [0.5 * 0.05**2 / 0.11 + (0.2 - 0.055), 0.0]
    got = regression_loss(pred, target, weight, scale=64.0, beta=0.11)
    assert got.item() == pytest.approx(sum(per_cell) / 2, rel=1e-5)


def test_ltrb_iou_and_confidence_bce():
    pred = torch.ones(1, 4, 1, 1)
    target = torch.full((1, 4, 1, 1), 2.0)
    assert ltrb_iou(pred, target).item() == pytest.approx(0.25)
    # x -1..3, y -1..1 against -2..2 x -2..2: overlap 3 x 2 = 6, union 8 + 16 - 6 = 18
    shifted = torch.tensor([[[[1.0]], [[1.0]], [[3.0]], [[1.0]]]])
    assert ltrb_iou(shifted, target).item() == pytest.approx(6 / 18)
    logits = torch.zeros(1, 1, 1, 2)
    conf_target = torch.tensor([[[0.5, 1.0]]])
    mask = torch.tensor([[[1.0, 0.0]]])
    assert confidence_loss(logits, conf_target, mask).item() == pytest.approx(math.log(2), rel=1e-6)


def test_total_combines_with_lambda_and_lambda1():
    cfg = LossConfig(cls1_weight=2.0, cls_weight=3.0, reg_scale=1.0, smooth_l1_beta=1.0)
    batch = {
        "cls": torch.tensor([[[1.0, 0.0]]]),
        "reg": torch.full((1, 4, 1, 2), 2.0),
        "reg_weight": torch.tensor([[[1.0, 0.0]]]),
        "centerness": torch.tensor([[[1.0, 0.0]]]),
    }
    out = HeadOutput(cls=torch.zeros(1, 2, 1, 2), loc=torch.full((1, 4, 1, 2), 2.5), conf=torch.zeros(1, 1, 1, 2))
    losses = compute_loss(out, batch, cfg)
    cls1, cls2, reg = math.log(2), math.log(2), 4 * 0.5 * 0.25
    assert losses["cls1"].item() == pytest.approx(cls1, rel=1e-6)
    assert losses["cls2"].item() == pytest.approx(cls2, rel=1e-6)
    assert losses["reg"].item() == pytest.approx(reg, rel=1e-6)
    assert losses["total"].item() == pytest.approx(3.0 * (2.0 * cls1 + cls2) + reg, rel=1e-6)
    # SiamFC: one response channel, no box or confidence branch
    fc = compute_loss(HeadOutput(cls=torch.zeros(1, 1, 1, 2)), batch, cfg)
    assert fc["reg"].item() == 0 and fc["total"].item() == pytest.approx(3.0 * 2.0 * math.log(2), rel=1e-6)


def test_confidence_bce_covers_negatives_and_negative_pairs_and_skips_the_ignore_band():
    from dastsiam.training.losses import balanced_confidence_loss

    logits = torch.tensor([[[[2.0, -1.0, 3.0, 7.0]]]])
    labels = torch.tensor([[[1.0, 0.0, 0.0, -1.0]]])  # positive, two negatives, one ignored
    target = torch.ones(1, 1, 4)
    expected = 0.5 * softplus(-2.0) + 0.5 * (softplus(-1.0) + softplus(3.0)) / 2
    got = balanced_confidence_loss(logits, labels, target)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # a negative pair: every cell is 0 -> only the negative half, and gradients push every logit down
    pair = torch.zeros(1, 1, 1, 3, requires_grad=True)
    loss = balanced_confidence_loss(pair, torch.zeros(1, 1, 3), torch.ones(1, 1, 3))
    assert loss.item() == pytest.approx(0.5 * math.log(2), rel=1e-6)
    loss.backward()
    assert (pair.grad > 0).all()


@pytest.mark.parametrize("conf_target,positive_value", [("binary", 1.0), ("centerness", 0.25)])
def test_compute_loss_confidence_defaults_to_all_cells(conf_target, positive_value):
    batch = {
        "cls": torch.tensor([[[1.0, 0.0, -1.0]]]),
        "reg": torch.full((1, 4, 1, 3), 2.0),
        "reg_weight": torch.tensor([[[1.0, 0.0, 0.0]]]),
        "centerness": torch.tensor([[[0.25, 0.0, 0.0]]]),
    }
    conf = torch.tensor([[[[1.0, 2.0, -5.0]]]])
    out = HeadOutput(cls=torch.zeros(1, 2, 1, 3), loc=torch.full((1, 4, 1, 3), 2.0), conf=conf)
    bce_pos = positive_value * softplus(-1.0) + (1 - positive_value) * softplus(1.0)
    expected = 0.5 * bce_pos + 0.5 * softplus(2.0)
    assert compute_loss(out, batch, LossConfig(conf_target=conf_target))["cls2"].item() == pytest.approx(expected, rel=1e-6)
    old = compute_loss(out, batch, LossConfig(conf_target="centerness", conf_cells="positive"))["cls2"].item()
    assert old == pytest.approx(0.25 * softplus(-1.0) + 0.75 * softplus(1.0), rel=1e-6)  # positives only
