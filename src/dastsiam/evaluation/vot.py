"""VOT2018 short-term baseline (reset) protocol: accuracy, robustness and EAO.

Conventions (those of the VOT2018 toolkit as re-implemented by pysot, which is what Siamese-tracker papers
report):

* Overlap is the IoU of the result region and the ground-truth **polygon** (exact convex-polygon
  intersection), both optionally clipped to the image (``bounds = (width - 1, height - 1)`` as pysot does).
* Trajectory lines ``1`` (initialisation), ``2`` (failure) and ``0`` (skipped) have no overlap.
* A failure is a frame whose overlap is 0; the tracker is re-initialised ``skip_after_failure = 5`` frames later.
* Accuracy ignores the ``burn_in = 10`` frames starting at every (re-)initialisation and is the mean overlap
  over all remaining frames of all sequences (pooled).
* Robustness is reported two ways: ``failures`` (total count, VOT's raw number) and ``robustness`` =
  ``failures / frames * 100`` (pysot's "Robustness", e.g. 0.234 for 50 failures on VOT2018's 21356 frames).
* EAO: trajectories are cut into fragments at each re-initialisation; a fragment that ends in a failure is
  extended with zero overlap to the longest sequence length; the expected overlap for length ``Ns`` is the
  weighted mean over fragments that reach ``Ns`` of their mean overlap on frames ``2..Ns``; EAO averages it
  over VOT2018's interval ``[100, 356]``. Repetitions of a sequence weigh ``1 / repetitions`` each.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dastsiam.datasets.vot import box_rows_to_polygons

VOT2018_EAO_INTERVAL = (100, 356)
BURN_IN = 10
SKIP_AFTER_FAILURE = 5
INIT, FAILURE, SKIPPED = 1, 2, 0


def _as_polygon(region) -> np.ndarray:
    r = np.asarray(region, dtype=np.float64).reshape(-1)
    if r.size == 4:
        r = box_rows_to_polygons(r[None, :])[0]
    return r.reshape(4, 2)


def _clip(poly: np.ndarray, bounds) -> np.ndarray:
    if bounds is None:
        return poly
    frame = np.array([[0, 0], [bounds[0], 0], [bounds[0], bounds[1]], [0, bounds[1]]], dtype=np.float32)
    area, clipped = cv2.intersectConvexConvex(poly.astype(np.float32), frame)
    return clipped.reshape(-1, 2) if clipped is not None and area > 0 else np.zeros((0, 2))


def polygon_iou(a, b, bounds=None) -> float:
    """IoU of two regions given as ``x,y,w,h`` boxes or 8-number convex polygons (VOT rotated boxes)."""
    pa = _clip(_as_polygon(a), bounds)
    pb = _clip(_as_polygon(b), bounds)
    if len(pa) < 3 or len(pb) < 3 or not (np.all(np.isfinite(pa)) and np.all(np.isfinite(pb))):
        return 0.0
    pa32, pb32 = pa.astype(np.float32), pb.astype(np.float32)
    area_a = abs(cv2.contourArea(pa32))
    area_b = abs(cv2.contourArea(pb32))
    inter, _ = cv2.intersectConvexConvex(_convex(pa32), _convex(pb32))
    union = area_a + area_b - inter
    return float(inter / union) if union > 0 else 0.0


def _convex(poly: np.ndarray) -> np.ndarray:
    return cv2.convexHull(poly.reshape(-1, 1, 2)).reshape(-1, 2)


def _is_flag(item) -> bool:
    return isinstance(item, (int, np.integer))


def trajectory_overlaps(trajectory: list, gt_polygons: np.ndarray, bounds=None, burn_in: int = 0) -> np.ndarray:
    """Per-frame overlaps (NaN on flag lines and, with ``burn_in``, on the frames after each initialisation)."""
    n = min(len(trajectory), len(gt_polygons))
    out = np.full(n, np.nan)
    hidden = np.zeros(n, dtype=bool)
    if burn_in > 0:
        for i in range(n):
            if _is_flag(trajectory[i]) and trajectory[i] == INIT:
                hidden[i : i + burn_in] = True
    for i in range(n):
        if hidden[i] or _is_flag(trajectory[i]):
            continue
        out[i] = polygon_iou(trajectory[i], gt_polygons[i], bounds)
    return out


def failures_of(trajectory: list) -> list[int]:
    return [i for i, item in enumerate(trajectory) if _is_flag(item) and item == FAILURE]


@dataclass
class VOTScore:
    accuracy: float
    failures: float
    robustness: float
    eao: float
    frames: int
    expected_overlaps: np.ndarray


def expected_average_overlap(
    overlaps: list[np.ndarray], failures: list[list[int]], weights: list[float] | None = None,
    interval=VOT2018_EAO_INTERVAL, skip_after_failure: int = SKIP_AFTER_FAILURE,
) -> tuple[float, np.ndarray]:
    """EAO over ``interval`` (1-based sequence lengths, inclusive) and the expected-overlap curve.

    ``overlaps``: per-run per-frame overlaps without burn-in (NaN on flag lines); ``failures``: failure frame
    indices per run; ``weights``: per-run weight (``1 / repetitions``).
    """
    weights = weights if weights is not None else [1.0] * len(overlaps)
    max_len = max(len(o) for o in overlaps)
    rows, row_weights = [], []
    for ov, fails, w in zip(overlaps, failures, weights):
        ov = np.asarray(ov, dtype=np.float64)
        starts = [0] + [f + skip_after_failure for f in fails if f + skip_after_failure <= len(ov)]
        for k, start in enumerate(starts):
            row = np.full(max_len, np.nan)
            if k < len(starts) - 1:  # ends in a failure: zero overlap from there on
                row[:] = 0.0
                piece = np.nan_to_num(ov[start : starts[k + 1] + 1], nan=0.0)
            else:
                piece = ov[start:]
                if fails:
                    piece = np.nan_to_num(piece, nan=0.0)
            row[: len(piece)] = piece
            rows.append(row)
            row_weights.append(w)
    fragments = np.array(rows)
    fw = np.array(row_weights)
    # mean over frames 1..i of each fragment (frame 0, the initialisation, is never counted)
    body = np.nan_to_num(fragments[:, 1:], nan=0.0)
    means = np.cumsum(body, axis=1) / np.arange(1, max_len)[None, :]
    reach = ~np.isnan(fragments[:, 1:])
    wsum = (reach * fw[:, None]).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        curve_tail = (means * reach * fw[:, None]).sum(axis=0) / wsum
    curve = np.concatenate([[1.0], np.where(wsum > 0, curve_tail, 0.0)])
    low, high = interval
    window = curve[low - 1 : high]
    return float(np.mean(window)) if window.size else float("nan"), curve


def score_vot(
    runs: dict[str, list[list]], gt_polygons: dict[str, np.ndarray], bounds: dict | None = None,
    burn_in: int = BURN_IN, interval=VOT2018_EAO_INTERVAL,
) -> VOTScore:
    """Score baseline runs: ``runs[seq]`` is a list of trajectories (repetitions) of ``seq``."""
    bounds = bounds or {}
    acc_overlaps, all_overlaps, all_failures, weights = [], [], [], []
    total_failures = 0.0
    frames = 0
    for name, trajectories in runs.items():
        gt = gt_polygons[name]
        frames += len(gt)
        seq_failures = []
        for traj in trajectories:
            acc_overlaps.append(trajectory_overlaps(traj, gt, bounds.get(name), burn_in))
            all_overlaps.append(trajectory_overlaps(traj, gt, bounds.get(name), 0))
            fails = failures_of(traj)
            all_failures.append(fails)
            seq_failures.append(len(fails))
            weights.append(1.0 / len(trajectories))
        total_failures += float(np.mean(seq_failures))
    pooled = np.concatenate(acc_overlaps) if acc_overlaps else np.zeros(0)
    accuracy = float(np.nanmean(pooled)) if np.any(np.isfinite(pooled)) else float("nan")
    eao, curve = expected_average_overlap(all_overlaps, all_failures, weights, interval) if all_overlaps else (float("nan"), np.zeros(0))
    robustness = total_failures / frames * 100.0 if frames else float("nan")
    return VOTScore(accuracy, total_failures, robustness, eao, frames, curve)
