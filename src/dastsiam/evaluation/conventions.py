"""Every scoring convention, written once. See ``docs/evaluation.md`` for the reasoning behind each default.

The official toolkits disagree on details that move published numbers by up to a few tenths of a point;
:class:`Conventions` names each of them and :data:`PRESETS` fixes the set each benchmark's own toolkit uses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from dastsiam.errors import InputError

IOU_CHOICES = ("continuous", "pixel")
FIRST_FRAME_CHOICES = ("ground_truth", "as_is", "exclude")
INVALID_RESULT_CHOICES = ("previous", "as_is")
INVALID_GT_CHOICES = ("fail", "skip")
GT_VALID_CHOICES = ("positive", "size")
SUCCESS_OP_CHOICES = (">", ">=")
ALIGN_CHOICES = ("start", "end")
AVERAGE_CHOICES = ("sequence", "frame")


@dataclass(frozen=True)
class Conventions:
    """How frames are scored. Field values are strings so they can come straight from the command line.

    Attributes:
        iou: ``continuous`` (area ``w*h``; OTB/UAV/LaSOT MATLAB toolkits, got10k, pysot) or ``pixel`` (boxes
            cover ``w+1`` by ``h+1`` pixels, the PASCAL-VOC ``+1`` rule).
        first_frame: ``ground_truth`` (frame 1 is set to the ground truth: OTB toolkit), ``as_is`` (the result
            file's own first row: pysot), ``exclude`` (frame 1 is not scored: GOT-10k).
        invalid_result: what a result row that is missing, NaN or has ``w<=0``/``h<=0`` becomes: ``previous``
            (the last valid box, OTB toolkit) or ``as_is`` (scored as it is, i.e. IoU 0, got10k/pysot).
        invalid_gt: frames whose ground truth is invalid or absent: ``fail`` (count as failures in both
            success and precision: OTB/UAV/LaSOT toolkits) or ``skip`` (left out: GOT-10k).
        gt_valid: which ground-truth rows are valid: ``positive`` (all four numbers > 0 in the file's own
            1-based convention, the OTB toolkit's ``rect_anno > 0``) or ``size`` (finite with ``w>0``, ``h>0``).
        success_op: success at threshold ``t`` is ``IoU > t`` (every official toolkit) or ``IoU >= t``.
        align: a result shorter than the annotation covers its ``start`` rows (the run stopped early) or its
            ``end`` rows (the run started later); either way the frames it does not cover are failures. The
            OTB-100 release's Tiger1 results (349 rows for frames 6..354, ``initOmit = 5``) are scored on
            that range (:data:`OTB_START_FRAMES`).
        average: ``sequence`` (curves averaged over sequences: OTB, UAV, LaSOT) or ``frame`` (all frames of all
            sequences pooled: GOT-10k's AO and SR).
        success_thresholds: number of points of the success curve over [0, 1] (21: OTB; 101: GOT-10k, pysot).
        precision_threshold: centre-error threshold (pixels) reported as "precision" (20).
        norm_precision_threshold: normalised centre-error threshold reported as "norm_precision" (0.2).
    """

    iou: str = "continuous"
    first_frame: str = "ground_truth"
    invalid_result: str = "previous"
    invalid_gt: str = "fail"
    gt_valid: str = "positive"
    success_op: str = ">"
    align: str = "start"
    average: str = "sequence"
    success_thresholds: int = 21
    precision_threshold: float = 20.0
    norm_precision_threshold: float = 0.2

    def __post_init__(self) -> None:
        for name, choices in (
            ("iou", IOU_CHOICES),
            ("first_frame", FIRST_FRAME_CHOICES),
            ("invalid_result", INVALID_RESULT_CHOICES),
            ("invalid_gt", INVALID_GT_CHOICES),
            ("gt_valid", GT_VALID_CHOICES),
            ("success_op", SUCCESS_OP_CHOICES),
            ("align", ALIGN_CHOICES),
            ("average", AVERAGE_CHOICES),
        ):
            value = getattr(self, name)
            if value not in choices:
                raise InputError(f"scoring convention {name} must be one of {', '.join(choices)}, got {value!r}")
        if self.success_thresholds < 2:
            raise InputError(f"success_thresholds must be at least 2, got {self.success_thresholds}")
        for name in ("precision_threshold", "norm_precision_threshold"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):  # nan, inf, 0 or below: no precision could be meant
                raise InputError(f"{name} must be a positive finite number, got {value!r}")

    @property
    def iou_thresholds(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self.success_thresholds)

    def with_overrides(self, **overrides) -> "Conventions":
        """A copy with the given fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


#: OTB sequences whose trackers start after the first annotated frame: Tiger1 has ``initOmit = 5`` in the OTB
#: toolkit's sequence list (pytracking's ``otbdataset.py`` copies it), so published results start at frame 6.
#: A result with exactly ``rows - (start - 1)`` rows is scored on frames ``start..rows``.
OTB_START_FRAMES = {"Tiger1": 6}

#: Precision curve thresholds: 0..50 pixels (OTB plots), normalised precision 0..0.5 (LaSOT plots).
PRECISION_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
NORM_PRECISION_THRESHOLDS = np.linspace(0.0, 0.5, 51)

PRESETS: dict[str, Conventions] = {
    # OTB toolkit (calcSeqErrRobust.m + perfPlot.m); reproduces the published OTB-100 numbers.
    "otb": Conventions(),
    # The UAV123 toolkit is the OTB toolkit with UAV annotations: NaN rows (absent target) fail.
    "uav123": Conventions(),
    # The LaSOT toolkit is OTB-derived too (plus normalised precision).
    "lasot": Conventions(),
    # got10k toolkit (ExperimentGOT10k): frame 1 excluded, absent (cover == 0) frames excluded, raw boxes,
    # AO/SR over all frames pooled, success curve on 101 thresholds.
    "got10k": Conventions(
        first_frame="exclude",
        invalid_result="as_is",
        invalid_gt="skip",
        gt_valid="size",
        average="frame",
        success_thresholds=101,
    ),
    # For a custom dataset (0-based files): only finite boxes of positive size are valid ground truth.
    "custom": Conventions(gt_valid="size"),
}


def preset(kind: str) -> Conventions:
    key = kind.lower().replace("-", "").replace("_", "")
    aliases = {"otb100": "otb", "otb50": "otb", "otb2015": "otb", "otb2013": "otb", "uav": "uav123"}
    key = aliases.get(key, key)
    if key not in PRESETS:
        raise InputError(f"no scoring preset for dataset {kind!r}; expected one of {', '.join(PRESETS)}")
    return PRESETS[key]
