"""Training losses (paper Sec. 2.3, eq. 7): ``L_cls = lambda * L_cls1 + L_cls2`` and ``L_total = lambda1 * L_cls + L_reg``.

* ``L_cls1``: 2-way cross-entropy on the classification map, positives and negatives averaged separately
  (SiamRPN++'s ``select_cross_entropy_loss``) so the few positive cells are not drowned by the negatives.
* ``L_cls2``: the confidence branch's binary cross-entropy (FCOS's classification loss, paper Sec. 2.3
  "Loss function"): over every labelled cell, target 1 at positives (or their centerness / predicted-box IoU,
  ``loss.conf_target``), 0 at negatives and over the whole map of a negative pair; the ignore band is left
  out; positives and negatives averaged separately (``loss.conf_positive_share``). So the branch whose
  sigmoid gates the template update learns that background and distractors are not the target.
  ``loss.conf_cells: positive`` restores the old centerness-on-positives-only regression.
* ``L_reg``: smooth-L1 on the left/top/right/bottom distances, over the regression cells.
* SiamFC (one response channel, no box branch): the balanced logistic loss of SiamFC replaces ``L_cls1``.

Terms with nothing to average over return ``0 * (sum of the prediction)`` so every parameter stays in the
autograd graph (DistributedDataParallel needs each replica to produce the same set of gradients).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dastsiam.models.base import HeadOutput
from dastsiam.training.config import LossConfig


def _masked_mean(values: torch.Tensor, mask: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
    count = mask.sum()
    if count == 0:
        return anchor.sum() * 0.0
    return (values * mask).sum() / count


def cross_entropy_loss(logits: torch.Tensor, labels: torch.Tensor, positive_share: float = 0.5) -> torch.Tensor:
    """2-way CE; ``logits (B, 2, S, S)`` (channel 1 = target), ``labels (B, S, S)`` in {1, 0, -1}."""
    log_p = F.log_softmax(logits.float(), dim=1)
    pos = (labels == 1).float()
    neg = (labels == 0).float()
    return positive_share * _masked_mean(-log_p[:, 1], pos, logits) + (1 - positive_share) * _masked_mean(
        -log_p[:, 0], neg, logits
    )


def logistic_loss(logits: torch.Tensor, labels: torch.Tensor, positive_share: float = 0.5) -> torch.Tensor:
    """SiamFC's balanced logistic loss; ``logits (B, 1, S, S)``, ``labels (B, S, S)`` in {1, 0, -1}."""
    logits = logits.float()[:, 0]
    pos = (labels == 1).float()
    neg = (labels == 0).float()
    # log(1 + exp(-v)) for positives, log(1 + exp(v)) for negatives
    return positive_share * _masked_mean(F.softplus(-logits), pos, logits) + (1 - positive_share) * _masked_mean(
        F.softplus(logits), neg, logits
    )


def regression_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, scale: float = 64.0,
                    beta: float = 0.11) -> torch.Tensor:
    """Smooth-L1 on ``ltrb / scale`` summed over the 4 sides, averaged over cells with ``weight`` 1."""
    per_side = F.smooth_l1_loss(pred.float() / scale, target.float() / scale, reduction="none", beta=beta)
    return _masked_mean(per_side.sum(dim=1), weight.float(), pred)


