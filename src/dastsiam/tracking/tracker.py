"""The single-object tracker: ``Tracker.init(frame, box)`` then ``Tracker.track(frame) -> (box, score)``.

Boxes are ``x, y, w, h`` floats, 0-based pixels (:mod:`dastsiam.boxes`). Frames are ``uint8`` BGR
(grayscale and BGRA are converted, see :func:`dastsiam.tracking.video.to_bgr`).

Template memory (paper Sec. 2.3 "Inference"): ``f_i`` (first frame's template) never changes; ``f_a``
(accumulated) starts as ``f_i``; when the model has ST and the frame's gate value (:func:`postprocess.gate_value`:
by default the paper's weighted sum of the two classification branches, Sec. 3.1) exceeds
``TrackerConfig.update_threshold`` (1.18), a new exemplar ``z`` is cropped at the new box, ``f_c = template(z)``,
``f_z* = fuse(f_a, f_c, f_i)``, and ``f_a = f_z*`` is used to track the following frames.

Decoding (the head's maps -> the next box) is a :class:`~dastsiam.tracking.decoders.Decoder` chosen once, when
the tracker is built, from the model's geometry (:func:`~dastsiam.tracking.decoders.decoder_for`): per-cell box
branch (``ltrb``), SiamRPN anchors (``anchors``) or SiamFC's scale pyramid (``scale_pyramid``). The tracker keeps
the template memory, the gate and the crop loop: it cuts the search crops the decoder asks for, runs the model,
hands the maps to the decoder, and clips and stores the box it returns. FEAR's tracker, which keeps a box and
cuts its own non-square crops, is chosen by the config instead: ``TrackerConfig.decoder = "fear"``
(:mod:`dastsiam.tracking.fear`).
"""

from __future__ import annotations

import contextlib
import math
import sys
from dataclasses import dataclass

import numpy as np

from dastsiam.boxes import is_valid_box
from dastsiam.errors import InputError
from dastsiam.tracking import postprocess as pp
from dastsiam.tracking.config import TrackerConfig
from dastsiam.tracking.crop import context_size, get_subwindow
from dastsiam.tracking.decoders import HeadMaps, SearchRegion, decoder_for
from dastsiam.tracking.fear import FearDecoder
from dastsiam.tracking.video import to_bgr

__all__ = ["Tracker", "TrackResult", "area_preserving_box"]


@dataclass
class TrackResult:
    """Details of the last :meth:`Tracker.track` call (for debugging and evaluation)."""

    box: np.ndarray
    score: float  # confidence 0..1 at the chosen cell (the normalised gate map; what track() returns)
    updated: bool  # whether the template memory was updated on this frame
    best_cell: tuple[int, int]  # (row, col) in the decoder's map (SiamFC: in the upsampled response)
    gate: float = float("nan")  # the value compared with update_threshold (e.g. the 0..2 sum)


def area_preserving_box(polygon) -> np.ndarray:
    """VOT/pysot initialisation box of a rotated polygon ``x1, y1, ..., x4, y4``.

    Centred on the polygon's mean point, with the aspect of the axis-aligned envelope scaled so that its area
    equals the rotated rectangle's (pysot ``get_axis_aligned_bbox``). Returns ``x, y, w, h``.
    """
    p = np.asarray(polygon, dtype=np.float64).reshape(-1)
    if p.size == 4:
        return p.copy()
    xs, ys = p[0::2], p[1::2]
    cx, cy = xs.mean(), ys.mean()
    x1, x2, y1, y2 = xs.min(), xs.max(), ys.min(), ys.max()
    a1 = np.linalg.norm(p[0:2] - p[2:4]) * np.linalg.norm(p[2:4] - p[4:6])
    a2 = (x2 - x1) * (y2 - y1)
    s = math.sqrt(a1 / a2) if a2 > 0 else 1.0
    w, h = s * (x2 - x1), s * (y2 - y1)
    return np.array([cx - w / 2.0, cy - h / 2.0, w, h])


def _numpy(t) -> np.ndarray | None:
    if t is None:
        return None
    if isinstance(t, np.ndarray):
        return t if t.dtype == np.float32 else t.astype(np.float32)
    return t.detach().float().cpu().numpy()  # a torch.Tensor


