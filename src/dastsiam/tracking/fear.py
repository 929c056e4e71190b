"""FEAR's tracker: its crops and its box decoding (``TrackerConfig.decoder = "fear"``, preset ``"fear-xs"``).

Reproduces the Python tracker of PinataFarms/FEARTracker (MIT): ``model_training/tracker/fear_tracker.py``
(``FEARTracker``), ``base_tracker.py`` (``Tracker._rescale_bbox``, ``_confidence_postprocess``,
``_postprocess_bbox``, ``_smooth_size``), ``dataset/box_coder.py`` (``MobileTrackBoxCoder.decode``) and
``utils/utils.py`` (``get_extended_crop``, ``extend_bbox``, ``clamp_bbox``, ``make_grid``), configured by
``config/tracker/siam_tracker.yaml``. Unlike the SiamRPN family it keeps a *box* (not a centre and a square
context), and its crops are not square:

* **init**: the box is clamped to the frame (``clamp_bbox``); the template is the box extended by
  ``fear_template_offset`` (0.2) box widths / heights on each side, padded with the frame's mean colour where
  it leaves the frame and resized to 128 x 128 (so the target's aspect ratio is not kept); the first frame's
  mean colour is kept as the search crops' padding.
* **track**: the search region is the last box extended by ``fear_search_offset`` (2) box sizes per side
  (5 w x 5 h), resized to 256 x 256. Cell ``(i, j)`` looks at crop pixel ``(16 j, 16 i)``; its box is
  ``[16 j - l, 16 i - t, l + r, t + b]`` in crop pixels. The cell with the highest classification score wins
  (``fear_smooth=False``, the config's setting); the box is mapped back per axis
  (``x * w_region / 256 + x_region``, ...), rounded, given sides of at least 3 px and clamped to the frame.
* ``fear_smooth=True`` (the reference's optional ``smooth``): the SiamRPN scale/ratio penalty against the last
  box's size in crop pixels, the cosine window, and the reference's size update, which keeps the predicted
  top-left corner and sets ``size = (1 - lr) prev + lr (lr pred + (1 - lr) prev)``, i.e. ``(1 - lr^2) prev +
  lr^2 pred`` with ``lr = penalty * score * 0.765`` (written as in ``base_tracker._smooth_size``).
* ``rounding="fear"``: the reference's integers (``extend_bbox``'s ``astype("int32")`` truncation of the
  crop region, ``round()`` of the mapped box, ``clamp_bbox``'s ``int32`` box that starts at the clamped corner
  and keeps its width); ``rounding="subpixel"``: the same in floats (crop regions exactly where the box says,
  boxes clipped to the frame). Choices and measurements: docs/tracking.md, "FEAR-XS".

The score reported is the sigmoid of the classification logit at the chosen cell (what ``_postprocess``
returns beside the box).
"""

from __future__ import annotations

import numpy as np

from dastsiam.tracking import postprocess as pp
from dastsiam.tracking.crop import frame_mean, get_rect_subwindow

__all__ = ["FearDecoder", "extend_box", "clamp_box", "decode"]


def extend_box(box, offset: float, integer: bool) -> np.ndarray:
    """``extend_bbox``: ``[x - o w, y - o h, (1 + 2 o) w, (1 + 2 o) h]``, truncated towards zero when ``integer``."""
    x, y, w, h = (float(v) for v in box)
    region = np.array([x - w * offset, y - h * offset, w * (1.0 + 2 * offset), h * (1.0 + 2 * offset)])
    return np.trunc(region) if integer else region


def clamp_box(box, frame_size: tuple[int, int], min_side: float, integer: bool) -> np.ndarray:
    """``clamp_bbox`` (``integer``: exactly, with ``ensure_bbox_boundaries``' quirk that the right edge is the
    clamped left edge plus the width), or the box clipped to the frame in floats; sides at least ``min_side``."""
    width, height = frame_size
    x, y, w, h = (float(v) for v in box)
    if integer:
        x1, y1 = min(max(0.0, x), width), min(max(0.0, y), height)
        x2, y2 = min(max(0.0, x1 + w), width), min(max(0.0, y1 + h), height)
        x, y, w, h = np.trunc([x1, y1, x2 - x1, y2 - y1])
    else:
        x1, y1 = min(max(0.0, x), width), min(max(0.0, y), height)
        x2, y2 = min(max(0.0, x + w), width), min(max(0.0, y + h), height)
        x, y, w, h = x1, y1, x2 - x1, y2 - y1
    if w < min_side:
        w = min_side
        x -= max(0.0, x + w - width)
    if h < min_side:
        h = min_side
        y -= max(0.0, y + h - height)
    return np.array([x, y, w, h], dtype=np.float64)


