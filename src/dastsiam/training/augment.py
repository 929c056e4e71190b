"""Training crops: one affine warp per crop (``cv2.warpAffine``) that folds together the context crop, the
scale and shift jitter and the horizontal flip, plus colour / grey / blur jitter on the small crop.

Coordinates are continuous pixels (:mod:`dastsiam.boxes`): a crop of ``side`` image pixels centred on
``(cx, cy)`` maps image point ``X`` to crop point ``u = a (X - cx) + out / 2`` with ``a = out / side``, the
same placement the tracker's crops use and :class:`~dastsiam.models.geometry.OutputGeometry` assumes.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from dastsiam.errors import InputError
from dastsiam.training.config import CropAugConfig

_REDUCED_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4}


def context_side(box: np.ndarray, context_amount: float = 0.5) -> float:
    """SiamFC's template side ``sqrt((w + p)(h + p))`` with ``p = context_amount * (w + h)``."""
    w, h = float(box[2]), float(box[3])
    p = context_amount * (w + h)
    return math.sqrt((w + p) * (h + p))


def template_region(box: np.ndarray, context_amount: float, crop_shape: str = "square") -> np.ndarray:
    """Image ``(width, height)`` the template crop covers around ``box``: the square ``context_side`` twice, or
    for ``crop_shape="box"`` FEAR's ``extend_bbox`` region ``(1 + 2 c) w x (1 + 2 c) h`` (``tracking.fear.extend_box``)."""
    if crop_shape == "box":
        return np.array([float(box[2]), float(box[3])]) * (1.0 + 2.0 * context_amount)
    side = context_side(box, context_amount)
    return np.array([side, side])


def _sides(side) -> tuple[float, float]:
    """``(width, height)`` of a crop region given as one number (a square) or a pair."""
    return (float(side), float(side)) if np.isscalar(side) else (float(side[0]), float(side[1]))


def read_frame(path, reduce: int = 1) -> np.ndarray:
    """BGR uint8 frame; ``reduce`` 2 or 4 decodes at 1/2 or 1/4 size (JPEG DCT scaling: much faster)."""
    image = cv2.imread(str(path), _REDUCED_FLAGS.get(reduce, cv2.IMREAD_COLOR))
    if image is None:
        raise InputError(f"{path}: cannot read image")
    return image


def reduction_for(side: float, out_size: int) -> int:
    """Largest decode reduction that still gives at least ``out_size`` pixels across the crop."""
    for factor in (4, 2):
        if side / factor >= out_size:
            return factor
    return 1


