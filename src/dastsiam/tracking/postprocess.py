"""Score maps, penalties and box decoding from a :class:`~dastsiam.models.HeadOutput` (NumPy, one frame).

All maps are ``(S, S)`` arrays indexed ``[row, col]``; crop coordinates are pixels of the search crop.
"""

from __future__ import annotations

import cv2
import numpy as np

from dastsiam.models.geometry import OutputGeometry

__all__ = [
    "cosine_window",
    "softmax_target",
    "sigmoid",
    "score_map",
    "gate_value",
    "GATE_MODES",
    "cell_points",
    "decode_ltrb",
    "anchor_points",
    "decode_anchor_offsets",
    "change",
    "size_measure",
    "scale_aspect_penalty",
    "apply_window",
]


def cosine_window(size: int, kind: str = "outer") -> np.ndarray:
    """The cosine window over a ``size`` x ``size`` map, from the Hann window ``h(n) = 0.5 (1 - cos(2 pi n / (size - 1)))``.

    ``"outer"``: ``h(i) h(j)`` (pysot, SiamFC: ``np.outer(np.hanning(S), np.hanning(S))``).
    ``"sqrt"``: ``sqrt(h(i) h(j))``, what ``cv2.createHanningWindow`` (used by OpenCV's TrackerNano) computes.
    """
    if size == 1:
        return np.ones((1, 1), dtype=np.float64)
    if kind == "sqrt":
        return cv2.createHanningWindow((size, size), cv2.CV_64F)
    if kind == "outer":
        hann = np.hanning(size)
        return np.outer(hann, hann)
    raise ValueError(f"unknown window kind {kind!r} (use 'outer' or 'sqrt')")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))  # overflow-free logistic


def softmax_target(cls: np.ndarray, num_anchors: int = 0) -> np.ndarray:
    """Target probability from ``(2, S, S)`` logits (channel 1 = target), or sigmoid of ``(1, S, S)`` logits.

    ``num_anchors = K > 0``: ``(2K, S, S)`` anchor logits (channel ``c * K + k``) -> ``(K, S, S)``.
    """
    cls = np.asarray(cls, dtype=np.float64)
    if num_anchors:
        cls = cls.reshape((2, num_anchors) + cls.shape[-2:])
    elif cls.shape[0] == 1:
        return sigmoid(cls[0])
    shifted = cls - cls.max(axis=0, keepdims=True)
    e = np.exp(shifted)
    return e[1] / e.sum(axis=0)


GATE_MODES = ("sum", "weighted", "cls", "conf", "response_max")


def score_map(cls: np.ndarray, conf: np.ndarray | None, mode: str, weight: float = 0.5,
              weights: tuple[float, float] = (1.0, 1.0), num_anchors: int = 0) -> np.ndarray:
    """The ``[0, 1]`` map that picks the target cell (before penalty and window); see :func:`gate_value`.

    With ``p = softmax(cls)[target]`` and ``q = sigmoid(conf)``:
    ``"sum"``: ``(w_cls p + w_conf q) / (w_cls + w_conf)`` with ``(w_cls, w_conf) = weights`` (the paper's
    weighted sum, normalised so that penalties, window and size smoothing keep their SiamRPN meaning);
    ``"weighted"``: ``weight p + (1 - weight) q``; ``"conf"``: ``q``; ``"cls"`` and ``"response_max"``: ``p``.
    Without a conf branch every mode uses ``p`` (a missing branch counts as agreeing with the other).
    An anchor head (``num_anchors = K``: ``cls (2K, S, S)``, ``conf (K, S, S)``) gives ``(K, S, S)`` maps.
    """
    p_cls = softmax_target(cls, num_anchors)
    if conf is None or mode in ("cls", "response_max"):
        if mode not in GATE_MODES:
            raise ValueError(f"unknown confidence mode {mode!r}")
        return p_cls
    p_conf = sigmoid(np.asarray(conf) if num_anchors else np.asarray(conf)[0])
    if mode == "conf":
        return p_conf
    if mode == "weighted":
        return weight * p_cls + (1.0 - weight) * p_conf
    if mode == "sum":
        w_cls, w_conf = weights
        return (w_cls * p_cls + w_conf * p_conf) / (w_cls + w_conf)
    raise ValueError(f"unknown confidence mode {mode!r}")


def gate_value(score: np.ndarray, index: tuple[int, ...], mode: str, weights: tuple[float, float] = (1.0, 1.0)) -> float:
    """The number compared with ``TrackerConfig.update_threshold`` (paper Sec. 2.3 "Inference" and Sec. 3.1).

    ``score`` is :func:`score_map`'s map and ``index`` the chosen cell, ``(row, col)`` (or ``(anchor, row, col)``). ``"sum"``: the paper's weighted
    **sum** ``w_cls p + w_conf q`` at the cell (range ``[0, w_cls + w_conf]``, ``[0, 2]`` for the default
    weights 1 and 1; threshold 1.18); ``"response_max"``: the maximum of the classification map (SiamFC's
    raw response maximum is handled by the tracker's SiamFC decoding); every other mode: the map at the cell.
    NaN counts as 0.
    """
    if mode == "response_max":
        value = float(np.nanmax(score)) if np.isfinite(score).any() else 0.0
    else:
        value = float(score[tuple(index)])
        if mode == "sum":
            value *= weights[0] + weights[1]
    return float(np.nan_to_num(value, nan=0.0))