def ltrb_iou(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """IoU of boxes given as ltrb distances from the same point: ``(B, 4, S, S) -> (B, S, S)``."""
    pred = pred.float().clamp(min=0)
    target = target.float().clamp(min=0)
    inter_w = torch.minimum(pred[:, 0], target[:, 0]) + torch.minimum(pred[:, 2], target[:, 2])
    inter_h = torch.minimum(pred[:, 1], target[:, 1]) + torch.minimum(pred[:, 3], target[:, 3])
    inter = inter_w.clamp(min=0) * inter_h.clamp(min=0)
    area_p = (pred[:, 0] + pred[:, 2]) * (pred[:, 1] + pred[:, 3])
    area_t = (target[:, 0] + target[:, 2]) * (target[:, 1] + target[:, 3])
    return inter / (area_p + area_t - inter).clamp(min=1e-6)


def confidence_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """BCE of ``logits (B, 1, S, S)`` against ``target (B, S, S)`` in [0, 1], averaged over ``mask``."""
    bce = F.binary_cross_entropy_with_logits(logits.float()[:, 0], target.float(), reduction="none")
    return _masked_mean(bce, mask.float(), logits)


def balanced_confidence_loss(logits: torch.Tensor, labels: torch.Tensor, positive_target: torch.Tensor,
                             positive_share: float = 0.5) -> torch.Tensor:
    """``L_cls2`` over all labelled cells: BCE against ``positive_target`` (in [0, 1]) at cells labelled 1 and
    against 0 at cells labelled 0 (``labels (B, S, S)`` in {1, 0, -1}; -1 = ignored), the two averaged
    separately and mixed ``positive_share : 1 - positive_share`` (as :func:`cross_entropy_loss` does)."""
    pos = (labels == 1).float()
    neg = (labels == 0).float()
    values = logits.float()[:, 0]
    pos_bce = F.binary_cross_entropy_with_logits(values, positive_target.float(), reduction="none")
    neg_bce = F.softplus(values)  # BCE against 0
    return positive_share * _masked_mean(pos_bce, pos, logits) + (1 - positive_share) * _masked_mean(
        neg_bce, neg, logits)


def compute_loss(output: HeadOutput, batch: dict[str, torch.Tensor], cfg: LossConfig) -> dict[str, torch.Tensor]:
    """All loss terms for a batch with keys ``cls``, ``reg``, ``reg_weight``, ``centerness`` (see labels.py)."""
    if batch["cls"].dim() == 4:  # (B, K, S, S): an anchor head
        return compute_anchor_loss(output, batch, cfg)
    labels = batch["cls"]
    if output.cls.shape[1] == 1:  # SiamFC
        cls1 = logistic_loss(output.cls, labels, cfg.positive_share)
    else:
        cls1 = cross_entropy_loss(output.cls, labels, cfg.positive_share)
    zero = output.cls.sum() * 0.0
    reg = zero
    if output.loc is not None:
        reg = regression_loss(output.loc, batch["reg"], batch["reg_weight"], cfg.reg_scale, cfg.smooth_l1_beta)
    cls2 = zero
    if output.conf is not None:
        if cfg.conf_target == "iou" and output.loc is not None:
            target = ltrb_iou(output.loc.detach(), batch["reg"]) * (batch["centerness"] > 0)
        elif cfg.conf_target == "centerness" or (cfg.conf_target == "iou" and output.loc is None):
            target = batch["centerness"]
        else:  # binary
            target = torch.ones_like(batch["centerness"])
        if cfg.conf_cells == "positive":
            cls2 = confidence_loss(output.conf, target, batch["reg_weight"])
        else:
            cls2 = balanced_confidence_loss(output.conf, labels, target, cfg.conf_positive_share)
    cls = cfg.cls1_weight * cls1 + cls2
    total = cfg.cls_weight * cls + cfg.reg_weight * reg
    return {"total": total, "cls": cls, "cls1": cls1, "cls2": cls2, "reg": reg}


# ----------------------------------------------------------------------------- anchor head (arch r50, head: anchor)
def flatten_anchors(t: torch.Tensor, groups: int) -> torch.Tensor:
    """``(B, groups * K, S, S)`` (pysot's channel order: group-major) -> ``(B, groups, K * S, S)``: the K anchor
    maps stacked along the rows, so the per-cell losses above apply to anchors unchanged."""
    b, c, h, w = t.shape
    return t.reshape(b, groups, (c // groups) * h, w)


def anchor_regression_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                           beta: float = 0.11) -> torch.Tensor:
    """Smooth-L1 (SiamRPN, paper Sec. 2.3) on the normalised offsets ``dx, dy, dw, dh``, summed over the four,
    averaged over the anchors with ``weight`` 1. ``pred (B, 4K, S, S)``; ``target (B, 4, K, S, S)``;
    ``weight (B, K, S, S)``."""
    b, k = weight.shape[:2]
    pred = pred.float().reshape(b, 4, k, *pred.shape[-2:])
    per_coord = F.smooth_l1_loss(pred, target.float(), reduction="none", beta=beta)
    return _masked_mean(per_coord.sum(dim=1), weight.float(), pred)


def compute_anchor_loss(output: HeadOutput, batch: dict[str, torch.Tensor], cfg: LossConfig) -> dict[str, torch.Tensor]:
    """:func:`compute_loss` for an anchor head (labels ``(B, K, S, S)``): ``L_cls1`` and ``L_cls2`` are the
    per-cell terms over every anchor (the anchor maps stacked, :func:`flatten_anchors`), ``L_reg`` is
    :func:`anchor_regression_loss`; eq. 7 combines them as for the anchor-free head."""
    flat_batch = dict(batch)
    for key in ("cls", "reg_weight", "centerness"):
        flat_batch[key] = batch[key].reshape(batch[key].shape[0], -1, batch[key].shape[-1])
    flat_batch["reg"] = torch.zeros_like(flat_batch["centerness"])[:, None].expand(-1, 4, -1, -1)
    flat = HeadOutput(cls=flatten_anchors(output.cls, 2),
                      conf=None if output.conf is None else flatten_anchors(output.conf, 1))
    losses = compute_loss(flat, flat_batch, cfg)  # loc None: no ltrb regression, conf targets without IoU
    reg = anchor_regression_loss(output.loc, batch["reg"], batch["reg_weight"], cfg.smooth_l1_beta)
    losses["reg"] = reg
    losses["total"] = cfg.cls_weight * losses["cls"] + cfg.reg_weight * reg
    return losses
