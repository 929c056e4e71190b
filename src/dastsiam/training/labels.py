"""Label assignment on the output grid (paper eq. 6 and the IoU ablation).

Every rule reads the cell -> crop-pixel mapping from :class:`dastsiam.models.geometry.OutputGeometry`
(``cell_centers``), the same numbers the tracker decodes with, so a box drawn in a search crop and the cells
called positive for it can never disagree between training and tracking.

Boxes are ``x, y, w, h`` in continuous search-crop pixel coordinates (:mod:`dastsiam.boxes`). Label values:
``1`` positive, ``0`` negative, ``-1`` ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dastsiam.models.geometry import OutputGeometry
from dastsiam.training.config import LabelConfig

POSITIVE, NEGATIVE, IGNORE = 1, 0, -1


@dataclass
class Targets:
    """Per-sample training targets over the ``S x S`` grid (numpy, float32)."""

    cls: np.ndarray  # (S, S): 1 / 0 / -1
    reg: np.ndarray  # (4, S, S): left, top, right, bottom distances from each cell's point to the box edges
    reg_weight: np.ndarray  # (S, S): 1 where the regression (and, by default, confidence) loss applies
    centerness: np.ndarray  # (S, S): FCOS centerness inside the box, 0 outside


def ltrb_targets(box: np.ndarray, geometry: OutputGeometry) -> np.ndarray:
    """``(4, S, S)`` distances from every cell point to the left, top, right and bottom box edges."""
    xs, ys = geometry.cell_centers()
    x, y, w, h = (float(v) for v in box)
    return np.stack([xs - x, ys - y, x + w - xs, y + h - ys]).astype(np.float32)


def centerness_of(ltrb: np.ndarray) -> np.ndarray:
    """FCOS centerness ``sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b))``; 0 where the point is outside the box."""
    left, top, right, bottom = ltrb
    inside = (ltrb > 0).all(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.sqrt(
            np.minimum(left, right) / np.maximum(left, right) * np.minimum(top, bottom) / np.maximum(top, bottom)
        )
    return np.where(inside, value, 0.0).astype(np.float32)


def centre_rule(box: np.ndarray, geometry: OutputGeometry, radius: float, ignore_radius: float = 0.0) -> np.ndarray:
    """Eq. 6: a cell is positive when its crop point lies within ``radius`` strides of the box centre.

    Cells farther than ``radius`` but within ``ignore_radius`` strides are ignored; the rest are negative.
    """
    xs, ys = geometry.cell_centers()
    x, y, w, h = (float(v) for v in box)
    distance = np.hypot(xs - (x + w / 2.0), ys - (y + h / 2.0)) / geometry.stride
    labels = np.full(distance.shape, NEGATIVE, dtype=np.float32)
    labels[distance <= max(ignore_radius, radius)] = IGNORE
    labels[distance <= radius] = POSITIVE
    return labels


def ellipse_rule(box: np.ndarray, geometry: OutputGeometry, scale: float = 0.5) -> np.ndarray:
    """Positive inside the ellipse with half-axes ``scale * (w/2, h/2)`` around the box centre, negative outside
    the box-inscribed ellipse (half-axes ``w/2, h/2``), ignored in between (SiamBAN's assignment)."""
    xs, ys = geometry.cell_centers()
    x, y, w, h = (float(v) for v in box)
    norm = ((xs - (x + w / 2.0)) / (w / 2.0)) ** 2 + ((ys - (y + h / 2.0)) / (h / 2.0)) ** 2
    labels = np.full(norm.shape, NEGATIVE, dtype=np.float32)
    labels[norm <= 1.0] = IGNORE
    labels[norm <= scale**2] = POSITIVE
    return labels


def iou_rule(box: np.ndarray, geometry: OutputGeometry, positive: float = 0.6, negative: float = 0.3) -> np.ndarray:
    """The IoU ablation for an anchor-free head: each cell carries a box of the target's size centred on its
    crop point (a per-cell anchor of the target's shape); IoU >= ``positive`` is positive, < ``negative``
    negative, in between ignored. For a shift ``(dx, dy)`` the overlap is ``(w-|dx|)(h-|dy|)``."""
    xs, ys = geometry.cell_centers()
    x, y, w, h = (float(v) for v in box)
    overlap_w = np.clip(w - np.abs(xs - (x + w / 2.0)), 0.0, None)
    overlap_h = np.clip(h - np.abs(ys - (y + h / 2.0)), 0.0, None)
    inter = overlap_w * overlap_h
    iou = inter / (2.0 * w * h - inter)
    labels = np.full(iou.shape, IGNORE, dtype=np.float32)
    labels[iou < negative] = NEGATIVE
    labels[iou >= positive] = POSITIVE
    return labels


def assign_targets(box: np.ndarray | None, geometry: OutputGeometry, cfg: LabelConfig) -> Targets:
    """All targets for one search crop; ``box=None`` is a negative pair (every cell negative, no regression).
    A geometry with anchors gets per-anchor targets (:func:`assign_anchor_targets`)."""
    if geometry.num_anchors:
        return assign_anchor_targets(box, geometry, cfg)
    size = geometry.score_size
    if box is None:
        zeros = np.zeros((size, size), dtype=np.float32)
        return Targets(zeros.copy(), np.zeros((4, size, size), np.float32), zeros.copy(), zeros.copy())
    if cfg.rule == "centre":
        cls = centre_rule(box, geometry, cfg.radius, cfg.ignore_radius)
    elif cfg.rule == "ellipse":
        cls = ellipse_rule(box, geometry, cfg.ellipse_scale)
    else:
        cls = iou_rule(box, geometry, cfg.iou_positive, cfg.iou_negative)
    reg = ltrb_targets(box, geometry)
    inside = (reg > 0).all(axis=0)
    # a positive cell outside the box (possible for tiny targets) has no meaningful ltrb target
    cells = inside & (cls == POSITIVE) if cfg.reg_cells == "positive" else inside
    return Targets(cls, reg, cells.astype(np.float32), centerness_of(reg))


# ----------------------------------------------------------------------------- anchor head (arch r50, head: anchor)
# Same rules, per anchor: label arrays are (K, S, S) and the regression target (4, K, S, S), K anchor shapes
# per cell (OutputGeometry.anchors()). The paper keeps SiamRPN's anchors and changes only the assignment
# (Sec. 2.3, eq. 6; eq. 5 is DA): every anchor of a cell whose point lies within `radius` strides of the target centre
# is positive; the IoU rule (anchor-vs-target IoU >= 0.6 positive, < 0.3 negative) is SiamRPN's, the ablation.


def anchor_offsets(box: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """SiamRPN's normalised regression target ``(4, K, S, S)`` of ``box`` (``x, y, w, h``) for ``anchors``
    (``(4, K, S, S)`` ``cx, cy, w, h``): ``dx = (gx - ax) / aw, dy = (gy - ay) / ah, dw = log(gw / aw),
    dh = log(gh / ah)``. Decoding: :func:`dastsiam.tracking.postprocess.decode_anchor_offsets`."""
    x, y, w, h = (float(v) for v in box)
    gx, gy = x + w / 2.0, y + h / 2.0
    ax, ay, aw, ah = anchors
    return np.stack([(gx - ax) / aw, (gy - ay) / ah, np.log(w / aw), np.log(h / ah)]).astype(np.float32)


def anchor_iou(box: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """``(K, S, S)`` IoU of every anchor box with ``box`` (continuous coordinates, no +1)."""
    x, y, w, h = (float(v) for v in box)
    ax, ay, aw, ah = anchors
    inter_w = np.clip(np.minimum(x + w, ax + aw / 2.0) - np.maximum(x, ax - aw / 2.0), 0.0, None)
    inter_h = np.clip(np.minimum(y + h, ay + ah / 2.0) - np.maximum(y, ay - ah / 2.0), 0.0, None)
    inter = inter_w * inter_h
    return inter / (w * h + aw * ah - inter)


def anchor_iou_rule(box: np.ndarray, geometry: OutputGeometry, positive: float = 0.6, negative: float = 0.3) -> np.ndarray:
    """SiamRPN's assignment (the Table 3 ablation): IoU >= ``positive`` positive, < ``negative`` negative,
    in between ignored. (SiamRPN also caps the sampled positives / negatives at 16 / 64; our CE averages the
    two sets separately instead, as for every other rule.)"""
    iou = anchor_iou(box, geometry.anchors())
    labels = np.full(iou.shape, IGNORE, dtype=np.float32)
    labels[iou < negative] = NEGATIVE
    labels[iou >= positive] = POSITIVE
    return labels


def assign_anchor_targets(box: np.ndarray | None, geometry: OutputGeometry, cfg: LabelConfig) -> Targets:
    """All targets of one search crop for an anchor head: ``cls``, ``reg_weight``, ``centerness`` ``(K, S, S)``,
    ``reg`` ``(4, K, S, S)`` normalised offsets. ``centre`` / ``ellipse`` label a cell and all its anchors
    (eq. 6 measures the distance from the anchors' shared centre); ``iou`` labels each anchor by its IoU.
    Regression: positive anchors (``reg_cells: positive``, SiamRPN) or every anchor whose centre is inside
    the box (``inside_box``). ``centerness`` is the FCOS centerness of the anchor's centre (the confidence
    target where ``loss.conf_target`` asks for it)."""
    k, s = geometry.num_anchors, geometry.score_size
    if box is None:
        zeros = np.zeros((k, s, s), dtype=np.float32)
        return Targets(zeros.copy(), np.zeros((4, k, s, s), np.float32), zeros.copy(), zeros.copy())
    if cfg.rule == "iou":
        cls = anchor_iou_rule(box, geometry, cfg.iou_positive, cfg.iou_negative)
    else:
        per_cell = centre_rule(box, geometry, cfg.radius, cfg.ignore_radius) if cfg.rule == "centre" \
            else ellipse_rule(box, geometry, cfg.ellipse_scale)
        cls = np.repeat(per_cell[None], k, axis=0)
    ltrb = ltrb_targets(box, geometry)
    inside = np.repeat((ltrb > 0).all(axis=0)[None], k, axis=0)
    cells = (cls == POSITIVE) if cfg.reg_cells == "positive" else inside
    centerness = np.repeat(centerness_of(ltrb)[None], k, axis=0)
    return Targets(cls, anchor_offsets(box, geometry.anchors()), cells.astype(np.float32), centerness)
