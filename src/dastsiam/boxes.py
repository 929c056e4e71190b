"""Box conventions shared by tracking, training and evaluation.

This is the one place the convention is defined:

* A box is ``x, y, w, h`` as float64 (or float32) numbers, **0-based pixels**: ``(x, y)`` is the top-left
  corner of the box, ``w``/``h`` its width and height. A box covering pixel columns 0..9 has ``x=0, w=10``.
* Arrays of boxes have shape ``(N, 4)``; a single box has shape ``(4,)``.
* An absent or unknown target is a row of NaN.
* Benchmarks that store 1-based boxes (OTB, UAV123, LaSOT, GOT-10k) are converted once, in the dataset
  readers, by subtracting 1 from ``x`` and ``y``; result files are written back in the benchmark's own
  convention by the evaluation writers.
* Centre form ``cx, cy, w, h`` uses ``cx = x + w / 2`` (continuous coordinates: the centre of a box that
  covers pixels 0..9 is 5.0, the pixel-centre convention ``(w - 1) / 2`` is *not* used anywhere).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "as_boxes",
    "xywh_to_cxcywh",
    "cxcywh_to_xywh",
    "xywh_to_xyxy",
    "xyxy_to_xywh",
    "polygon_to_xywh",
    "iou",
    "center_distance",
    "clip_box",
    "is_valid_box",
]


def as_boxes(boxes, dtype=np.float64) -> np.ndarray:
    """Return ``boxes`` as an ``(N, 4)`` float array (a single box becomes ``(1, 4)``)."""
    arr = np.asarray(boxes, dtype=dtype)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"expected boxes of shape (N, 4) or (4,), got {arr.shape}")
    return arr


def xywh_to_cxcywh(boxes) -> np.ndarray:
    b = np.array(boxes, dtype=np.float64)
    b[..., 0] += b[..., 2] / 2.0
    b[..., 1] += b[..., 3] / 2.0
    return b


def cxcywh_to_xywh(boxes) -> np.ndarray:
    b = np.array(boxes, dtype=np.float64)
    b[..., 0] -= b[..., 2] / 2.0
    b[..., 1] -= b[..., 3] / 2.0
    return b


def xywh_to_xyxy(boxes) -> np.ndarray:
    b = np.array(boxes, dtype=np.float64)
    b[..., 2] += b[..., 0]
    b[..., 3] += b[..., 1]
    return b


def xyxy_to_xywh(boxes) -> np.ndarray:
    b = np.array(boxes, dtype=np.float64)
    b[..., 2] -= b[..., 0]
    b[..., 3] -= b[..., 1]
    return b


def polygon_to_xywh(polygons) -> np.ndarray:
    """Axis-aligned bounding box of VOT polygons ``x1, y1, ..., x4, y4`` (shape ``(N, 8)`` or ``(8,)``).

    Rows with 4 numbers are taken as boxes already. This is the plain min/max envelope; the area-preserving
    VOT/pysot variant is a tracker-initialisation choice, made in the tracking code, not here.
    """
    p = np.asarray(polygons, dtype=np.float64)
    single = p.ndim == 1
    if single:
        p = p[None, :]
    if p.shape[-1] == 4:
        out = p.copy()
    elif p.shape[-1] == 8:
        xs, ys = p[:, 0::2], p[:, 1::2]
        x0, y0 = xs.min(axis=1), ys.min(axis=1)
        out = np.stack([x0, y0, xs.max(axis=1) - x0, ys.max(axis=1) - y0], axis=1)
    else:
        raise ValueError(f"a polygon has 8 numbers (or a box 4), got {p.shape[-1]}")
    return out[0] if single else out


def iou(a, b) -> np.ndarray:
    """Intersection over union of paired ``x, y, w, h`` boxes (continuous-area definition, no ``+1``).

    Broadcasts like NumPy. Pairs where either box is NaN or has a non-positive union give 0.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ix = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    iy = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.clip(ix, 0, None) * np.clip(iy, 0, None)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return np.nan_to_num(out, nan=0.0)


def center_distance(a, b) -> np.ndarray:
    """Euclidean distance between the centres of paired ``x, y, w, h`` boxes."""
    ca = xywh_to_cxcywh(a)
    cb = xywh_to_cxcywh(b)
    return np.hypot(ca[..., 0] - cb[..., 0], ca[..., 1] - cb[..., 1])


def clip_box(box, width: int, height: int, min_size: float = 1.0) -> np.ndarray:
    """Clip an ``x, y, w, h`` box to an image of ``width`` x ``height``, keeping at least ``min_size``."""
    x0, y0, w, h = np.asarray(box, dtype=np.float64)
    x1, y1 = x0 + w, y0 + h
    x0 = min(max(x0, 0.0), width - min_size)
    y0 = min(max(y0, 0.0), height - min_size)
    x1 = min(max(x1, x0 + min_size), float(width))
    y1 = min(max(y1, y0 + min_size), float(height))
    return np.array([x0, y0, x1 - x0, y1 - y0])


def is_valid_box(box) -> bool:
    """True for a finite box with positive width and height."""
    b = np.asarray(box, dtype=np.float64)
    return bool(b.shape == (4,) and np.all(np.isfinite(b)) and b[2] > 0 and b[3] > 0)