def cell_points(geometry: OutputGeometry, grid: str = "geometry", score_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(xs, ys)`` of every cell **relative to the search-crop centre**, in crop pixels.

    ``"geometry"``: :meth:`OutputGeometry.cell_centers` minus ``instance_size / 2``.
    ``"opencv"``: OpenCV NanoTrack's ``(j - S // 2) * stride`` (its grid starts at crop pixel
    ``instance_size // 2`` and so does its crop centre, so only the difference matters).
    ``score_size`` overrides the geometry's (the map actually returned by the head decides).
    """
    size = score_size or geometry.score_size
    if grid == "opencv":
        coords = (np.arange(size, dtype=np.float64) - size // 2) * geometry.stride
    elif grid == "geometry":
        offset = geometry.offset if size == geometry.score_size else (
            geometry.instance_size / 2.0 - (size - 1) / 2.0 * geometry.stride)
        coords = offset + np.arange(size, dtype=np.float64) * geometry.stride - geometry.instance_size / 2.0
    else:
        raise ValueError(f"unknown grid {grid!r}")
    xs, ys = np.meshgrid(coords, coords)
    return xs, ys


def decode_ltrb(loc: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(cx, cy, w, h)`` maps of boxes from ``(4, S, S)`` distances left, top, right, bottom to each cell point."""
    loc = np.asarray(loc, dtype=np.float64)
    x1, y1 = xs - loc[0], ys - loc[1]
    x2, y2 = xs + loc[2], ys + loc[3]
    return (x1 + x2) / 2.0, (y1 + y2) / 2.0, x2 - x1, y2 - y1


def change(r: np.ndarray) -> np.ndarray:
    """``max(r, 1 / r)``: 1 for no change, growing with the change either way."""
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.maximum(r, 1.0 / r)


def size_measure(w, h) -> np.ndarray:
    """``sqrt((w + p)(h + p))``, ``p = (w + h) / 2`` (the SiamRPN scale measure)."""
    w = np.asarray(w, dtype=np.float64)
    h = np.asarray(h, dtype=np.float64)
    pad = (w + h) * 0.5
    return np.sqrt(np.maximum((w + pad) * (h + pad), 0.0))


def scale_aspect_penalty(pred_w, pred_h, ref_w: float, ref_h: float, penalty_k: float,
                         ref_size: float | None = None) -> np.ndarray:
    """SiamRPN's penalty ``exp(-(change(r) * change(s) - 1) * k)``.

    ``s = size_measure(pred) / size_measure(ref)`` and ``r = (ref_w / ref_h) / (pred_w / pred_h)``; ``ref_size``
    replaces ``size_measure(ref)`` (OpenCV NanoTrack passes ``size_measure(cx, cy)`` there).
    Degenerate predictions (non-positive sides) get the largest penalty rather than NaN.
    """
    pred_w = np.maximum(np.asarray(pred_w, dtype=np.float64), 1e-6)
    pred_h = np.maximum(np.asarray(pred_h, dtype=np.float64), 1e-6)
    reference = size_measure(ref_w, ref_h) if ref_size is None else ref_size
    s_c = change(size_measure(pred_w, pred_h) / max(float(reference), 1e-6))
    r_c = change((ref_w / max(ref_h, 1e-6)) / (pred_w / pred_h))
    penalty = np.exp(-(r_c * s_c - 1.0) * penalty_k)
    return np.nan_to_num(penalty, nan=0.0, posinf=0.0)


def apply_window(score: np.ndarray, window: np.ndarray, influence: float) -> np.ndarray:
    """``(1 - influence) * score + influence * window``, with NaN scores treated as the lowest."""
    out = score * (1.0 - influence) + window * influence
    return np.nan_to_num(out, nan=-np.inf)


def anchor_points(geometry: OutputGeometry, grid: str = "geometry", score_size: int | None = None) -> np.ndarray:
    """``(4, K, S, S)`` anchors ``cx, cy, w, h`` with centres **relative to the search-crop centre** (the cell
    points of :func:`cell_points`) and SiamRPN's shapes (:meth:`OutputGeometry.anchor_sizes`)."""
    xs, ys = cell_points(geometry, grid, score_size)
    sizes = geometry.anchor_sizes()
    out = np.empty((4, len(sizes)) + xs.shape, dtype=np.float64)
    out[0], out[1] = xs[None], ys[None]
    out[2] = sizes[:, 0, None, None]
    out[3] = sizes[:, 1, None, None]
    return out


def decode_anchor_offsets(loc: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(cx, cy, w, h)`` maps ``(K, S, S)`` from SiamRPN's normalised offsets (``loc (4K, S, S)``, channel
    ``i * K + k``, or ``(4, K, S, S)``) on ``anchors (4, K, S, S)``: ``cx = ax + dx aw, cy = ay + dy ah,
    w = aw exp(dw), h = ah exp(dh)`` (the inverse of :func:`dastsiam.training.labels.anchor_offsets`)."""
    ax, ay, aw, ah = anchors
    d = np.asarray(loc, dtype=np.float64).reshape((4,) + ax.shape)
    with np.errstate(over="ignore"):
        return ax + d[0] * aw, ay + d[1] * ah, aw * np.exp(d[2]), ah * np.exp(d[3])
