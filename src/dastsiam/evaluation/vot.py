"""VOT2018 short-term baseline (reset) protocol: accuracy, robustness and EAO.

Conventions (those of the VOT2018 toolkit as re-implemented by pysot, which is what Siamese-tracker papers
report):

* Overlap: both regions rasterised to pixel masks limited to the image, exactly as the VOT toolkit
  (``vot.region.raster``, vot-toolkit 0.9.0; the same rules as VOT2018's C ``region.c`` that pysot's
  ``vot_overlap`` wraps); ``method="exact"`` takes exact polygon areas instead (clipped to
  ``(width - 1, height - 1)``).
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

from dataclasses import dataclass, field

import cv2
import numpy as np

from dastsiam.datasets.vot import box_rows_to_polygons
from dastsiam.errors import InputError

VOT2018_EAO_INTERVAL = (100, 356)
#: How a VOT region becomes the box a tracker is (re-)initialised with (``TrackerConfig.vot_init``, :func:`vot_init_box`)
VOT_INIT_RULES = ("pysot", "envelope")
BURN_IN = 10
SKIP_AFTER_FAILURE = 5
INIT, FAILURE, SKIPPED = 1, 2, 0


def ground_truth_regions(sequence) -> np.ndarray:
    """The regions VOT scores against: ``(N, 4)`` rectangles when the ground-truth file holds ``x,y,w,h`` rows
    (the toolkit keeps them rectangles, which rasterise one pixel narrower than their corner polygon), else
    the ``(N, 8)`` polygons."""
    if sequence.attributes.get("region_format") == "rectangle" or sequence.polygons is None:
        return np.asarray(sequence.ground_truth, dtype=np.float64)
    return np.asarray(sequence.polygons, dtype=np.float64)


def vot_init_box(region, rule: str = "pysot") -> np.ndarray:
    """The ``x, y, w, h`` box a tracker is (re-)initialised with from a VOT region (8-number polygon or
    4-number rectangle, VOT's pixel coordinates).

    ``"pysot"``: pysot's ``get_axis_aligned_bbox`` (``toolkit/utils/region.py``; the ``region_to_bbox`` of
    SiamFC's Python ports has the same formula), which SiamRPN, DaSiamRPN, SiamRPN++ and NanoTrack use for
    their VOT numbers: centre = the polygon's mean point, size = the envelope scaled by
    ``s = sqrt(rotated area / envelope area)`` **plus one pixel** (``w = s * (x2 - x1) + 1``), the state pysot's
    ``tracker.init`` starts from; the rotated area is ``|p1 - p2| * |p2 - p3|``. ``"envelope"``: the polygon's
    min/max axis-aligned envelope (what the VOT toolkit's ``Rectangle.convert`` gives). A 4-number rectangle is
    returned as it is by both (pysot does the same); a polygon of other than 4 corners gets its envelope
    (pysot's rule is defined for 4 corners).
    """
    if rule not in VOT_INIT_RULES:
        raise InputError(f"VOT initialisation rule must be one of {', '.join(VOT_INIT_RULES)}, got {rule!r}")
    p = np.asarray(region, dtype=np.float64).reshape(-1)
    if p.size == 4:
        return p.copy()
    if p.size < 6 or p.size % 2 or not np.all(np.isfinite(p)):
        raise InputError(f"a VOT region is x,y,w,h or a polygon of at least 3 finite points, got {region!r}")
    xs, ys = p[0::2], p[1::2]
    x1, x2, y1, y2 = xs.min(), xs.max(), ys.min(), ys.max()
    if rule == "envelope" or p.size != 8:
        return np.array([x1, y1, x2 - x1, y2 - y1])
    rotated = np.linalg.norm(p[0:2] - p[2:4]) * np.linalg.norm(p[2:4] - p[4:6])
    envelope = (x2 - x1) * (y2 - y1)
    s = float(np.sqrt(rotated / envelope)) if envelope > 0 else 1.0
    w, h = s * (x2 - x1) + 1.0, s * (y2 - y1) + 1.0
    return np.array([xs.mean() - w / 2.0, ys.mean() - h / 2.0, w, h])


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


def trajectory_overlaps(trajectory: list, gt_polygons: np.ndarray, size=None, burn_in: int = 0,
                        method: str = "raster") -> np.ndarray:
    """Per-frame overlaps (NaN on flag lines and, with ``burn_in``, on the frames after each initialisation).

    ``size`` is the image ``(width, height)``; regions are limited to it (``bounded``, as VOT and pysot do).
    """
    overlaps = _raw_overlaps(trajectory, gt_polygons, size, method)
    return _burn(overlaps, trajectory, burn_in)


def _raw_overlaps(trajectory: list, gt_polygons: np.ndarray, size, method: str) -> np.ndarray:
    n = min(len(trajectory), len(gt_polygons))
    out = np.full(n, np.nan)
    for i in range(n):
        if not _is_flag(trajectory[i]):
            out[i] = region_overlap(trajectory[i], gt_polygons[i], size, method)
    return out


def _burn(overlaps: np.ndarray, trajectory: list, burn_in: int) -> np.ndarray:
    if burn_in <= 0:
        return overlaps
    out = overlaps.copy()
    for i in range(len(out)):
        if _is_flag(trajectory[i]) and trajectory[i] == INIT:
            out[i : i + burn_in] = np.nan
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
    attributes: dict = field(default_factory=dict)  # tag -> {"accuracy", "failures", "eao", "frames"}


def expected_average_overlap(
    overlaps: list[np.ndarray], failures: list[list[int]], weights: list[float] | None = None,
    interval=VOT2018_EAO_INTERVAL, skip_after_failure: int = SKIP_AFTER_FAILURE, tags: list | None = None,
) -> tuple[float, np.ndarray]:
    """EAO over ``interval`` (1-based sequence lengths, inclusive) and the expected-overlap curve.

    ``overlaps``: per-run per-frame overlaps without burn-in (NaN on flag lines); ``failures``: failure frame
    indices per run; ``weights``: per-run weight (``1 / repetitions``). ``tags``: per-run boolean per-frame
    attribute flags; each fragment is then weighted by the share of its frames that carry the attribute
    (pysot's per-attribute EAO, VOT2018's Fig. "EAO per visual attribute"), so fragments without it do not count.

    ``curve[i]`` is the expected mean overlap of frames ``1..i`` (frame 0 is the initialisation), i.e. of a
    sequence of length ``Ns = i + 1``; EAO is the mean of ``curve[low - 1 : high]`` (Ns in ``[low, high]``),
    as VOT2018's MATLAB toolkit and pysot take it. The curve equals the VOT toolkit 0.9's
    ``compute_eao_curve`` at every ``i >= 1`` (tests/evaluation/test_eval_vot.py); that toolkit averages
    ``curve[low : high + 1]``, one length later (``eao_window="toolkit"`` in :func:`score_vot`).
    """
    weights = weights if weights is not None else [1.0] * len(overlaps)
    max_len = max(len(o) for o in overlaps)
    rows, row_weights = [], []
    for r, (ov, fails, w) in enumerate(zip(overlaps, failures, weights)):
        ov = np.asarray(ov, dtype=np.float64)
        tag = None if tags is None else np.asarray(tags[r], dtype=np.float64)
        # fragments start at frame 0 and at each re-initialisation inside the sequence; fragment k ends in
        # failure k when there is one (also a failure too close to the end for a re-initialisation: the VOT
        # toolkit zero-pads it as every failed fragment; pysot does not)
        starts = [0] + [f + skip_after_failure for f in fails if f + skip_after_failure < len(ov)]
        for k, start in enumerate(starts):
            row = np.full(max_len, np.nan)
            if k < len(fails):  # ends in a failure: zero overlap from there on
                row[:] = 0.0
                stop = starts[k + 1] + 1 if k + 1 < len(starts) else len(ov)
                piece = np.nan_to_num(ov[start:stop], nan=0.0)
            else:
                stop = len(ov)
                piece = ov[start:]
                if fails:
                    piece = np.nan_to_num(piece, nan=0.0)
            row[: len(piece)] = piece
            rows.append(row)
            share = 1.0 if tag is None else float(np.sum(tag[start:stop])) / max(stop - start, 1)
            row_weights.append(w * share)
    fragments = np.array(rows)
    fw = np.array(row_weights)
    # mean over frames 1..i of each fragment (frame 0, the initialisation, is never counted)
    body = np.nan_to_num(fragments[:, 1:], nan=0.0)
    means = np.cumsum(body, axis=1) / np.arange(1, max_len)[None, :]
    reach = ~np.isnan(fragments[:, 1:])
    wsum = (reach * fw[:, None]).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        curve_tail = (means * reach * fw[:, None]).sum(axis=0) / wsum
    # no fragment reaches length i: 0 (pysot); fragments reach it but all weigh 0 (no tagged frame): NaN, skipped
    curve = np.concatenate([[1.0], np.where(wsum > 0, curve_tail, np.where(reach.any(axis=0), np.nan, 0.0))])
    low, high = interval
    window = curve[low - 1 : high]
    window = window[np.isfinite(window)]
    return float(np.mean(window)) if window.size else float("nan"), curve


def score_vot(
    runs: dict[str, list[list]], gt_polygons: dict[str, np.ndarray], sizes: dict | None = None,
    burn_in: int = BURN_IN, interval=VOT2018_EAO_INTERVAL, method: str = "raster",
    tags: dict[str, dict[str, np.ndarray]] | None = None, eao_window: str = "vot2018",
) -> VOTScore:
    """Score baseline runs: ``runs[seq]`` is a list of trajectories (repetitions) of ``seq``.

    ``sizes[seq]`` = image ``(width, height)``; ``method``: ``raster`` (VOT toolkit / pysot overlap) or
    ``exact``; ``tags[seq][attribute]`` = per-frame booleans (VOT's ``camera_motion.tag``, ...) for the
    per-attribute accuracy (tagged frames after burn-in), failures (at tagged frames) and EAO (fragments
    weighted by their tagged share). ``eao_window="toolkit"`` averages the curve one length later, as the
    Python VOT toolkit 0.9 does.
    """
    sizes = sizes or {}
    if eao_window == "toolkit":
        interval = (interval[0] + 1, interval[1] + 1)
    acc_overlaps, all_overlaps, all_failures, weights, trajs, names = [], [], [], [], [], []
    total_failures = 0.0
    frames = 0
    for name, trajectories in runs.items():
        gt = gt_polygons[name]
        frames += len(gt)
        seq_failures = []
        for traj in trajectories:
            raw = _raw_overlaps(traj, gt, sizes.get(name), method)
            acc_overlaps.append(_burn(raw, traj, burn_in))
            all_overlaps.append(raw)
            fails = failures_of(traj)
            all_failures.append(fails)
            seq_failures.append(len(fails))
            weights.append(1.0 / len(trajectories))
            trajs.append(traj)
            names.append(name)
        total_failures += float(np.mean(seq_failures))
    pooled = np.concatenate(acc_overlaps) if acc_overlaps else np.zeros(0)
    accuracy = float(np.nanmean(pooled)) if np.any(np.isfinite(pooled)) else float("nan")
    eao, curve = expected_average_overlap(all_overlaps, all_failures, weights, interval) if all_overlaps else (float("nan"), np.zeros(0))
    robustness = total_failures / frames * 100.0 if frames else float("nan")
    attributes = {}
    tag_names: list[str] = []
    for name in runs:
        for tag in (tags or {}).get(name, {}):
            if tag not in tag_names:
                tag_names.append(tag)
    for tag in tag_names:
        masks = []
        for name, ov in zip(names, all_overlaps):
            flags = np.asarray((tags or {}).get(name, {}).get(tag, np.zeros(len(ov), dtype=bool)), dtype=bool)
            masks.append(np.concatenate([flags, np.zeros(max(0, len(ov) - len(flags)), dtype=bool)])[: len(ov)])
        tagged = np.concatenate([a[m] for a, m in zip(acc_overlaps, masks)])
        tag_acc = float(np.nanmean(tagged)) if np.any(np.isfinite(tagged)) else float("nan")
        tag_fail = float(sum(w * sum(1 for f in fails if f < len(m) and m[f]) for w, fails, m in zip(weights, all_failures, masks)))
        tag_frames = int(sum(int(m.sum()) * w for w, m in zip(weights, masks)))
        if tag_frames == 0:
            continue
        tag_eao, _ = expected_average_overlap(all_overlaps, all_failures, weights, interval, tags=masks)
        attributes[tag] = {"accuracy": tag_acc, "failures": tag_fail, "eao": tag_eao, "frames": tag_frames}
    return VOTScore(accuracy, total_failures, robustness, eao, frames, curve, attributes)

# --- the VOT toolkit's overlap: both regions rasterised to pixel masks -----------------------------------------
# A port of ``vot.region.raster`` (vot-toolkit 0.9.0, the same rules as the C ``region.c`` that VOT2018's
# MATLAB toolkit and pysot's ``vot_overlap`` use), vectorised with numpy; it agrees with the toolkit's
# ``calculate_overlaps`` to the last bit (tests/evaluation/test_eval_vot.py).


def _vot_region(region):
    """``("rect", x, y, w, h)`` or ``("poly", (N, 2))`` with the toolkit's rounding (numpy round half to even)."""
    r = np.round(np.asarray(region, dtype=np.float64).reshape(-1))
    if r.size == 4:
        return "rect", r
    return "poly", r.reshape(-1, 2)


def _region_bounds(kind, data) -> tuple[int, int, int, int]:
    if kind == "rect":
        x, y, w, h = data
        return int(round(x)), int(round(y)), int(round(x + w - 1)), int(round(y + h - 1))
    return (int(round(data[:, 0].min())), int(round(data[:, 1].min())),
            int(round(data[:, 0].max())), int(round(data[:, 1].max())))


def _raster_rect(data, bounds) -> np.ndarray:
    width, height = bounds[2] - bounds[0] + 1, bounds[3] - bounds[1] + 1
    mask = np.zeros((height, width), dtype=bool)
    x, y, w, h = data
    if x > bounds[2] or x + w - 1 < bounds[0] or y > bounds[3] or y + h - 1 < bounds[1]:
        return mask
    left, top = int(max(0, x - bounds[0])), int(max(0, y - bounds[1]))
    right = int(min(bounds[2], x + w - 1 - bounds[0]))
    bottom = int(min(bounds[3], y + h - 1 - bounds[1]))
    if right >= left and bottom >= top:
        mask[top : bottom + 1, left : right + 1] = True
    return mask


def _raster_polygon(points, bounds) -> np.ndarray:
    """Scan-line fill exactly as ``vot.region.raster.rasterize_polygon`` (nodes truncated toward zero, a
    repeated node skipped unless it is the last pair), all rows at once."""
    width, height = bounds[2] - bounds[0] + 1, bounds[3] - bounds[1] + 1
    mask = np.zeros((height, width), dtype=bool)
    p = points - np.array([bounds[0], bounds[1]], dtype=np.float64)
    count = len(p)
    if count == 0 or height <= 0 or width <= 0:
        return mask
    rows = np.arange(height, dtype=np.float64)[:, None]
    j = np.roll(np.arange(count), 1)  # edge (j, i) with j = i - 1 (j = count - 1 for i = 0)
    yi, yj, xi, xj = p[:, 1][None, :], p[j, 1][None, :], p[:, 0][None, :], p[j, 0][None, :]
    crossing = (((yi <= rows) & (yj > rows)) | ((yj <= rows) & (yi > rows)) | ((yi < rows) & (yj >= rows))
                | ((yj < rows) & (yi >= rows)) | ((yi == yj) & (yi == rows)))
    r, k = yj - yi, xj - xi
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(r != 0, xi + (rows - yi) / np.where(r != 0, r, 1.0) * k, xi)
    x = np.where(crossing, np.trunc(x), np.inf)
    nodes = np.sort(x, axis=1)
    n_nodes = crossing.sum(axis=1)
    big = np.iinfo(np.int64).max // 4
    nodes = np.where(np.isfinite(nodes), nodes, big).astype(np.int64)
    diff = np.zeros((height, width + 1), dtype=np.int64)
    i = np.zeros(height, dtype=np.int64)
    active = n_nodes >= 2
    row_index = np.arange(height)
    for _ in range(2 * count + 2):
        active &= i < n_nodes - 1
        if not active.any():
            break
        a = nodes[row_index, np.minimum(i, count - 1)]
        b = nodes[row_index, np.minimum(i + 1, count - 1)]
        stop = active & (a >= width)
        active &= ~stop
        skip = active & (a == b) & (i < n_nodes - 2)
        fill = active & ~skip & (b >= 0)
        lo, hi = np.maximum(a, 0), np.minimum(b, width - 1)
        fill &= hi >= lo
        np.add.at(diff, (row_index[fill], lo[fill]), 1)
        np.add.at(diff, (row_index[fill], hi[fill] + 1), -1)
        i = np.where(skip, i + 1, np.where(active, i + 2, i))
    return np.cumsum(diff[:, :width], axis=1) > 0


def raster_overlap(a, b, size=None) -> float:
    """The VOT toolkit's overlap of two regions (``x,y,w,h`` or 8-number polygons) rasterised to pixels, both
    limited to the image when ``size = (width, height)`` is given; two empty regions overlap 1 by definition."""
    ka, da = _vot_region(a)
    kb, db = _vot_region(b)
    if not (np.all(np.isfinite(da)) and np.all(np.isfinite(db))):
        return 0.0
    b1, b2 = _region_bounds(ka, da), _region_bounds(kb, db)
    union = (min(b1[0], b2[0]), min(b1[1], b2[1]), max(b1[2], b2[2]), max(b1[3], b2[3]))
    if union[0] >= union[2] or union[1] >= union[3]:
        return 1.0
    if size is not None:
        bounds = (max(0, union[0]), max(0, union[1]), min(int(size[0]) - 1, union[2]), min(int(size[1]) - 1, union[3]))
    else:
        bounds = union
    if bounds[0] >= bounds[2] or bounds[1] >= bounds[3]:
        return 0.0
    m1 = _raster_rect(da, bounds) if ka == "rect" else _raster_polygon(da, bounds)
    m2 = _raster_rect(db, bounds) if kb == "rect" else _raster_polygon(db, bounds)
    union_count = int(np.count_nonzero(m1 | m2))
    return float(np.count_nonzero(m1 & m2)) / union_count if union_count else 0.0


def region_overlap(a, b, size=None, method: str = "raster") -> float:
    """VOT overlap: ``raster`` (the VOT toolkit's and pysot's pixel masks, default) or ``exact`` (polygon
    areas, :func:`polygon_iou`, clipped to ``(width - 1, height - 1)``)."""
    if method == "raster":
        return raster_overlap(a, b, size)
    if method == "exact":
        return polygon_iou(a, b, None if size is None else (size[0] - 1, size[1] - 1))
    raise ValueError(f"VOT overlap method must be 'raster' or 'exact', got {method!r}")
