"""Tracker hyper-parameters (:class:`TrackerConfig`) and the named presets.

Presets (see docs/tracking.md for where each number comes from):

``"opencv-nano"``
    OpenCV's ``TrackerNano`` (``modules/video/src/tracking/tracker_nano.cpp``) reproduced exactly, including
    its integer conventions and quirks: window influence 0.455 on ``cv2.createHanningWindow`` (the square root of
    the Hann outer product), penalty_k 0.055, lr 0.37, context 0.5,
    search crop = 2 x exemplar crop (C integer division 255/127), cell grid ``(j - S//2) * 16`` around crop
    pixel 127, crops placed with ``int()`` truncation, crops fed as RGB (``swapRB = true``), and the scale
    penalty measured against the target *position* (as OpenCV's code does), not its size.
    tests/tracking/test_opencv_peer.py checks it against ``cv2.TrackerNano``.
``"nano"`` (the nano models' default)
    ``opencv-nano`` with crops centred exactly on the target (``rounding="subpixel"``, see
    :mod:`dastsiam.tracking.crop`): OpenCV's integer crop placement puts the crop centre up to a pixel left of
    and above the target, and the boxes came out a median 1-2 px right of and below the ground truth
    (issue 8.6; measured in docs/tracking.md).
``"nano-v3"``
    NanoTrack v3's own test settings (HonglinChu/SiamTrackers ``NanoTrack/models/config/configv3.yaml`` and
    ``nanotrack/tracker/nano_tracker.py``): window influence 0.455 on the Hann outer product, penalty_k 0.138,
    lr 0.348, search side ``s_z * 255 / 127``, scale penalty against the scaled target size, crops fed as BGR
    (as v3 was trained and tested), cell grid ``(j - S//2) * 16``; crops centred exactly on the target (v3's own
    code places them like pysot, with the bias of issue 8.6). OpenCV cannot run v3, so the OpenCV quirks of
    ``"opencv-nano"`` have no reason to apply to it.
``"siamrpn"``
    pysot's SiamRPN++ ResNet-50 test settings (window 0.42, penalty_k 0.05, lr 0.38), sub-pixel crops; the
    paper's update gate: weighted sum of the two classification branches, threshold 1.18 (Sec. 3.1).
``"siamfc"``
    SiamFC's scale-pyramid search (3 scales, step 1.0375, scale penalty 0.9745, scale lr 0.59, x16 bicubic
    response upsampling, window influence 0.176); used whenever the model has no box branch. Update gate:
    threshold on the raw response maximum (paper Sec. 3.1; the value is ours, see :data:`SIAMFC_THRESHOLD`).
``"fear-xs"``
    FEAR's Python tracker (PinataFarms/FEARTracker ``model_training/tracker/fear_tracker.py`` + ``base_tracker.py``
    with ``config/tracker/siam_tracker.yaml``; :mod:`dastsiam.tracking.fear`): template = the box extended by
    0.2 box sizes per side, search = by 2 per side, each resized (not squared) to 128 / 256 px; the box of the
    cell with the highest score, no penalty, window or size smoothing (the config does not set ``smooth``;
    ``fear_smooth=True`` turns on the reference's smoothing with the config's 0.062 / 0.38 / 0.765), integer
    boxes as the reference rounds them (``rounding="fear"``), sides of at least 3 px.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["TrackerConfig", "PRESETS", "preset", "tracker_config_for", "PAPER_THRESHOLD", "SIAMFC_THRESHOLD",
           "SINGLE_BRANCH_THRESHOLD"]

# Sec. 3.1: "In SiamRPN ... we decide to set the update threshold to 1.18" -- for the weighted sum of the two
# classification branches (softmax target probability + sigmoid confidence, weights 1 and 1: range [0, 2]).
PAPER_THRESHOLD = 1.18
# Gates reading one branch in [0, 1] (cls or conf alone, the weighted average): the paper's level per branch,
# 1.18 / 2 (our choice; the paper only uses the two-branch sum).
SINGLE_BRANCH_THRESHOLD = PAPER_THRESHOLD / 2
# SiamFC: "the threshold value is directly set for the maximum value of the response map" (no number given).
# The response is the logit of SiamFC's logistic loss; we use the logit of the same per-branch level,
# log(0.59 / 0.41) = 0.364: the peak must be at least as sure as one SiamRPN branch at the paper's threshold.
SIAMFC_THRESHOLD = round(math.log(SINGLE_BRANCH_THRESHOLD / (1.0 - SINGLE_BRANCH_THRESHOLD)), 3)


@dataclass
class TrackerConfig:
    # --- crops
    context_amount: float = 0.5  # exemplar side = sqrt((w + p)(h + p)), p = context_amount * (w + h)
    search_ratio: float | None = None  # search side / exemplar side in image pixels; None = instance/exemplar size
    # crop placement: exact centre (subpixel) or a published integer convention (see crop.py)
    # ("fear": the FEAR reference's integer boxes, only with decoder "fear"; see dastsiam.tracking.fear)
    rounding: Literal["subpixel", "pysot", "opencv", "fear"] = "subpixel"
    swap_rb: bool = False  # feed crops as RGB (OpenCV TrackerNano's blobFromImage(swapRB=true))
    # --- which decoding: "auto" = chosen by the model's output (box branch per cell or per anchor, SiamFC's
    # pyramid without one); "fear" = FEAR's tracker (its crops, its decoding; dastsiam.tracking.fear)
    decoder: Literal["auto", "fear"] = "auto"
    # FEAR crops: the box extended by this many box sizes on each side (extend_bbox), resized to the crop size
    fear_template_offset: float = 0.2
    fear_search_offset: float = 2.0
    fear_smooth: bool = False  # the reference's `smooth`: penalty + window + size smoothing (penalty_k, window_influence, lr)
    # --- box-branch decoding (SiamRPN / NanoTrack style)
    window_influence: float = 0.42
    window: Literal["outer", "sqrt"] = "outer"  # Hann outer product, or its square root (cv2.createHanningWindow)
    penalty_k: float = 0.05
    lr: float = 0.38  # size smoothing; the effective rate is penalty * score * lr at the chosen cell
    min_size: float = 10.0  # smallest width/height a box is clipped to
    grid: Literal["geometry", "opencv"] = "geometry"  # cell positions: OutputGeometry or OpenCV's (j - S//2)*stride
    scale_penalty_reference: Literal["size", "position"] = "size"  # "position" = OpenCV NanoTrack's quirk
    # --- which score picks the cell and gates the template update (docs/tracking.md, "gate")
    # sum: w_cls * softmax(cls) + w_conf * sigmoid(conf) at the chosen cell (the paper's); weighted: the
    # average w * softmax + (1 - w) * sigmoid; cls / conf: one branch; response_max: the map's maximum
    # (SiamFC: the raw response maximum)
    gate_confidence: Literal["sum", "weighted", "cls", "conf", "response_max"] = "sum"
    gate_weights: tuple[float, float] = (1.0, 1.0)  # (w_cls, w_conf) of the "sum" gate
    confidence_weight: float = 0.5  # w in weighted = w * softmax(cls) + (1 - w) * sigmoid(conf)
    # --- template memory (only for models with ST)
    update_threshold: float = PAPER_THRESHOLD  # update f_c / f_z* only when the gate value exceeds this
    update_interval: int = 1  # try an update every this many frames (1 = every frame)
    # how a gated update changes the template: "st" = the model's ST fusion f_a = ST(f_a, f_c, f_i) (models with ST
    # only; the paper's); "linear" = UpdateNet's linear baseline f_a = (1 - update_rate) f_a + update_rate f_c,
    # training-free, for any model (docs/ablation.md, FEAR section)
    template_update: Literal["st", "linear"] = "st"
    update_rate: float = 0.05  # the linear update's rate a
    # --- SiamFC scale-pyramid decoding (tracking/decoders/scale_pyramid.py)
    scale_num: int = 3
    scale_step: float = 1.0375
    scale_penalty: float = 0.9745
    scale_lr: float = 0.59
    response_upsample: int = 16
    siamfc_window_influence: float = 0.176
    # --- VOT reset protocol: how a rotated ground-truth polygon becomes the (re-)initialisation box
    # ("pysot": pysot's get_axis_aligned_bbox, used for the SiamRPN-family VOT numbers; "envelope": min/max box);
    # see evaluation.vot.vot_init_box and docs/evaluation.md
    vot_init: Literal["pysot", "envelope"] = "pysot"

    def __post_init__(self) -> None:
        from dastsiam.config import ConfigError

        checks = [
            (self.context_amount >= 0, "context_amount must be >= 0"),
            (self.search_ratio is None or self.search_ratio > 0, "search_ratio must be > 0"),
            (0 <= self.window_influence <= 1, "window_influence must be in [0, 1]"),
            (0 <= self.siamfc_window_influence <= 1, "siamfc_window_influence must be in [0, 1]"),
            (0 <= self.lr <= 1, "lr must be in [0, 1]"),
            (0 <= self.confidence_weight <= 1, "confidence_weight must be in [0, 1]"),
            (len(self.gate_weights) == 2 and min(self.gate_weights) >= 0 and sum(self.gate_weights) > 0,
             "gate_weights must be two weights >= 0 with a positive sum"),
            (self.min_size > 0, "min_size must be > 0"),
            (self.update_interval >= 1, "update_interval must be >= 1"),
            (0.0 <= self.update_rate <= 1.0, "update_rate must be in [0, 1]"),
            (self.scale_num >= 1 and self.scale_num % 2 == 1, "scale_num must be odd"),
            (self.scale_step > 0 and self.response_upsample >= 1, "scale_step > 0 and response_upsample >= 1"),
            (self.vot_init in ("pysot", "envelope"), "vot_init must be 'pysot' or 'envelope'"),
            (self.fear_template_offset >= 0 and self.fear_search_offset >= 0, "FEAR crop offsets must be >= 0"),
            ((self.rounding == "fear") <= (self.decoder == "fear"), 'rounding "fear" needs decoder "fear"'),
            (self.decoder != "fear" or self.rounding in ("fear", "subpixel"),
             'decoder "fear" takes rounding "fear" (the reference\'s integer boxes) or "subpixel"'),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"TrackerConfig: {message}")


PRESETS: dict[str, TrackerConfig] = {
    "opencv-nano": TrackerConfig(
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
        gate_confidence="cls",  # OpenCV's score; nano models with a confidence branch: tracker_config_for
        update_threshold=SINGLE_BRANCH_THRESHOLD,
    ),
    "nano-v3": TrackerConfig(
        context_amount=0.5,
        search_ratio=None,
        rounding="subpixel",
        swap_rb=False,
        window_influence=0.455,
        window="outer",
        penalty_k=0.138,
        lr=0.348,
        min_size=10.0,
        grid="opencv",
        scale_penalty_reference="size",
        gate_confidence="cls",
        update_threshold=SINGLE_BRANCH_THRESHOLD,
    ),
}
PRESETS["nano"] = dataclasses.replace(PRESETS["opencv-nano"], rounding="subpixel")
PRESETS |= {
    "siamrpn": TrackerConfig(window_influence=0.42, penalty_k=0.05, lr=0.38, gate_confidence="sum",
                             gate_weights=(1.0, 1.0), update_threshold=PAPER_THRESHOLD),
    "siamfc": TrackerConfig(gate_confidence="response_max", update_threshold=SIAMFC_THRESHOLD),
    # siam_tracker.yaml: penalty_k 0.062, window_influence 0.38, lr 0.765, windowing cosine (used with fear_smooth)
    "fear-xs": TrackerConfig(decoder="fear", rounding="fear", fear_template_offset=0.2, fear_search_offset=2.0,
                             fear_smooth=False, penalty_k=0.062, window_influence=0.38, lr=0.765, window="outer",
                             min_size=3.0, gate_confidence="cls", update_threshold=SINGLE_BRANCH_THRESHOLD),
}


def preset(name: str, **overrides) -> TrackerConfig:
    """A copy of the named preset with ``overrides`` applied."""
    from dastsiam.config import ConfigError

    if name not in PRESETS:
        raise ConfigError(f"unknown tracker preset {name!r}; presets: {', '.join(PRESETS)}")
    return dataclasses.replace(PRESETS[name], **overrides)


# ModelConfig.confidence -> (gate mode, threshold)
_GATE_FROM_MODEL = {
    "cls_conf": ("sum", PAPER_THRESHOLD),
    "cls": ("cls", SINGLE_BRANCH_THRESHOLD),
    "conf": ("conf", SINGLE_BRANCH_THRESHOLD),
}


def tracker_config_for(model_config) -> TrackerConfig:
    """The preset matching a :class:`~dastsiam.models.ModelConfig`: arch -> preset, confidence -> gate.

    ``alexnet`` -> ``siamfc`` (raw response maximum). ``fear`` -> ``fear-xs``. ``nano`` -> ``nano`` (OpenCV's decoding, exact for the
    published models, whose ``confidence`` is ``cls``); a nano model with the confidence branch gets the
    paper's gate on top (``cls_conf``: sum, 1.18). ``r50`` -> ``siamrpn`` with the gate of its ``confidence``.
    """
    arch = getattr(model_config, "arch", "r50")
    if arch == "alexnet":
        return preset("siamfc")
    gate, threshold = _GATE_FROM_MODEL[getattr(model_config, "confidence", "cls_conf")]
    if arch == "fear":
        return preset("fear-xs", gate_confidence=gate, update_threshold=threshold)
    if arch == "nano":
        # v3: NanoTrack v3's own settings (OpenCV cannot run v3, so its v2 quirks do not apply)
        name = "nano-v3" if getattr(model_config, "nano_version", "v2") == "v3" else "nano"
        if gate == "cls":
            return preset(name)  # "nano": exactly OpenCV's TrackerNano
        return preset(name, gate_confidence=gate, update_threshold=threshold)
    return preset("siamrpn", gate_confidence=gate, update_threshold=threshold)