def warp_crop(image: np.ndarray, center: tuple[float, float], side, out_size: int, flip: bool = False,
              image_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Crop ``side`` image pixels (one number: a square; ``(width, height)``: a rectangle, resized to the square
    crop without keeping its aspect ratio) around ``center`` to ``out_size`` (mean-colour padding).

    ``image_scale`` is the size of ``image`` relative to the frame the coordinates refer to (0.5 for a frame
    decoded at half size). Returns the crop and the 2x3 matrix mapping continuous frame coordinates to
    continuous crop coordinates.
    """
    side_x, side_y = _sides(side)
    ax, a = out_size / side_x, out_size / side_y
    sx = -ax if flip else ax
    cx, cy = center
    # continuous frame -> continuous crop
    frame_to_crop = np.array([[sx, 0.0, out_size / 2.0 - sx * cx], [0.0, a, out_size / 2.0 - a * cy]])
    # pixel-index form for OpenCV: frame point X = (i + 0.5) / image_scale for decoded pixel i, crop pixel
    # j covers u = j + 0.5
    s = 1.0 / image_scale
    m = np.array([[sx * s, 0.0, frame_to_crop[0, 2] + sx * s * 0.5 - 0.5],
                  [0.0, a * s, frame_to_crop[1, 2] + a * s * 0.5 - 0.5]])
    border = tuple(float(v) for v in cv2.mean(image)[:3])
    crop = cv2.warpAffine(image, m, (out_size, out_size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=border)
    return crop, frame_to_crop


def map_box(box: np.ndarray, frame_to_crop: np.ndarray) -> np.ndarray:
    """A frame box ``x, y, w, h`` in crop coordinates (handles the flip)."""
    x0, y0 = box[0], box[1]
    x1, y1 = box[0] + box[2], box[1] + box[3]
    xs = frame_to_crop[0, 0] * np.array([x0, x1]) + frame_to_crop[0, 2]
    ys = frame_to_crop[1, 1] * np.array([y0, y1]) + frame_to_crop[1, 2]
    return np.array([xs.min(), ys.min(), abs(xs[1] - xs[0]), abs(ys[1] - ys[0])], dtype=np.float64)


def jitter_box(box: np.ndarray, shift: float, scale: float, rng: np.random.Generator) -> np.ndarray:
    """The box moved by up to ``shift`` x its size and rescaled by ``exp(+-scale)``: the imperfect boxes the
    tracker's T_a / T_c crops are cut with."""
    x, y, w, h = (float(v) for v in box)
    cx = x + w / 2 + rng.uniform(-shift, shift) * w
    cy = y + h / 2 + rng.uniform(-shift, shift) * h
    factor = math.exp(rng.uniform(-scale, scale))
    return np.array([cx - w * factor / 2, cy - h * factor / 2, w * factor, h * factor])


def colour_jitter(crop: np.ndarray, aug: CropAugConfig, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Grey, per-channel gain + brightness, Gaussian blur and additive Gaussian pixel noise (each with its
    probability in ``aug``), vectorised over the crop."""
    if aug.gray > 0 and rng.random() < aug.gray:
        crop = cv2.cvtColor(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if aug.colour > 0 and rng.random() < aug.colour and strength > 0:
        gain = 1.0 + rng.normal(0.0, strength, size=3)
        offset = rng.normal(0.0, strength * 64.0)
        crop = cv2.convertScaleAbs(crop.astype(np.float32) * gain.astype(np.float32) + np.float32(offset))
    if aug.blur > 0 and rng.random() < aug.blur:
        kernel = int(rng.choice([3, 5, 7]))
        crop = cv2.GaussianBlur(crop, (kernel, kernel), float(rng.uniform(0.3, 1.5)))
    if aug.noise > 0 and rng.random() < aug.noise and aug.noise_std > 0:
        std = aug.noise_std * rng.uniform(0.25, 1.0)
        noise = rng.standard_normal(crop.shape, dtype=np.float32) * np.float32(std)
        crop = np.clip(crop.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return crop


def augmented_crop(path, box: np.ndarray, side, out_size: int, aug: CropAugConfig, colour_strength: float,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Read frame ``path`` and cut the ``out_size`` crop of ``side`` pixels (a number: square; ``(width,
    height)``: :func:`template_region`'s rectangle) around ``box``'s centre with scale, shift, flip and colour
    augmentation. Returns the crop and ``box`` in crop coordinates."""
    cx, cy = box[0] + box[2] / 2.0, box[1] + box[3] / 2.0
    side_x, side_y = _sides(side)
    if aug.scale > 0:
        factor = 1.0 + rng.uniform(-aug.scale, aug.scale)
        side_x, side_y = side_x * factor, side_y * factor
    if aug.shift > 0:
        # the target moves by up to `shift` crop pixels away from the crop centre
        cx -= rng.uniform(-aug.shift, aug.shift) * side_x / out_size
        cy -= rng.uniform(-aug.shift, aug.shift) * side_y / out_size
    flip = bool(aug.flip > 0 and rng.random() < aug.flip)
    reduce = reduction_for(min(side_x, side_y), out_size)
    image = read_frame(path, reduce)
    crop, frame_to_crop = warp_crop(image, (cx, cy), (side_x, side_y), out_size, flip, image_scale=1.0 / reduce)
    crop = colour_jitter(crop, aug, colour_strength, rng)
    return crop, map_box(box, frame_to_crop)