def decode(cls: np.ndarray, loc: np.ndarray, geometry, prev_size_crop=None, window=None, penalty_k: float = 0.0,
           window_influence: float = 0.0, lr: float = 0.0) -> tuple[np.ndarray, tuple[int, int], float]:
    """``(box, (row, col), score)``: the box ``x, y, w, h`` in search-crop pixels from one frame's ``cls (1, S, S)``
    logits and ``loc (4, S, S)`` distances (``MobileTrackBoxCoder.decode``), with the reference's smoothing when
    ``prev_size_crop`` (the last box's ``w, h`` in crop pixels) is given."""
    logits = np.asarray(cls)[0]
    loc = np.asarray(loc)
    xs, ys = _cell_grid(geometry, logits.shape[-1])
    if prev_size_crop is None:
        # the sigmoid is monotone: the best cell by logit is the best by score (only that cell's score is needed)
        pick = np.nan_to_num(logits, nan=-np.inf)
        penalty = None
        score = None
    else:
        score = pp.sigmoid(logits)
        prev_w, prev_h = (float(v) for v in prev_size_crop)
        pred_w, pred_h = loc[0] + loc[2], loc[1] + loc[3]
        with np.errstate(divide="ignore", invalid="ignore"):
            s_c = pp.change(pp.size_measure(pred_w, pred_h) / pp.size_measure(prev_w, prev_h))
            r_c = pp.change((prev_w / prev_h) / (pred_w / pred_h))
            penalty = np.nan_to_num(np.exp(-(r_c * s_c - 1.0) * penalty_k), nan=0.0, posinf=0.0)
        pick = pp.apply_window(penalty * score, window, window_influence)
    row, col = np.unravel_index(int(np.argmax(pick)), pick.shape)
    l, t, r, b = (float(v) for v in loc[:, row, col])
    x, y = xs[col], ys[row]
    box = np.array([x - l, y - t, r + l, b + t])  # x1, y1, x2 - x1, y2 - y1
    cell_score = float(pp.sigmoid(logits[row, col])) if score is None else float(score[row, col])
    if penalty is not None:
        rate = float(penalty[row, col] * cell_score * lr)
        pred = box[2:] * rate
        prev = np.array([prev_w, prev_h]) * (1.0 - rate)
        box[2:] = prev + rate * (pred + prev)  # base_tracker._smooth_size, as written
    return box, (int(row), int(col)), cell_score


def _cell_grid(geometry, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Crop x of every column and y of every row (``make_grid``: ``offset + j * stride``)."""
    coords = geometry.offset + np.arange(size, dtype=np.float64) * geometry.stride
    return coords, coords


class FearDecoder:
    """FEAR's crops and decoding for one tracked target (state: the box ``x, y, w, h``)."""

    def __init__(self, config, geometry):
        self.config = config
        self.geometry = geometry
        self.integer = config.rounding == "fear"
        self.box = np.zeros(4)
        self.pad = (0.0, 0.0, 0.0)
        self._window = None

    def init(self, image: np.ndarray, box) -> np.ndarray:
        """Start on ``box``: returns the clamped box; :meth:`exemplar` then gives the template crop."""
        height, width = image.shape[:2]
        self.box = clamp_box(box, (width, height), self.config.min_size, self.integer)
        self.pad = frame_mean(image, exact=True)  # the first frame's mean colour pads every search crop
        return self.box.copy()

    def exemplar(self, image: np.ndarray, pad=None) -> np.ndarray:
        """The template crop of the current box (``get_template_features``)."""
        region = extend_box(self.box, self.config.fear_template_offset, self.integer)
        pad = pad if pad is not None else frame_mean(image, exact=True)  # get_extended_crop's default padding
        return get_rect_subwindow(image, region, self.geometry.exemplar_size, pad, exact=self.integer)

    def search(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(crop, region)``: the search crop of the current box and the image region it covers."""
        region = extend_box(self.box, self.config.fear_search_offset, self.integer)
        return get_rect_subwindow(image, region, self.geometry.instance_size, self.pad, exact=self.integer), region

    def update(self, out_cls: np.ndarray, out_loc: np.ndarray, region: np.ndarray,
               frame_size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int], float]:
        """The new box from one frame's head maps (``cls (1, S, S)``, ``loc (4, S, S)``) on the search crop of
        ``region``; ``(box, cell, score)``, and the box becomes the state."""
        cfg, size = self.config, self.geometry.instance_size
        scale = np.array([region[2] / size, region[3] / size])
        extra = {}
        if cfg.fear_smooth:
            if self._window is None or self._window.shape[0] != out_cls.shape[-1]:
                self._window = pp.cosine_window(out_cls.shape[-1], cfg.window)
            # the last box in crop pixels (albumentations' resize of the box inside the padded region)
            extra = dict(prev_size_crop=self.box[2:] / scale, window=self._window, penalty_k=cfg.penalty_k,
                         window_influence=cfg.window_influence, lr=cfg.lr)
        box_crop, cell, score = decode(out_cls, out_loc, self.geometry, **extra)
        if not np.all(np.isfinite(box_crop)):
            return self.box.copy(), cell, 0.0  # head gave garbage: keep the last box
        box = np.array([box_crop[0] * scale[0] + region[0], box_crop[1] * scale[1] + region[1],
                        box_crop[2] * scale[0], box_crop[3] * scale[1]])
        if self.integer:  # _rescale_bbox: round() (half to even, as Python's), sides at least 3
            box = np.round(box)
        box[2:] = np.maximum(box[2:], cfg.min_size)
        self.box = clamp_box(box, frame_size, cfg.min_size, self.integer)
        return self.box.copy(), cell, score
