"""One-pass (OPE) metrics: IoU, centre error, success / precision / normalised-precision curves, AO and SR.

All inputs are ``(N, 4)`` ``x, y, w, h`` arrays in one and the same pixel convention (scores are shift
invariant, so 0-based and 1-based both work as long as results and ground truth agree). The conventions
that the official toolkits disagree on are parameters, gathered in :class:`~.conventions.Conventions`.
Everything is vectorised over frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dastsiam import boxes as _boxes
from dastsiam.evaluation.conventions import NORM_PRECISION_THRESHOLDS, PRECISION_THRESHOLDS, Conventions


def overlap(a, b, iou: str = "continuous") -> np.ndarray:
    """IoU of paired boxes. ``continuous``: area ``w*h`` (:func:`dastsiam.boxes.iou`); ``pixel``: ``(w+1)(h+1)``.

    NaN boxes or an empty union give 0.
    """
    if iou == "continuous":
        return _boxes.iou(a, b)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ix = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + 1.0
    iy = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + 1.0
    inter = np.clip(ix, 0, None) * np.clip(iy, 0, None)
    union = (a[..., 2] + 1) * (a[..., 3] + 1) + (b[..., 2] + 1) * (b[..., 3] + 1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return np.nan_to_num(out, nan=0.0)


def centre_error(a, b) -> np.ndarray:
    """Euclidean distance between box centres (``x + w/2``; OTB's ``x + (w-1)/2`` gives the same distance)."""
    return _boxes.center_distance(a, b)


def normalised_centre_error(results, ground_truth) -> np.ndarray:
    """Centre error with each axis divided by the ground-truth size (LaSOT's normalised precision)."""
    r = _boxes.xywh_to_cxcywh(results)
    g = _boxes.xywh_to_cxcywh(ground_truth)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.hypot((r[..., 0] - g[..., 0]) / g[..., 2], (r[..., 1] - g[..., 1]) / g[..., 3])


def valid_boxes(boxes: np.ndarray) -> np.ndarray:
    """Finite boxes with positive width and height."""
    b = np.asarray(boxes, dtype=np.float64)
    return np.all(np.isfinite(b), axis=-1) & (b[..., 2] > 0) & (b[..., 3] > 0)


def valid_ground_truth(gt: np.ndarray, rule: str = "positive") -> np.ndarray:
    """``positive``: all four numbers > 0 (OTB toolkit, 1-based files); ``size``: finite, ``w>0`` and ``h>0``."""
    if rule == "positive":
        with np.errstate(invalid="ignore"):
            return np.all(np.asarray(gt) > 0, axis=-1)
    return valid_boxes(gt)


def fill_invalid_with_previous(results: np.ndarray) -> np.ndarray:
    """Replace each invalid row by the last valid one before it (rows before the first valid stay)."""
    ok = valid_boxes(results)
    if ok.all():
        return results
    index = np.where(ok, np.arange(len(results)), -1)
    np.maximum.accumulate(index, out=index)
    filled = results.copy()
    take = (~ok) & (index >= 0)
    filled[take] = results[index[take]]
    return filled


def align_results(results: np.ndarray, n_frames: int, align: str = "end") -> np.ndarray:
    """Bring ``results`` to ``n_frames`` rows: a shorter file fills the ``start`` (or ``end``) rows and the
    other rows are NaN (not covered; :func:`score_frames` scores them as failures); a longer one is cut to its
    first ``n_frames`` rows."""
    if len(results) >= n_frames:
        return results[:n_frames]
    out = np.full((n_frames, 4), np.nan)
    if align == "end":
        out[n_frames - len(results) :] = results
    else:
        out[: len(results)] = results
    return out


@dataclass
class FrameScores:
    """Per-frame scores of one sequence, over the frames that count (see ``Conventions``)."""

    iou: np.ndarray  # IoU, 0 where the frame fails
    failed: np.ndarray  # frames that fail whatever the threshold: invalid ground truth, or not covered by the result
    centre_error: np.ndarray  # inf where failed
    norm_centre_error: np.ndarray  # inf where failed

    def __len__(self) -> int:
        return len(self.iou)


def score_frames(results, ground_truth, conventions: Conventions = Conventions(), absent=None) -> FrameScores:
    """Per-frame IoU and centre errors of one sequence under ``conventions``.

    Every annotated frame is scored. A result shorter than ``ground_truth`` covers its first rows
    (``align="start"``) or its last ones (``"end"``); the frames it does not cover are **failures** (OTB
    rules: a missing result never passes a threshold and is never filled from a previous box), so a short or
    empty file can only lower a score. (The OTB-100 release's Tiger1, whose trackers start at frame 6 (initOmit 5),
    is handled by the caller cutting the annotation, see :data:`~.conventions.OTB_START_FRAMES`.) The frame-1
    rule applies when the result has at least one row. ``absent`` marks frames a benchmark flags as
    target-absent (treated like invalid ground truth).
    """
    gt = np.asarray(ground_truth, dtype=np.float64).reshape(-1, 4)
    res = np.asarray(results, dtype=np.float64).reshape(-1, 4)
    n = len(gt)
    covered = min(len(res), n)
    uncovered = np.ones(n, dtype=bool)
    if conventions.align == "end":
        uncovered[n - covered :] = False
    else:
        uncovered[:covered] = False
    res = align_results(res, n, conventions.align)
    if conventions.first_frame == "ground_truth" and covered:
        res = res.copy()
        res[0] = gt[0]
        uncovered[0] = False
    if conventions.invalid_result == "previous":
        res = fill_invalid_with_previous(res)
        res[uncovered] = np.nan
    gt_ok = valid_ground_truth(gt, conventions.gt_valid)
    if absent is not None:
        gt_ok &= ~np.asarray(absent, dtype=bool)
    keep = np.ones(n, dtype=bool)
    if conventions.first_frame == "exclude" and n:
        keep[0] = False
    if conventions.invalid_gt == "skip":
        keep &= gt_ok
    res, gt, gt_ok, uncovered = res[keep], gt[keep], gt_ok[keep], uncovered[keep]
    failed = ~gt_ok | uncovered
    iou = overlap(res, gt, conventions.iou)
    iou[failed] = 0.0
    err = centre_error(res, gt)
    nerr = normalised_centre_error(res, gt)
    err = np.where(failed | ~np.isfinite(err), np.inf, err)
    nerr = np.where(failed | ~np.isfinite(nerr), np.inf, nerr)
    return FrameScores(iou, failed, err, nerr)


def success_curve(iou, thresholds, failed=None, op: str = ">") -> np.ndarray:
    """Share of frames whose IoU passes each threshold (``IoU > t`` by default); empty input gives NaN.

    Frames in ``failed`` never pass. Computed by sorting once (``O(N log N)``, not ``N x T``).
    """
    iou = np.asarray(iou, dtype=np.float64)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    if iou.size == 0:
        return np.full(thresholds.shape, np.nan)
    if failed is not None:
        iou = np.where(np.asarray(failed, dtype=bool), -np.inf, iou)
    ordered = np.sort(iou)
    below = np.searchsorted(ordered, thresholds, side="right" if op == ">" else "left")
    return (iou.size - below) / iou.size


def precision_curve(errors, thresholds) -> np.ndarray:
    """Share of frames whose (normalised) centre error is ``<=`` each threshold (NaN errors never pass)."""
    errors = np.asarray(errors, dtype=np.float64)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    if errors.size == 0:
        return np.full(thresholds.shape, np.nan)
    ordered = np.sort(errors)  # NaN sorts last and is never <= a threshold
    return np.searchsorted(ordered, thresholds, side="right") / errors.size


def auc(curve) -> float:
    """Area under a success curve as the benchmarks compute it: the mean of the curve's points."""
    return float(np.mean(curve))


@dataclass
class SequenceScore:
    """Curves and summary numbers of one sequence (or of pooled frames)."""

    name: str
    frames: int
    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    success_auc: float
    precision_at: float
    norm_precision_at: float
    ao: float
    sr50: float
    sr75: float
    extra: dict = field(default_factory=dict)


def summarise(name: str, frames: FrameScores, conventions: Conventions) -> SequenceScore:
    """Curves and numbers for a set of frames (one sequence, or all frames pooled)."""
    thresholds = conventions.iou_thresholds
    success = success_curve(frames.iou, thresholds, frames.failed, conventions.success_op)
    prec = precision_curve(frames.centre_error, PRECISION_THRESHOLDS)
    nprec = precision_curve(frames.norm_centre_error, NORM_PRECISION_THRESHOLDS)
    n = len(frames)
    if n:
        precision_at = float(np.mean(frames.centre_error <= conventions.precision_threshold))
        norm_at = float(np.mean(frames.norm_centre_error <= conventions.norm_precision_threshold))
        sr = success_curve(frames.iou, [0.5, 0.75], frames.failed, conventions.success_op)
        ao = float(np.mean(frames.iou))
    else:
        precision_at = norm_at = ao = float("nan")
        sr = np.full(2, np.nan)
    return SequenceScore(
        name, n, success, prec, nprec, auc(success), precision_at, norm_at, ao, float(sr[0]), float(sr[1])
    )


def score_sequence(name, results, ground_truth, conventions: Conventions = Conventions(), absent=None) -> SequenceScore:
    return summarise(name, score_frames(results, ground_truth, conventions, absent), conventions)


def concatenate(frame_scores: list[FrameScores]) -> FrameScores:
    if not frame_scores:
        empty = np.zeros(0)
        return FrameScores(empty, empty.astype(bool), empty, empty)
    return FrameScores(
        np.concatenate([f.iou for f in frame_scores]),
        np.concatenate([f.failed for f in frame_scores]),
        np.concatenate([f.centre_error for f in frame_scores]),
        np.concatenate([f.norm_centre_error for f in frame_scores]),
    )


SUMMARY_KEYS = ("success_auc", "precision", "norm_precision", "norm_precision_auc", "ao", "sr50", "sr75")


def aggregate(
    sequence_scores: list[SequenceScore], frame_scores: list[FrameScores], conventions: Conventions
) -> dict:
    """Dataset-level numbers: curves averaged over sequences (``average="sequence"``) or frames pooled
    (``average="frame"``). Returns the summary dict plus the three curves (numpy arrays)."""
    if conventions.average == "frame":
        pooled = summarise("all", concatenate(frame_scores), conventions)
        success, prec, nprec = pooled.success, pooled.precision, pooled.norm_precision
        precision_at, norm_at, ao, sr50, sr75 = (
            pooled.precision_at, pooled.norm_precision_at, pooled.ao, pooled.sr50, pooled.sr75
        )
    else:
        usable = [s for s in sequence_scores if s.frames > 0]
        if not usable:
            nan = float("nan")
            success = np.full(conventions.success_thresholds, np.nan)
            prec = np.full(len(PRECISION_THRESHOLDS), np.nan)
            nprec = np.full(len(NORM_PRECISION_THRESHOLDS), np.nan)
            precision_at = norm_at = ao = sr50 = sr75 = nan
        else:
            success = np.mean([s.success for s in usable], axis=0)
            prec = np.mean([s.precision for s in usable], axis=0)
            nprec = np.mean([s.norm_precision for s in usable], axis=0)
            precision_at = float(np.mean([s.precision_at for s in usable]))
            norm_at = float(np.mean([s.norm_precision_at for s in usable]))
            ao = float(np.mean([s.ao for s in usable]))
            sr50 = float(np.mean([s.sr50 for s in usable]))
            sr75 = float(np.mean([s.sr75 for s in usable]))
    return {
        "success_auc": auc(success),
        "precision": precision_at,
        "norm_precision": norm_at,
        "norm_precision_auc": auc(nprec),
        "ao": ao,
        "sr50": sr50,
        "sr75": sr75,
        "sequences": len(sequence_scores),
        "frames": int(sum(s.frames for s in sequence_scores)),
        "curves": {"success": success, "precision": prec, "norm_precision": nprec},
    }