def _is_torch_module(model) -> bool:
    """Whether ``model`` is a ``torch.nn.Module``, without importing torch (a torch model implies it is loaded)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


class Tracker:
    """A Siamese tracker around ``model`` (a :class:`~dastsiam.models.SiameseModel`, or any object with the
    same ``geometry``/``template``/``fuse``/``track``/``has_st`` members such as the onnxruntime back end)."""

    def __init__(self, model, config: TrackerConfig | None = None, device="cpu"):
        self.model = model
        self.config = config or TrackerConfig()
        self.geometry = model.geometry
        self.decoder = decoder_for(self.geometry)  # fixed for the tracker's life (ModelError if unknown)
        self.has_st = bool(getattr(model, "has_st", False))
        # a torch model gets torch tensors on its device; any other back end (onnxruntime) gets numpy arrays,
        # so tracking with it never imports torch (start-up time, docs/runtime.md)
        self._torch = _is_torch_module(model)
        if self._torch:
            import torch

            self.device = torch.device(device)
            model.to(self.device).eval()
        else:
            self.device = device
        self.center = np.zeros(2)
        self.size = np.zeros(2)
        self.frame_size: tuple[int, int] | None = None  # (width, height)
        self.frame_index = -1
        self.f_i = self.f_a = self.f_z = None
        self.last: TrackResult | None = None
        self._fear = FearDecoder(self.config, self.geometry) if self.config.decoder == "fear" else None

    # ------------------------------------------------------------------ helpers
    def _tensor(self, crops: list[np.ndarray]):
        """``float32 (B, 3, H, W)`` model input: a numpy array, or a torch tensor on the device for torch models."""
        batch = np.stack(crops, axis=0)
        if self.config.swap_rb:
            batch = batch[..., ::-1]
        batch = np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)
        if not self._torch:
            return batch
        import torch

        return torch.from_numpy(batch).to(self.device)

    def _no_grad(self):
        if not self._torch:
            return contextlib.nullcontext()
        import torch

        return torch.no_grad()

    def _frame(self, frame, initialising: bool) -> np.ndarray:
        self.frame_index = 0 if initialising else self.frame_index + 1
        image = to_bgr(frame, f"frame {self.frame_index}")
        height, width = image.shape[:2]
        if initialising:
            self.frame_size = (width, height)
        elif (width, height) != self.frame_size:
            raise InputError(f"frame {self.frame_index}: size {width}x{height} differs from the first frame's "
                             f"{self.frame_size[0]}x{self.frame_size[1]}")
        return image

    def _exemplar(self, image: np.ndarray):
        if self._fear is not None:
            return self._tensor([self._fear.exemplar(image)])
        s_z = context_size(self.size[0], self.size[1], self.config.context_amount)
        crop, _ = get_subwindow(image, self.center, s_z, self.geometry.exemplar_size, rounding=self.config.rounding)
        return self._tensor([crop])

    # ------------------------------------------------------------------ public API
    def init(self, frame, box) -> None:
        """Start tracking the target ``box`` (``x, y, w, h``) in ``frame``.

        Raises :class:`InputError` for a box with a non-finite or non-positive size, or one lying entirely
        outside the frame (a box partly outside is fine: the crop is padded).
        """
        image = self._frame(frame, initialising=True)
        box = np.asarray(box, dtype=np.float64).reshape(-1)
        if box.shape != (4,) or not is_valid_box(box):
            raise InputError(f"initial box {box.tolist()}: needs 4 finite numbers x,y,w,h with w > 0 and h > 0")
        width, height = self.frame_size
        if box[0] >= width or box[1] >= height or box[0] + box[2] <= 0 or box[1] + box[3] <= 0:
            raise InputError(f"initial box {box.tolist()} lies outside the {width}x{height} frame")
        # built here, not in __init__: the config may have been replaced in between (benchmarks/validate.py)
        self._fear = FearDecoder(self.config, self.geometry) if self.config.decoder == "fear" else None
        if self._fear is not None:
            box = self._fear.init(image, box)
            exemplar = self._tensor([self._fear.exemplar(image, pad=self._fear.pad)])
        self.center = np.array([box[0] + box[2] / 2.0, box[1] + box[3] / 2.0])
        self.size = np.array([box[2], box[3]])
        if box[2] > width or box[3] > height or not np.all(np.isfinite(self.center)):
            # larger than the frame: clipped as every later box is (from about 1e154 px the context area
            # (w + p)(h + p) overflowed to inf and every later box was NaN)
            self._clip_and_store(self.center, self.size)
        with self._no_grad():
            self.f_i = self.model.template(exemplar if self._fear is not None else self._exemplar(image))
        self.f_a = self.f_i
        self.f_z = self.f_i
        self.decoder.reset()
        self.last = TrackResult(box.copy(), 1.0, False, (-1, -1))

    def track(self, frame) -> tuple[np.ndarray, float]:
        """The target's box in ``frame`` and the tracker's confidence in it (gate confidence, 0..1)."""
        if self.f_z is None:
            raise RuntimeError("Tracker.track() called before Tracker.init()")
        image = self._frame(frame, initialising=False)
        with self._no_grad():
            if self._fear is not None:
                box, score, cell, gate = self._track_fear(image)
            else:
                region = self._search_region()
                step = self.decoder.decode(self._search(image, region), region, self.config)
                box, score, cell, gate = self._clip_and_store(step.center, step.size), step.score, step.cell, step.gate
            updated = self._maybe_update_template(image, gate)
        self.last = TrackResult(box, score, updated, cell, gate)
        return box, score

    # ------------------------------------------------------------------ template memory
    def _maybe_update_template(self, image: np.ndarray, gate: float) -> bool:
        cfg = self.config
        linear = cfg.template_update == "linear"
        if not (self.has_st or linear) or self.frame_index % cfg.update_interval != 0:
            return False
        if not (gate > cfg.update_threshold):
            return False
        f_c = self.model.template(self._exemplar(image))
        if linear:  # UpdateNet's baseline (torch tensors or numpy arrays alike)
            self.f_z = (1.0 - cfg.update_rate) * self.f_a + cfg.update_rate * f_c
        else:
            self.f_z = self.model.fuse(self.f_a, f_c, self.f_i)
        self.f_a = self.f_z
        return True

    # ------------------------------------------------------------------ FEAR decoding
    def _track_fear(self, image: np.ndarray):
        crop, region = self._fear.search(image)
        out = self.model.track(self._tensor([crop]), self.f_z)
        if out.loc is None:
            raise ValueError('TrackerConfig.decoder "fear" needs a model with a box branch')
        box, cell, score = self._fear.update(_numpy(out.cls)[0], _numpy(out.loc)[0], region, self.frame_size)
        self.center = box[:2] + box[2:] / 2.0
        self.size = box[2:].copy()
        return box, score, cell, self._fear_gate(out, cell, score)

    def _fear_gate(self, out, cell: tuple[int, int], score: float) -> float:
        """The gate at FEAR's chosen cell (the cell is picked by the classification logit alone, as FEAR does).

        FEAR's classifier is one logit ``l`` per cell; ``sigmoid(l)`` *is* the target probability of a 2-way
        softmax whose background logit is 0 (``e^l / (e^0 + e^l)``), so it takes the softmax branch's place in
        the paper's weighted sum: ``"sum"`` = ``w_cls sigmoid(l) + w_conf sigmoid(conf)`` (range [0, 2], 1.18).
        Without a confidence branch the ``"sum"`` gate counts the missing branch as agreeing (``score`` scaled).
        """
        cfg = self.config
        if out.conf is None:
            return score * (sum(cfg.gate_weights) if cfg.gate_confidence == "sum" else 1.0)
        row, col = cell
        cls_at = _numpy(out.cls)[0][:, row:row + 1, col:col + 1]
        conf_at = _numpy(out.conf)[0][:, row:row + 1, col:col + 1]
        one_cell = pp.score_map(cls_at, conf_at, cfg.gate_confidence, cfg.confidence_weight, cfg.gate_weights)
        return pp.gate_value(one_cell, (0, 0), cfg.gate_confidence, cfg.gate_weights)

    # ------------------------------------------------------------------ the crop loop
    def _search_region(self) -> SearchRegion:
        cfg, geo = self.config, self.geometry
        truncate = cfg.rounding == "opencv"
        s_z = context_size(self.size[0], self.size[1], cfg.context_amount, truncate_sum=truncate)
        ratio = cfg.search_ratio if cfg.search_ratio is not None else geo.instance_size / geo.exemplar_size
        return SearchRegion(self.center.copy(), self.size.copy(), s_z, s_z * ratio, self.decoder.scales(cfg))

    def _search(self, image: np.ndarray, region: SearchRegion) -> HeadMaps:
        """The head's maps (NumPy) for one search crop per scale factor of ``region``, in one model call."""
        cfg, geo = self.config, self.geometry
        crops = [get_subwindow(image, region.center, region.s_x * f, geo.instance_size, rounding=cfg.rounding)[0]
                 for f in region.scales]
        x = self._tensor(crops)
        f_z = self.f_z
        if len(crops) > 1:
            f_z = f_z.expand(len(crops), *f_z.shape[1:]) if self._torch else np.repeat(f_z, len(crops), 0)
        out = self.model.track(x, f_z)
        return HeadMaps(_numpy(out.cls), _numpy(out.loc), _numpy(out.conf))

    def _clip_and_store(self, center: np.ndarray, size: np.ndarray) -> np.ndarray:
        width, height = self.frame_size
        if not (np.all(np.isfinite(center)) and np.all(np.isfinite(size))):  # never store (or return) a NaN box
            center, size = self.center, self.size
        min_size = self.config.min_size
        cx = min(max(float(center[0]), 0.0), float(width))
        cy = min(max(float(center[1]), 0.0), float(height))
        w = min(max(float(size[0]), min_size), max(float(width), min_size))
        h = min(max(float(size[1]), min_size), max(float(height), min_size))
        self.center = np.array([cx, cy])
        self.size = np.array([w, h])
        return np.array([cx - w / 2.0, cy - h / 2.0, w, h])
