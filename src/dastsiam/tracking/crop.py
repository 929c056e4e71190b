"""Square crops around the target with mean-colour padding (pysot's ``get_subwindow``, parameterised).

A crop of side ``original_size`` image pixels, centred on the target, is cut out of the frame, padded with
the frame's mean colour where it leaves the frame, and resized to ``output_size`` (bilinear, OpenCV's
``cv2.resize`` default). Two integer conventions exist in public code and both are kept, because the
tracker reproduces OpenCV's NanoTrack exactly with one of them:

``"pysot"`` (pysot / SiamTrackers ``get_subwindow``)
    side ``round(original_size)``; ``c = (side + 1) / 2`` (float);
    ``xmin = floor(cx - c + 0.5)``; padding value ``mean(frame)`` per channel.
``"opencv"`` (OpenCV ``TrackerNanoImpl::getSubwindow``)
    side ``int(original_size)`` (truncated); ``c = (side + 1) // 2``; ``xmin = int(cx) - c``
    (C truncation towards zero).

In both the crop covers image pixels ``xmin .. xmin + side - 1``. Only the part of the frame the crop needs is
copied and padded (not the whole frame as the reference code does); the pixels are the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

Rounding = Literal["pysot", "opencv"]

__all__ = ["CropWindow", "crop_window", "get_subwindow", "context_size"]


@dataclass(frozen=True)
class CropWindow:
    """Where a crop came from: image pixels ``x0 .. x0 + side - 1`` (and the same for ``y``)."""

    x0: int
    y0: int
    side: int
    output_size: int

    @property
    def scale(self) -> float:
        """Crop pixels per image pixel."""
        return self.output_size / self.side


def _trunc(value: float) -> int:
    return int(value)  # Python's int() truncates towards zero, as a C cast does


def crop_window(center_xy, original_size: float, output_size: int, rounding: Rounding = "pysot") -> CropWindow:
    """Integer placement of a crop of ``original_size`` image pixels centred on ``center_xy``."""
    cx, cy = float(center_xy[0]), float(center_xy[1])
    if rounding == "pysot":
        side = max(1, int(round(original_size)))
        c = (side + 1) / 2.0
        x0 = int(math.floor(cx - c + 0.5))
        y0 = int(math.floor(cy - c + 0.5))
    elif rounding == "opencv":
        side = max(1, _trunc(original_size))
        c = (side + 1) // 2
        x0 = _trunc(cx) - c
        y0 = _trunc(cy) - c
    else:
        raise ValueError(f"unknown crop rounding {rounding!r} (use 'pysot' or 'opencv')")
    return CropWindow(x0, y0, side, int(output_size))


def get_subwindow(
    image: np.ndarray,
    center_xy,
    original_size: float,
    output_size: int,
    pad_value=None,
    rounding: Rounding = "pysot",
) -> tuple[np.ndarray, CropWindow]:
    """``(crop, window)``: the ``output_size`` x ``output_size`` uint8 crop (same channels as ``image``).

    ``pad_value`` is the per-channel fill for pixels outside the frame; ``None`` computes the frame's mean
    colour (``cv2.mean``), as both reference implementations do.
    """
    window = crop_window(center_xy, original_size, output_size, rounding)
    height, width = image.shape[:2]
    x0, y0, side = window.x0, window.y0, window.side
    x1, y1 = x0 + side, y0 + side  # exclusive
    left, top = max(0, -x0), max(0, -y0)
    right, bottom = max(0, x1 - width), max(0, y1 - height)
    if left or top or right or bottom:
        if pad_value is None:
            pad_value = cv2.mean(image)[:3]
        inner = image[max(y0, 0):min(y1, height), max(x0, 0):min(x1, width)]
        if inner.size == 0:  # crop entirely outside the frame: all padding
            channels = image.shape[2] if image.ndim == 3 else 1
            patch = np.empty((side, side, channels), dtype=image.dtype)
            patch[:] = np.round(np.asarray(pad_value[:channels], dtype=np.float64)).astype(image.dtype)
            if image.ndim == 2:
                patch = patch[..., 0]
        else:
            fill = [float(v) for v in pad_value] + [0.0] * (4 - len(pad_value))
            patch = cv2.copyMakeBorder(inner, top, bottom, left, right, cv2.BORDER_CONSTANT, value=fill)
    else:
        patch = image[y0:y1, x0:x1]
    if side != output_size:
        patch = cv2.resize(patch, (output_size, output_size))
    return np.ascontiguousarray(patch), window


def context_size(width: float, height: float, context_amount: float, truncate_sum: bool = False) -> float:
    """Side of the square exemplar region: ``sqrt((w + p) * (h + p))`` with ``p = context_amount * (w + h)``.

    ``truncate_sum`` reproduces OpenCV NanoTrack's ``update()``, which truncates ``w + h`` to an integer first.
    """
    total = float(int(width + height)) if truncate_sum else width + height
    pad = context_amount * total
    return math.sqrt(max((width + pad) * (height + pad), 1e-12))
