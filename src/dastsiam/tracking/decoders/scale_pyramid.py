"""SiamFC's scale pyramid: a response-only head (no box branch) searched at ``scale_num`` scales; the best
scale's response is upsampled x16 (bicubic), normalised and blended with a cosine window, and its peak moves
the target; the size follows the chosen scale with rate ``scale_lr``.

Reference: Bertinetto et al., "Fully-Convolutional Siamese Networks for Object Tracking", ECCVW 2016, and its
tracker ``siamfc/siamfc.py`` (huanglianghua/siamfc-pytorch, ``TrackerSiamFC.update``): 3 scales of step 1.0375,
scale penalty 0.9745, scale lr 0.59, window influence 0.176 (the ``siamfc`` preset). Update gate: the paper's
"maximum value of the response map" (Sec. 3.1), the chosen scale's raw response maximum.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from dastsiam.tracking import postprocess as pp
from dastsiam.tracking.decoders.base import Decoder, HeadMaps, SearchRegion, Step

__all__ = ["ScalePyramidDecoder"]


class ScalePyramidDecoder(Decoder):
    """``HeadOutput.cls (n, 1, S, S)`` response logits (last channel for 2-way heads), one per search scale."""

    name = "scale_pyramid"

    def __init__(self, geometry):
        super().__init__(geometry)
        self._window = None

    def reset(self) -> None:
        self._window = None

    def scales(self, config) -> tuple[float, ...]:
        half = config.scale_num // 2
        return tuple(config.scale_step ** np.linspace(-half, half, config.scale_num))

    def decode(self, maps: HeadMaps, region: SearchRegion, config) -> Step:
        cfg, geo = config, self.geometry
        factors = region.scales
        half = len(factors) // 2
        responses = maps.cls[:, -1]  # (n, S, S) target logits (last channel for 2-way heads)
        size = responses.shape[-1]
        up = cfg.response_upsample * size
        upsampled = np.stack([cv2.resize(r.astype(np.float32), (up, up), interpolation=cv2.INTER_CUBIC)
                              for r in responses]).astype(np.float64)
        upsampled = np.nan_to_num(upsampled, nan=-np.inf)
        peaks = upsampled.reshape(len(factors), -1).max(axis=1)
        peaks[:half] *= np.where(peaks[:half] > 0, cfg.scale_penalty, 1.0 / cfg.scale_penalty)
        peaks[half + 1:] *= np.where(peaks[half + 1:] > 0, cfg.scale_penalty, 1.0 / cfg.scale_penalty)
        scale_id = int(np.argmax(peaks))
        raw = upsampled[scale_id]
        if self._window is None or self._window.shape[0] != up:
            window = pp.cosine_window(up)
            self._window = window / window.sum()
        response = raw - raw[np.isfinite(raw)].min() if np.isfinite(raw).any() else np.zeros_like(raw)
        response = np.nan_to_num(response, neginf=0.0)
        response /= response.sum() + 1e-16
        response = (1.0 - cfg.siamfc_window_influence) * response + cfg.siamfc_window_influence * self._window
        row, col = np.unravel_index(int(np.argmax(response)), response.shape)
        # upsampled pixel -> fractional cell (cv2.resize maps pixel centres) -> crop pixel relative to the centre
        if size == geo.score_size:
            offset = geo.offset
        else:
            offset = geo.instance_size / 2.0 - (size - 1) / 2.0 * geo.stride
        frac = (np.array([col, row], dtype=np.float64) + 0.5) / cfg.response_upsample - 0.5
        disp_crop = offset + frac * geo.stride - geo.instance_size / 2.0
        disp_image = disp_crop * region.s_x * factors[scale_id] / geo.instance_size
        scale = (1.0 - cfg.scale_lr) + cfg.scale_lr * factors[scale_id]
        score = float(pp.sigmoid(raw[row, col])) if np.isfinite(raw[row, col]) else 0.0
        gate = self._gate(responses[scale_id], score, cfg)
        return Step(region.center + disp_image, region.size * scale, score, (int(row), int(col)), gate)

    @staticmethod
    def _gate(response: np.ndarray, score: float, cfg) -> float:
        """SiamFC's gate (paper Sec. 3.1): ``response_max`` = the maximum of the chosen scale's raw response
        map (logits, before upsampling and window); other modes read ``score`` (sigmoid at the peak; ``sum``
        scales it by the weight sum, a missing confidence branch counting as agreeing)."""
        if cfg.gate_confidence == "response_max":
            finite = response[np.isfinite(response)]
            return float(finite.max()) if finite.size else -math.inf
        return score * (sum(cfg.gate_weights) if cfg.gate_confidence == "sum" else 1.0)
