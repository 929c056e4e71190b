"""Square crops around the target with mean-colour padding (pysot's ``get_subwindow``, parameterised).

A crop of side ``original_size`` image pixels, centred on the target, is cut out of the frame, padded with
the frame's mean colour where it leaves the frame, and resized to ``output_size`` (bilinear). Three
conventions are kept:

``"subpixel"`` (the default of every preset but ``opencv-nano``; issue 8.6)
    The crop is centred exactly on the target centre, with no integer rounding of its position or size: output
    pixel ``u`` samples image point ``cx - 1/2 + (u - (output_size - 1) / 2) * original_size / output_size``
    (pixel-centre coordinates, where image pixel ``i`` has its centre at ``i``; a box ``x, y, w, h`` covers
    pixels ``x .. x + w - 1``, so its centre pixel is ``x + w/2 - 1/2``). One ``cv2.warpAffine`` samples the
    padded crop straight at its output size, so the cost follows ``output_size``, not the frame or the box
    (a 4K frame or a box of a million pixels costs what a small one does). The padding colour is the mean of
    every ``k``-th row of the frame (``k = ceil(height / 360)``; the whole frame up to 360 rows), and only
    computed when the crop leaves the frame.
``"pysot"`` (pysot / SiamTrackers ``get_subwindow``)
    side ``round(original_size)``; ``c = (side + 1) / 2`` (float);
    ``xmin = floor(cx - c + 0.5)``; padding value ``mean(frame)`` per channel.
``"opencv"`` (OpenCV ``TrackerNanoImpl::getSubwindow``, the ``opencv-nano`` preset)
    side ``int(original_size)`` (truncated); ``c = (side + 1) // 2``; ``xmin = int(cx) - c``
    (C truncation towards zero).

In the two integer conventions the crop covers image pixels ``xmin .. xmin + side - 1``, whose centre is up
to one pixel left of and above the target's (``floor``/truncation, and the centre pixel being ``cx - 1/2``):
this is the 1-2 px right/down bias of issue 8.6, since the tracker adds the network's displacement to the
target centre, not to the crop's. They are kept for reproducing published code. Their pixels are the
reference code's (copy the part inside the frame, pad it with ``cv2.copyMakeBorder``, ``cv2.resize`` it,
whole-frame ``cv2.mean`` as the pad colour), except where the padded window would hold more pixels than four
frames: there the window is sampled straight to its output size with the same mapping as ``cv2.resize``
(``cv2.warpAffine``), which differs from ``cv2.resize`` by at most one grey level in some pixels (fixed-point
rounding) and never allocates the padded window (an initial box of 3e6 px would need 108 TB; issue 9.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

Rounding = Literal["subpixel", "pysot", "opencv"]

__all__ = ["CropWindow", "crop_window", "get_subwindow", "get_rect_subwindow", "context_size", "frame_mean"]

# rows of the frame the "subpixel" pad colour is averaged over (at most): every k-th row, k = ceil(H / 360)
MEAN_ROWS = 360
# the integer conventions build the padded window at full resolution only up to this many frames of pixels
MAX_WINDOW_FRAMES = 4


@dataclass(frozen=True)
class CropWindow:
    """Where a crop came from: image pixels ``x0 .. x0 + side - 1`` (and the same for ``y``); for
    ``"subpixel"`` crops ``x0``/``y0``/``side`` are the continuous (float) window ``[x0, x0 + side)``."""

    x0: float
    y0: float
    side: float
    output_size: int

    @property
    def scale(self) -> float:
        """Crop pixels per image pixel."""
        return self.output_size / self.side


def _trunc(value: float) -> int:
    return int(value)  # Python's int() truncates towards zero, as a C cast does


def crop_window(center_xy, original_size: float, output_size: int, rounding: Rounding = "pysot") -> CropWindow:
    """Placement of a crop of ``original_size`` image pixels centred on ``center_xy``."""
    cx, cy = float(center_xy[0]), float(center_xy[1])
    if rounding == "subpixel":
        side = max(float(original_size), 1e-6)
        return CropWindow(cx - side / 2.0, cy - side / 2.0, side, int(output_size))
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
        raise ValueError(f"unknown crop rounding {rounding!r} (use 'subpixel', 'pysot' or 'opencv')")
    return CropWindow(x0, y0, side, int(output_size))


def frame_mean(image: np.ndarray, exact: bool = True) -> tuple[float, ...]:
    """Per-channel mean colour of ``image``: of every pixel (``exact``), or of every ``k``-th row,
    ``k = ceil(height / MEAN_ROWS)`` (0.1 ms instead of 3 ms on a 4K frame; the same up to 360 rows)."""
    step = 1 if exact else max(1, -(-image.shape[0] // MEAN_ROWS))
    return tuple(cv2.mean(image[::step])[: image.shape[2] if image.ndim == 3 else 1])


def _fill(pad_value, channels: int) -> list[float]:
    values = [float(v) for v in pad_value][:channels]
    return values + [0.0] * (4 - len(values))


def _warp(image: np.ndarray, matrix: np.ndarray, output_size: int, pad_value) -> np.ndarray:
    """``output_size`` x ``output_size`` bilinear samples, output pixel ``(u, v)`` at image point
    ``matrix @ (u, v, 1)`` (pixel-centre coordinates), ``pad_value`` outside the frame."""
    channels = image.shape[2] if image.ndim == 3 else 1
    return cv2.warpAffine(image, matrix, (output_size, output_size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=_fill(pad_value, channels))


def _leaves_frame(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> bool:
    return x0 < 0 or y0 < 0 or x1 > width or y1 > height


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
    colour (:func:`frame_mean`: exact for the integer conventions, as both reference implementations do;
    from a row-subsampled frame for ``"subpixel"``). The work is bounded by ``output_size`` (and, for the
    integer conventions, by four frames of pixels), whatever the box.
    """
    window = crop_window(center_xy, original_size, output_size, rounding)
    height, width = image.shape[:2]
    if rounding == "subpixel":
        scale = window.side / output_size  # image pixels per crop pixel
        cx, cy = float(center_xy[0]) - 0.5, float(center_xy[1]) - 0.5  # pixel-centre coordinates
        half = (output_size - 1) / 2.0
        # the samples' footprint: [c - half*scale - 1, c + half*scale + 1] covers both bilinear neighbours
        reach = half * scale + 1.0
        if pad_value is None and _leaves_frame(cx - reach, cy - reach, cx + reach + 1, cy + reach + 1, width, height):
            pad_value = frame_mean(image, exact=False)
        matrix = np.array([[scale, 0.0, cx - half * scale], [0.0, scale, cy - half * scale]])
        return _warp(image, matrix, output_size, pad_value if pad_value is not None else (0, 0, 0)), window

    x0, y0, side = window.x0, window.y0, window.side
    x1, y1 = x0 + side, y0 + side  # exclusive
    left, top = max(0, -x0), max(0, -y0)
    right, bottom = max(0, x1 - width), max(0, y1 - height)
    padded = bool(left or top or right or bottom)
    if padded and pad_value is None:
        pad_value = frame_mean(image, exact=True)
    if padded and side * side > MAX_WINDOW_FRAMES * width * height:
        # the padded window would be huge: sample it straight to the output size with cv2.resize's mapping,
        # output pixel u <- window pixel (u + 0.5) * side / output_size - 0.5
        scale = side / output_size
        offset = 0.5 * scale - 0.5
        matrix = np.array([[scale, 0.0, x0 + offset], [0.0, scale, y0 + offset]])
        return _warp(image, matrix, output_size, pad_value), window
    if padded:
        inner = image[max(y0, 0):min(y1, height), max(x0, 0):min(x1, width)]
        if inner.size == 0:  # crop entirely outside the frame: all padding
            channels = image.shape[2] if image.ndim == 3 else 1
            patch = np.empty((output_size, output_size, channels), dtype=image.dtype)
            patch[:] = np.round(np.asarray(pad_value[:channels], dtype=np.float64)).astype(image.dtype)
            if image.ndim == 2:
                patch = patch[..., 0]
            return patch, window
        fill = _fill(pad_value, image.shape[2] if image.ndim == 3 else 1)
        patch = cv2.copyMakeBorder(inner, top, bottom, left, right, cv2.BORDER_CONSTANT, value=fill)
    else:
        patch = image[y0:y1, x0:x1]
    if side != output_size:
        patch = cv2.resize(patch, (output_size, output_size))
    return np.ascontiguousarray(patch), window


