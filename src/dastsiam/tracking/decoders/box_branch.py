"""The SiamRPN family's choice of the next box from a box branch: score map, scale/aspect penalty, cosine
window, argmax, then the size smoothed with rate ``penalty * score * lr``.

Reference: pysot ``pysot/tracker/siamrpn_tracker.py`` ``SiamRPNTracker.track`` (Li et al., SiamRPN++, CVPR 2019)
and OpenCV's ``modules/video/src/tracking/tracker_nano.cpp`` (NanoTrack), which follow the same steps; the
score that picks the cell and gates the update is the paper's weighted sum of the two classification branches
(Sec. 2.3 "Inference", Sec. 3.1; :func:`dastsiam.tracking.postprocess.score_map` / ``gate_value``).
The two box branches differ only in where each prediction sits and how its box is encoded: per cell
(:mod:`.ltrb`) or per anchor (:mod:`.anchors`).
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from dastsiam.errors import ModelError
from dastsiam.tracking import postprocess as pp
from dastsiam.tracking.decoders.base import Decoder, HeadMaps, SearchRegion, Step

__all__ = ["BoxBranchDecoder"]


class BoxBranchDecoder(Decoder):
    """A head with a box branch (``HeadOutput.loc``): subclasses say where predictions sit and how boxes decode."""

    num_anchors = 0  # predictions per cell; (K, S, S) maps broadcast the window over anchors

    def __init__(self, geometry):
        super().__init__(geometry)
        self._window = None
        self._points = None

    def reset(self) -> None:
        self._window = self._points = None

    @abstractmethod
    def points(self, config, size: int):
        """Where each prediction sits, relative to the search-crop centre (crop pixels), for ``size`` x ``size``
        maps."""

    @abstractmethod
    def boxes(self, loc: np.ndarray, points) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(cx, cy, w, h)`` maps in crop pixels (centres relative to the crop centre) from the box branch."""

    def decode(self, maps: HeadMaps, region: SearchRegion, config) -> Step:
        if maps.loc is None:
            raise ModelError(f"the model's head has no box branch, but its geometry asks for the {self.name!r} "
                             f"decoder (a response-only head, like SiamFC's, sets OutputGeometry.decoder="
                             f"'scale_pyramid')")
        cfg, geo = config, self.geometry
        cls = maps.cls[0]
        loc = maps.loc[0]
        conf = maps.conf[0] if maps.conf is not None else None
        size = cls.shape[-1]
        anchors = self.num_anchors
        if self._window is None or self._window.shape[0] != size:
            self._window = pp.cosine_window(size, cfg.window)
            self._points = self.points(cfg, size)
        # (S, S) maps per cell, or (K, S, S) per anchor: the window, penalty and argmax broadcast over anchors
        score = pp.score_map(cls, conf, cfg.gate_confidence, cfg.confidence_weight, cfg.gate_weights, anchors)
        pred_cx, pred_cy, pred_w, pred_h = self.boxes(loc, self._points)

        scale_z = geo.exemplar_size / region.s_z
        ref_w, ref_h = region.size * scale_z
        ref_size = None
        if cfg.scale_penalty_reference == "position":
            ref_size = float(pp.size_measure(region.center[0], region.center[1]))
        penalty = pp.scale_aspect_penalty(pred_w, pred_h, ref_w, ref_h, cfg.penalty_k, ref_size)
        pscore = pp.apply_window(penalty * score, self._window, cfg.window_influence)
        best = np.unravel_index(int(np.argmax(pscore)), pscore.shape)  # (row, col) or (anchor, row, col)
        cell = (int(best[-2]), int(best[-1]))

        best_score = float(np.nan_to_num(score[best], nan=0.0))
        gate = pp.gate_value(score, best, cfg.gate_confidence, cfg.gate_weights)
        if not np.all(np.isfinite([pred_cx[best], pred_cy[best], pred_w[best], pred_h[best]])):
            return Step(region.center, region.size, 0.0, cell, 0.0)  # head gave garbage: keep the last state
        lr = float(penalty[best]) * best_score * cfg.lr
        center = region.center + np.array([pred_cx[best], pred_cy[best]]) / scale_z
        new_size = (1.0 - lr) * region.size + lr * np.array([pred_w[best], pred_h[best]]) / scale_z
        return Step(center, new_size, best_score, cell, gate)
