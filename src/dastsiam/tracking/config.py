"""Tracker hyper-parameters (:class:`TrackerConfig`) and the named presets.

Presets (see docs/tracking.md for where each number comes from):

``"nano"``
    OpenCV's ``TrackerNano`` (``modules/video/src/tracking/tracker_nano.cpp``) reproduced exactly, including
    its integer conventions and quirks: window influence 0.455 on ``cv2.createHanningWindow`` (the square root of
    the Hann outer product), penalty_k 0.055, lr 0.37, context 0.5,
    search crop = 2 x exemplar crop (C integer division 255/127), cell grid ``(j - S//2) * 16`` around crop
    pixel 127, crops placed with ``int()`` truncation, crops fed as RGB (``swapRB = true``), and the scale
    penalty measured against the target *position* (as OpenCV's code does), not its size.
``"siamrpn"``
    pysot's SiamRPN++ ResNet-50 test settings (window 0.42, penalty_k 0.05, lr 0.38), pysot rounding; the
    default for the ResNet-50 models.
``"siamfc"``
    SiamFC's scale-pyramid search (3 scales, step 1.0375, scale penalty 0.9745, scale lr 0.59, x16 bicubic
    response upsampling, window influence 0.176); used whenever the model has no box branch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

__all__ = ["TrackerConfig", "PRESETS", "preset", "tracker_config_for"]


@dataclass
class TrackerConfig:
    # --- crops
    context_amount: float = 0.5  # exemplar side = sqrt((w + p)(h + p)), p = context_amount * (w + h)
    search_ratio: float | None = None  # search side / exemplar side in image pixels; None = instance/exemplar size
    rounding: Literal["pysot", "opencv"] = "pysot"  # integer conventions of crops and context (see crop.py)
    swap_rb: bool = False  # feed crops as RGB (OpenCV TrackerNano's blobFromImage(swapRB=true))
    # --- box-branch decoding (SiamRPN / NanoTrack style)
    window_influence: float = 0.42
    window: Literal["outer", "sqrt"] = "outer"  # Hann outer product, or its square root (cv2.createHanningWindow)
    penalty_k: float = 0.05
    lr: float = 0.38  # size smoothing; the effective rate is penalty * score * lr at the chosen cell
    min_size: float = 10.0  # smallest width/height a box is clipped to
    grid: Literal["geometry", "opencv"] = "geometry"  # cell positions: OutputGeometry or OpenCV's (j - S//2)*stride
    scale_penalty_reference: Literal["size", "position"] = "size"  # "position" = OpenCV NanoTrack's quirk
    # --- which score picks the cell and gates the template update
    gate_confidence: Literal["cls", "conf", "weighted"] = "cls"
    confidence_weight: float = 0.5  # w in weighted = w * softmax(cls) + (1 - w) * sigmoid(conf)
    # --- template memory (only for models with ST)
    update_threshold: float = 0.8  # update f_c / f_z* only when the gate confidence exceeds this
    update_interval: int = 1  # try an update every this many frames (1 = every frame)
    # --- SiamFC scale-pyramid decoding (models whose HeadOutput.loc is None)
    scale_num: int = 3
    scale_step: float = 1.0375
    scale_penalty: float = 0.9745
    scale_lr: float = 0.59
    response_upsample: int = 16
    siamfc_window_influence: float = 0.176

    def __post_init__(self) -> None:
        from dastsiam.config import ConfigError

        checks = [
            (self.context_amount >= 0, "context_amount must be >= 0"),
            (self.search_ratio is None or self.search_ratio > 0, "search_ratio must be > 0"),
            (0 <= self.window_influence <= 1, "window_influence must be in [0, 1]"),
            (0 <= self.siamfc_window_influence <= 1, "siamfc_window_influence must be in [0, 1]"),
            (0 <= self.lr <= 1, "lr must be in [0, 1]"),
            (0 <= self.confidence_weight <= 1, "confidence_weight must be in [0, 1]"),
            (self.min_size > 0, "min_size must be > 0"),
            (self.update_interval >= 1, "update_interval must be >= 1"),
            (self.scale_num >= 1 and self.scale_num % 2 == 1, "scale_num must be odd"),
            (self.scale_step > 0 and self.response_upsample >= 1, "scale_step > 0 and response_upsample >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"TrackerConfig: {message}")


PRESETS: dict[str, TrackerConfig] = {
    "nano": TrackerConfig(
        context_amount=0.5,
        search_ratio=2.0,
        rounding="opencv",
        swap_rb=True,
        window_influence=0.455,
        window="sqrt",
        penalty_k=0.055,
        lr=0.37,
        min_size=10.0,
        grid="opencv",
        scale_penalty_reference="position",
        gate_confidence="cls",
    ),
    "siamrpn": TrackerConfig(window_influence=0.42, penalty_k=0.05, lr=0.38, gate_confidence="weighted"),
    "siamfc": TrackerConfig(gate_confidence="cls"),
}


def preset(name: str, **overrides) -> TrackerConfig:
    """A copy of the named preset with ``overrides`` applied."""
    from dastsiam.config import ConfigError

    if name not in PRESETS:
        raise ConfigError(f"unknown tracker preset {name!r}; presets: {', '.join(PRESETS)}")
    return dataclasses.replace(PRESETS[name], **overrides)


_GATE_FROM_MODEL = {"cls": "cls", "cls_conf": "weighted", "conf": "conf"}


def tracker_config_for(model_config) -> TrackerConfig:
    """The preset matching a :class:`~dastsiam.models.ModelConfig` (arch -> preset; confidence -> gate)."""
    arch = getattr(model_config, "arch", "r50")
    if arch == "nano":
        return preset("nano")  # OpenCV's post-processing; the gate uses cls, as OpenCV scores
    if arch == "alexnet":
        return preset("siamfc")
    gate = _GATE_FROM_MODEL.get(getattr(model_config, "confidence", "cls_conf"), "weighted")
    return preset("siamrpn", gate_confidence=gate)