def get_rect_subwindow(image: np.ndarray, rect, output_size: int, pad_value, exact: bool = False) -> np.ndarray:
    """The ``output_size`` x ``output_size`` uint8 crop of the (not necessarily square) region ``rect``
    (``x0, y0, w, h`` in image pixels, edge coordinates), ``pad_value`` outside the frame (FEAR's crops).

    What FEAR's ``get_extended_crop`` computes (``model_training/utils/utils.py``: cut the region, pad it with
    ``cv2.copyMakeBorder``, ``cv2.resize`` it, bilinear): output pixel ``u`` samples image point
    ``x0 + (u + 1/2) w / output_size - 1/2`` (pixel centres).

    ``exact`` (an integer ``rect``): the reference's own steps, so its very pixels; the padded region is only
    built when the region leaves the frame, and sampled straight (as below) when it would hold more pixels than
    four frames. Otherwise one ``cv2.warpAffine`` samples the crop at its output size, whatever the box; it
    differs from ``cv2.resize`` by its 1/32 px sample positions (a grey level or two, more at sharp edges) and in
    the outermost half pixel of an enlarged crop (``cv2.resize`` repeats the region's edge pixel there, this reads
    the image pixel beyond it).
    """
    x0, y0, w, h = (float(v) for v in rect)
    if exact:
        height, width = image.shape[:2]
        ix0, iy0, iw, ih = int(x0), int(y0), max(int(w), 1), max(int(h), 1)
        ix1, iy1 = ix0 + iw, iy0 + ih
        left, top = max(0, -ix0), max(0, -iy0)
        right, bottom = max(0, ix1 - width), max(0, iy1 - height)
        inner = image[max(iy0, 0):min(iy1, height), max(ix0, 0):min(ix1, width)]
        patch = None
        if not (left or top or right or bottom):
            patch = inner
        elif inner.size and iw * ih <= MAX_WINDOW_FRAMES * width * height:
            fill = _fill(pad_value, image.shape[2] if image.ndim == 3 else 1)
            patch = cv2.copyMakeBorder(inner, top, bottom, left, right, cv2.BORDER_CONSTANT, value=fill)
        if patch is not None:
            return cv2.resize(patch, (output_size, output_size), interpolation=cv2.INTER_LINEAR)
    sx, sy = max(w, 1e-6) / output_size, max(h, 1e-6) / output_size
    matrix = np.array([[sx, 0.0, x0 + 0.5 * sx - 0.5], [0.0, sy, y0 + 0.5 * sy - 0.5]])
    return _warp(image, matrix, output_size, pad_value)


def context_size(width: float, height: float, context_amount: float, truncate_sum: bool = False) -> float:
    """Side of the square exemplar region: ``sqrt((w + p) * (h + p))`` with ``p = context_amount * (w + h)``.

    ``truncate_sum`` reproduces OpenCV NanoTrack's ``update()``, which truncates ``w + h`` to an integer first.
    """
    total = float(int(width + height)) if truncate_sum else width + height
    pad = context_amount * total
    return math.sqrt(max((width + pad) * (height + pad), 1e-12))
