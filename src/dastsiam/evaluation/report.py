"""Score results folders against a benchmark and report: tables, JSON, per-attribute numbers.

Scoring needs annotations only, so the ground truth comes either from a folder of ``<Seq>.txt`` files in the
benchmark's own convention (``OTB100/anno``) or from a full dataset read by :mod:`dastsiam.datasets`
(converted back to the benchmark's own convention, so that result files are compared unshifted).
Every problem (bad row counts, NaN or negative boxes, a missing sequence, an unreadable file) becomes a
warning naming the file and line, and the rest is still scored.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dastsiam.datasets._io import sort_key
from dastsiam.evaluation.conventions import NORM_PRECISION_THRESHOLDS, OTB_START_FRAMES, PRECISION_THRESHOLDS, Conventions
from dastsiam.evaluation.metrics import FrameScores, SequenceScore, aggregate, concatenate, score_frames, summarise
from dastsiam.evaluation.results import Warnings, check_result_boxes, native_offset, read_boxes, read_times
from dastsiam.errors import InputError


@dataclass
class GroundTruth:
    """Annotations of one sequence in the benchmark's own pixel convention."""

    name: str
    boxes: np.ndarray
    absent: np.ndarray | None = None
    attributes: dict = field(default_factory=dict)
    start_frame: int = 1  # first frame trackers are run from (OTB-100's Tiger1: 6, initOmit = 5)


def ground_truth_from_anno_dir(
    anno_dir, att_dir=None, names=None, warnings: Warnings | None = None, dataset: str = "otb"
) -> list[GroundTruth]:
    """Read every ``<Seq>.txt`` of ``anno_dir`` (unreadable files are warnings, unless none is readable).

    ``att_dir`` (default: ``anno_dir/../att`` when it exists) holds OTB attribute files ``<Seq>.txt``.
    ``names`` may use any spelling of split sequences (``Jogging.1``, ``Jogging_1``, ``Jogging-1``).
    """

    anno_dir = Path(anno_dir)
    if not anno_dir.is_dir():
        raise InputError(f"{anno_dir}: annotation folder not found")
    warnings = warnings if warnings is not None else Warnings()
    with os.scandir(anno_dir) as entries:
        available = sorted((e.name[:-4] for e in entries if e.name.endswith(".txt")), key=sort_key)
    if names is not None:
        resolved = resolve_names(names, available)
        for name in names:
            if name not in resolved:
                warnings.add(f"{anno_dir / (name + '.txt')}: annotation not found; sequence skipped")
        available = list(dict.fromkeys(resolved[n] for n in names if n in resolved))
    if not available:
        raise InputError(f"{anno_dir}: no <Seq>.txt annotation files")
    if att_dir is None and (anno_dir.parent / "att").is_dir():
        att_dir = anno_dir.parent / "att"
    out = []
    for name in available:
        path = anno_dir / f"{name}.txt"
        try:
            boxes = read_boxes(path)
        except InputError as exc:
            warnings.add(f"{exc}; sequence skipped")
            continue
        if len(boxes) == 0:
            warnings.add(f"{path}: annotation is empty; sequence skipped")
            continue
        out.append(GroundTruth(name, boxes, None, {}, _start_frame(dataset, name)))
    attach_attributes(out, att_dir, dataset, warnings)
    if not out:
        raise InputError(f"{anno_dir}: no readable annotation file")
    return out


def ground_truth_from_sequences(sequences, dataset: str) -> list[GroundTruth]:
    """Annotations of loaded :class:`~dastsiam.sequence.Sequence` objects, back in the benchmark's convention."""
    offset = native_offset(dataset)
    out = []
    for seq in sequences:
        boxes = seq.ground_truth.copy()
        boxes[:, :2] += offset
        attributes = {k: v for k, v in seq.attributes.items() if isinstance(v, (bool, np.bool_))}
        # Only ground-truth rows decide validity (NaN rows are invalid in every benchmark), except GOT-10k,
        # whose toolkit also drops frames flagged absent / cover == 0. LaSOT's occlusion and out-of-view flags
        # are not used by its toolkit: such frames are scored against their annotated box.
        absent = None
        if dataset == "got10k":
            absent = seq.absent.copy()
            if "cover" in seq.attributes:
                absent |= np.asarray(seq.attributes["cover"]) == 0
        out.append(GroundTruth(seq.name, boxes, absent, attributes, _start_frame(dataset, seq.name)))
    return out


def attach_attributes(ground_truth: list[GroundTruth], att_dir, dataset: str, warnings: Warnings) -> None:
    """Per-sequence attribute flags from ``att_dir/<Seq>.txt`` (any spelling of split names): OTB's 11
    (IV, SV, OCC, ...) or LaSOT's 14 (IV, POC, DEF, ..., ARC; its toolkit's attribute files)."""
    if att_dir is None:
        return
    att_dir = Path(att_dir)
    if not att_dir.is_dir():
        raise InputError(f"{att_dir}: attribute folder not found")
    from dastsiam.datasets.lasot import load_lasot_attributes
    from dastsiam.datasets.otb import load_otb_attributes

    loader = load_lasot_attributes if dataset.lower() == "lasot" else load_otb_attributes
    stems = [p.name[:-4] for p in att_dir.iterdir() if p.name.endswith(".txt")]
    matched = resolve_names([gt.name for gt in ground_truth], stems)
    for gt in ground_truth:
        if gt.name not in matched:
            continue
        try:
            gt.attributes = {**gt.attributes, **loader(att_dir / f"{matched[gt.name]}.txt")}
        except InputError as exc:
            warnings.add(f"{exc}; attributes of {gt.name} ignored")


def _start_frame(dataset: str, name: str) -> int:
    return OTB_START_FRAMES.get(name, 1) if dataset.lower().startswith("otb") else 1


_SPLIT_SUFFIX = re.compile(r"^(.+?)[._-](\d+)$")


def spelling_key(name: str) -> str:
    """One key for the spellings of a split sequence: ``Jogging.1`` (got10k), ``Jogging_1`` (pytracking),
    ``Jogging-1`` (OTB release, pysot) all give ``Jogging-1``."""
    m = _SPLIT_SUFFIX.match(name)
    return f"{m.group(1)}-{m.group(2)}" if m else name


def resolve_names(wanted, available) -> dict[str, str]:
    """Map each name of ``wanted`` to the name it stands for in ``available``: the same name, another
    spelling of a split sequence (:func:`spelling_key`), or, either way round, the bare base name of a
    sequence that is the only one of its base (got10k calls OTB-100's ``Human4-2`` just ``Human4``).
    Names with no match (or more than one) are left out."""
    wanted = list(wanted)
    wanted_set = set(wanted)
    available = list(available)
    exact = set(available)

    def bases(names):
        out: dict[str, list[str]] = {}
        for name in names:
            m = _SPLIT_SUFFIX.match(name)
            if m:
                out.setdefault(m.group(1), []).append(name)
        return out

    by_key: dict[str, list[str]] = {}
    for name in available:
        by_key.setdefault(spelling_key(name), []).append(name)
    available_bases, wanted_bases = bases(available), bases(wanted)
    out = {}
    for name in wanted:
        m = _SPLIT_SUFFIX.match(name)
        if name in exact:
            out[name] = name
        elif len(by_key.get(spelling_key(name), [])) == 1:
            out[name] = by_key[spelling_key(name)][0]
        elif m and m.group(1) in exact and m.group(1) not in wanted_set and len(wanted_bases.get(m.group(1), [])) == 1:
            out[name] = m.group(1)  # Human4-2 -> Human4
        elif not m and len(available_bases.get(name, [])) == 1:
            out[name] = available_bases[name][0]  # Human4 -> Human4-2
    return out


def discover_trackers(results_roots) -> dict[str, Path]:
    """``ROOT/<Tracker>/`` folders of each results root; a root holding ``.txt`` files is itself one tracker."""
    trackers: dict[str, Path] = {}
    for root in [Path(r) for r in results_roots]:
        if not root.is_dir():
            raise InputError(f"{root}: results folder not found")
        with os.scandir(root) as entries:
            items = list(entries)
        if any(e.is_file() and e.name.endswith(".txt") for e in items):
            trackers[root.name] = root
            continue
        for e in sorted(items, key=lambda e: sort_key(e.name)):
            if e.is_dir():
                trackers[e.name] = Path(e.path)
    if not trackers:
        raise InputError(f"no tracker results under {', '.join(str(r) for r in results_roots)}")
    return trackers


def _result_files(folder: Path, name: str, listing: set[str]) -> list[Path]:
    """``<Seq>.txt`` (OTB layout) or ``<Seq>/<Seq>_NNN.txt`` (GOT-10k layout, every repetition)."""
    if f"{name}.txt" in listing:
        return [folder / f"{name}.txt"]
    if name in listing and (folder / name).is_dir():
        reps = sorted(p for p in (folder / name).glob(f"{name}_[0-9][0-9][0-9].txt"))
        return reps
    return []


MISSING_POLICIES = ("fail", "shared")


@dataclass
class TrackerReport:
    name: str
    summary: dict
    sequences: dict[str, SequenceScore]
    attributes: dict[str, dict]
    curves: dict
    missing: list[str] = field(default_factory=list)  # annotated sequences without a (non-empty) result
    # SRE / TRE: per sequence, every run's own score in plan order ((run id, score)); empty for OPE
    runs: dict[str, list[tuple[str, SequenceScore]]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass
class Report:
    dataset: str
    conventions: Conventions
    trackers: dict[str, TrackerReport]
    warnings: Warnings
    sequence_count: int  # sequences every tracker is scored on
    sequence_attributes: dict[str, dict] = field(default_factory=dict)
    annotated_count: int = 0  # annotated sequences (before ``missing="shared"`` narrows them)
    missing_policy: str = "fail"
    protocol: str = "ope"

    def to_json(self, per_sequence: bool = False, curves: bool = True) -> dict:
        """``{tracker: {summary numbers, "missing", "complete", "curves", "attributes", ...}}``.

        ``curves`` holds each plotted curve with its x values (``thresholds``), so plots can be redrawn from
        the JSON alone: ``success`` (IoU thresholds), ``precision`` (pixels), ``norm_precision``.
        """
        out = {}
        success_x = [round(float(t), 6) for t in self.conventions.iou_thresholds]
        for name, tr in self.trackers.items():
            entry = {k: _clean(v) for k, v in tr.summary.items()}
            entry["annotated_sequences"] = self.annotated_count
            entry["missing"] = list(tr.missing)
            entry["complete"] = tr.complete
            if curves:
                entry["curves"] = {
                    "success": {"thresholds": success_x, "values": _clean_list(tr.curves["success"])},
                    "precision": {"thresholds": [float(t) for t in PRECISION_THRESHOLDS],
                                  "values": _clean_list(tr.curves["precision"])},
                    "norm_precision": {"thresholds": [round(float(t), 6) for t in NORM_PRECISION_THRESHOLDS],
                                       "values": _clean_list(tr.curves["norm_precision"])},
                }
            if tr.attributes:
                entry["attributes"] = {
                    a: {k: (_clean_list(v) if k == "success_curve" else _clean(v)) for k, v in d.items()}
                    for a, d in tr.attributes.items()
                }
            if self.protocol != "ope":
                entry["protocol"] = self.protocol
            if per_sequence:
                entry["per_sequence"] = {
                    s: {"success_auc": _clean(sc.success_auc), "precision": _clean(sc.precision_at),
                        "ao": _clean(sc.ao), "frames": sc.frames, "has_result": s not in tr.missing}
                    for s, sc in tr.sequences.items()
                }
                for s, runs in tr.runs.items():
                    entry["per_sequence"][s]["runs"] = [
                        {"run": run_id, "success_auc": _clean(sc.success_auc), "precision": _clean(sc.precision_at),
                         "frames": sc.frames} for run_id, sc in runs
                    ]
            out[name] = entry
        return out

    def write_json(self, path, per_sequence: bool = False, extra: dict | None = None) -> None:
        """:meth:`to_json` to ``path``; ``extra`` = ``{tracker: {key: value}}`` added to the trackers' entries
        (``dastsiam eval --compare`` adds ``"compare"``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = self.to_json(per_sequence)
        for tracker, items in (extra or {}).items():
            payload[tracker].update(items)
        path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")


def _clean(value):
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _clean_list(values) -> list:
    return [_clean(float(v)) for v in np.asarray(values, dtype=np.float64)]


def _summary_of(seq_scores: list[SequenceScore], frame_scores: list[FrameScores], conventions: Conventions):
    summary = aggregate(seq_scores, frame_scores, conventions)
    curves = summary.pop("curves")
    return summary, curves


@dataclass
class _Scored:
    """Frames of the sequences a tracker has results for, before the sequences to report on are chosen."""

    name: str
    folder: Path
    frames: dict[str, FrameScores]
    missing: list[str]
    fps: float
    # SRE / TRE: every run's frames, in plan order ((run id, frames)); ``partial`` = sequences with some runs
    # missing (their missing runs scored as failures), which count as missing
    runs: dict[str, list[tuple[str, FrameScores]]] = field(default_factory=dict)
    partial: dict[str, FrameScores] = field(default_factory=dict)


def _read_sequence(folder: Path, stem: str, gt: GroundTruth, listing: set[str], conventions: Conventions,
                   warnings: Warnings) -> FrameScores | None:
    """Frames of every repetition of one sequence; ``None`` when no file holds a row."""
    reps = []
    for path in _result_files(folder, stem, listing):
        boxes = read_boxes(path, warnings)
        if boxes is None:
            continue
        if len(boxes) == 0:
            warnings.add(f"{path}: empty result file; treated as no result")
            continue
        gt_boxes, absent = gt.boxes, gt.absent
        official = len(gt.boxes) - (gt.start_frame - 1)
        if gt.start_frame > 1 and len(boxes) == official:
            # the benchmark's protocol starts this sequence later (OTB-100 Tiger1: frames 6..354)
            gt_boxes = gt.boxes[gt.start_frame - 1 :]
            absent = absent[gt.start_frame - 1 :] if absent is not None else None
        elif len(boxes) < len(gt_boxes):
            where = "first" if conventions.align == "start" else "last"
            warnings.add(
                f"{path}: {len(boxes)} rows for {len(gt_boxes)} annotated frames; the result covers the {where} "
                f"{len(boxes)} (align={conventions.align}) and the other {len(gt_boxes) - len(boxes)} frames "
                f"count as failures"
            )
        elif len(boxes) > len(gt_boxes):
            warnings.add(
                f"{path}:{len(gt_boxes) + 1}: {len(boxes)} rows for {len(gt_boxes)} annotated frames; "
                f"rows after {len(gt_boxes)} ignored"
            )
        check_result_boxes(boxes, path, warnings)
        reps.append(score_frames(boxes, gt_boxes, conventions, absent))
    return concatenate(reps) if reps else None


def _read_protocol_runs(folder: Path, gt: GroundTruth, protocol: str, dataset: str, conventions: Conventions,
                        warnings: Warnings, omit=()) -> tuple[list[tuple[str, FrameScores]], list[str]]:
    """Every planned SRE/TRE run of one sequence (``folder/<protocol>/<Seq>/<Seq>_<run>.txt``), each scored
    from its start frame to the end (the toolkit's ``subAnno``); a missing or empty run file scores all its
    frames as failures. Returns ``[(run id, frames)]`` in plan order and the ids of the missing runs."""
    from dastsiam.evaluation.protocols import plan_runs
    from dastsiam.evaluation.results import protocol_result_path

    zero_based = gt.boxes.copy()
    zero_based[:, :2] -= native_offset(dataset)
    plan = plan_runs(protocol, zero_based, image_size=(1 << 30, 1 << 30), omit=omit)
    scored: dict[str, FrameScores] = {}
    runs, missing = [], []
    for run in plan:
        if run.run_id not in scored:
            path = protocol_result_path(folder.parent, folder.name, protocol, gt.name, run.run_id)
            gt_boxes = gt.boxes[run.start :]
            absent = gt.absent[run.start :] if gt.absent is not None else None
            boxes = read_boxes(path, warnings) if path.is_file() else None
            if boxes is not None and len(boxes) == 0:
                warnings.add(f"{path}: empty result file; its frames count as failures")
                boxes = None
            if boxes is None:
                missing.append(run.run_id)
                boxes = np.zeros((0, 4))
            elif len(boxes) != len(gt_boxes):
                what = "the other frames count as failures" if len(boxes) < len(gt_boxes) else "extra rows ignored"
                warnings.add(f"{path}: {len(boxes)} rows for the {len(gt_boxes)} frames from the run's start frame "
                             f"{run.start + 1} to the end; {what}")
            if len(boxes):
                check_result_boxes(boxes, path, warnings)
            scored[run.run_id] = score_frames(boxes, gt_boxes, conventions, absent)
        runs.append((run.run_id, scored[run.run_id]))
    return runs, missing


def _read_tracker(name: str, folder: Path, ground_truth: list[GroundTruth], conventions: Conventions,
                  warnings: Warnings, protocol: str = "ope", dataset: str = "otb") -> _Scored:
    if protocol != "ope":
        return _read_tracker_protocol(name, folder, ground_truth, conventions, warnings, protocol, dataset)
    with os.scandir(folder) as entries:
        items = list(entries)
    listing = {e.name for e in items}
    stems = [e.name[:-4] for e in items if e.is_file() and e.name.endswith(".txt")]
    stems += [e.name for e in items if e.is_dir() and e.name != "times"]
    matched = resolve_names([gt.name for gt in ground_truth], stems)
    frames: dict[str, FrameScores] = {}
    fps_values = []
    missing = []
    for gt in ground_truth:
        stem = matched.get(gt.name)
        scored = _read_sequence(folder, stem, gt, listing, conventions, warnings) if stem is not None else None
        if scored is None:
            missing.append(gt.name)
            continue
        frames[gt.name] = scored
        times = None
        for candidate in (folder / "times", folder / stem, folder):  # got10k toolkit, GOT-10k, pytracking
            times = read_times(candidate / f"{stem}_time.txt")
            if times is not None:
                break
        if times is not None and len(times) and np.all(times > 0):
            fps_values.append(float(np.mean(1.0 / times)))
    fps = float(np.mean(fps_values)) if fps_values else float("nan")
    return _Scored(name, folder, frames, missing, fps)


def _read_tracker_protocol(name: str, folder: Path, ground_truth: list[GroundTruth], conventions: Conventions,
                           warnings: Warnings, protocol: str, dataset: str) -> _Scored:
    """SRE/TRE results of one tracker: a sequence's frames are all its runs' frames pooled (the toolkit's
    ``genPerfMat``: success counts of all runs over all their frames)."""
    base = folder / protocol
    listing = {e.name for e in os.scandir(base) if e.is_dir()} if base.is_dir() else set()
    matched = resolve_names([gt.name for gt in ground_truth], listing)
    frames, partial, runs, missing = {}, {}, {}, []
    fps_values = []
    for gt in ground_truth:
        stem = matched.get(gt.name)
        if stem is None:
            missing.append(gt.name)
            continue
        alias = gt if stem == gt.name else GroundTruth(stem, gt.boxes, gt.absent, gt.attributes, gt.start_frame)
        seq_runs, lacking = _read_protocol_runs(folder, alias, protocol, dataset, conventions, warnings)
        if len(lacking) == len(dict(seq_runs)):
            missing.append(gt.name)
            continue
        pooled = concatenate([f for _, f in seq_runs])
        runs[gt.name] = seq_runs
        if lacking:
            warnings.add(f"{base / stem}: no results for {len(lacking)} of {len(dict(seq_runs))} {protocol.upper()} "
                         f"runs ({_shown(lacking)}); scored as failures")
            partial[gt.name] = pooled
            missing.append(gt.name)
            continue
        frames[gt.name] = pooled
        times = [read_times(p) for p in sorted((base / stem).glob(f"{stem}_*_time.txt"))]
        times = np.concatenate([t for t in times if t is not None and len(t)]) if any(
            t is not None and len(t) for t in times) else None
        if times is not None and np.all(times > 0):
            fps_values.append(float(np.mean(1.0 / times)))
    fps = float(np.mean(fps_values)) if fps_values else float("nan")
    return _Scored(name, folder, frames, missing, fps, runs, partial)


def _report_tracker(raw: _Scored, names: list[str], ground_truth: dict[str, GroundTruth],
                    conventions: Conventions) -> TrackerReport:
    """Summary over ``names``; a sequence of ``names`` without a result is scored as all failures."""
    frame_lists = []
    seq_scores: dict[str, SequenceScore] = {}
    for name in names:
        frames = raw.frames.get(name, raw.partial.get(name))
        if frames is None:  # no result: every frame fails
            gt = ground_truth[name]
            frames = score_frames(np.zeros((0, 4)), gt.boxes, conventions, gt.absent)
        frame_lists.append(frames)
        seq_scores[name] = summarise(name, frames, conventions)
    summary, curves = _summary_of(list(seq_scores.values()), frame_lists, conventions)
    summary["sequences_with_results"] = sum(1 for n in names if n in raw.frames)
    summary["fps"] = raw.fps
    attributes = {}
    attribute_names: list[str] = []
    for name in names:
        for key, value in ground_truth[name].attributes.items():
            if key not in attribute_names and isinstance(value, (bool, np.bool_)):
                attribute_names.append(key)
    frame_by_name = dict(zip(names, frame_lists))
    for attr in attribute_names:
        chosen = [n for n in names if ground_truth[n].attributes.get(attr, False)]
        if not chosen:
            continue
        sub_summary, sub_curves = _summary_of(
            [seq_scores[n] for n in chosen], [frame_by_name[n] for n in chosen], conventions
        )
        attributes[attr] = {k: sub_summary[k] for k in ("success_auc", "precision", "ao", "sequences")}
        attributes[attr]["success_curve"] = sub_curves["success"]
    run_scores = {}
    for name in names:
        if name in raw.runs:
            run_scores[name] = [(run_id, summarise(run_id, f, conventions)) for run_id, f in raw.runs[name]]
    if run_scores:
        summary.update(run_spread(run_scores))
    return TrackerReport(raw.name, summary, seq_scores, attributes, curves, list(raw.missing), run_scores)


def run_spread(run_scores: dict[str, list[tuple[str, SequenceScore]]]) -> dict:
    """How much SRE/TRE runs disagree (besides the pooled score): ``run_auc_std`` = the standard deviation, over
    the run slots (SRE: the 12 shifts; TRE: the k-th of the 20 start frames), of the slot's success AUC
    averaged over sequences, with its ``run_auc_min`` / ``run_auc_max``; ``within_sequence_auc_std`` = the
    standard deviation of the run AUCs within a sequence, averaged over sequences."""
    slots: dict[int, list[float]] = {}
    within = []
    for runs in run_scores.values():
        values = [score.success_auc for _, score in runs]
        for k, v in enumerate(values):
            slots.setdefault(k, []).append(v)
        within.append(float(np.std(values)) if len(values) > 1 else 0.0)
    slot_means = np.array([np.mean(v) for _, v in sorted(slots.items())])
    return {
        "runs_per_sequence": max(len(r) for r in run_scores.values()),
        "run_auc_std": float(np.std(slot_means)),
        "run_auc_min": float(np.min(slot_means)),
        "run_auc_max": float(np.max(slot_means)),
        "within_sequence_auc_std": float(np.mean(within)),
    }


def _shown(names: list[str], limit: int = 5) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def score_tracker(
    name: str,
    folder: Path,
    ground_truth: list[GroundTruth],
    conventions: Conventions,
    warnings: Warnings,
) -> TrackerReport:
    """Score one tracker's folder on every sequence of ``ground_truth`` (no result: all frames fail)."""
    raw = _read_tracker(name, Path(folder), ground_truth, conventions, warnings)
    return _report_tracker(raw, [gt.name for gt in ground_truth], {gt.name: gt for gt in ground_truth}, conventions)


def score_results(
    ground_truth: list[GroundTruth],
    results_roots,
    conventions: Conventions,
    dataset: str = "otb",
    trackers: list[str] | None = None,
    warnings: Warnings | None = None,
    missing: str = "fail",
    protocol: str = "ope",
) -> Report:
    """Score every tracker found under ``results_roots`` (``ROOT/<Tracker>/<Seq>.txt``).

    Every tracker is scored on the same sequences, so the ranking compares like with like:

    * ``missing="fail"`` (default): every annotated sequence; one without a result (no file, an empty or
      unreadable one) counts as all frames failed and the tracker is reported incomplete.
    * ``missing="shared"``: the sequences every tracker has results for (pytracking's rule); the count is
      reported and the sequences left out are named in a warning.

    ``protocol="sre"`` / ``"tre"`` reads OTB's robustness runs (``ROOT/<Tracker>/sre|tre/<Seq>/``) and pools
    each sequence's runs as the OTB toolkit does (:mod:`~.protocols`); a sequence with some runs missing
    counts as missing (its missing runs as failures).

    A results root with no result for any annotated sequence raises :class:`InputError`; a tracker folder
    with none is left out with a warning.
    """
    if missing not in MISSING_POLICIES:
        raise InputError(f"missing-results policy must be one of {', '.join(MISSING_POLICIES)}, got {missing!r}")
    warnings = warnings if warnings is not None else Warnings()
    found = discover_trackers(results_roots)
    roots_text = ", ".join(str(r) for r in results_roots)
    if trackers:
        unknown = [t for t in trackers if t not in found]
        if len(unknown) == len(trackers):
            raise InputError(f"none of the trackers {', '.join(trackers)} has a results folder under {roots_text}")
        for t in unknown:
            warnings.add(f"tracker {t}: no results folder under {roots_text}")
        found = {t: found[t] for t in trackers if t in found}
    protocol = protocol.lower()
    raw = {name: _read_tracker(name, folder, ground_truth, conventions, warnings, protocol, dataset)
           for name, folder in found.items()}
    for name in [n for n, r in raw.items() if not r.frames and not r.partial]:
        warnings.add(f"{raw[name].folder}: no result file for any of the {len(ground_truth)} annotated sequences; "
                     f"tracker {name} left out")
        del raw[name]
    if not raw:
        example = ground_truth[0].name
        raise InputError(
            f"nothing to score under {roots_text}: no tracker folder holds a non-empty result for any of the "
            f"{len(ground_truth)} annotated sequences (expected e.g. {Path(results_roots[0]) / 'TRACKER' / (example + '.txt')})"
        )
    by_name = {gt.name: gt for gt in ground_truth}
    all_names = [gt.name for gt in ground_truth]
    if missing == "shared":
        names = [n for n in all_names if all(n in r.frames for r in raw.values())]
        if not names:
            raise InputError(f"the {len(raw)} trackers under {roots_text} share no sequence with results; "
                             f"use --missing fail to score missing sequences as failures")
        left_out = [n for n in all_names if n not in set(names)]
        if left_out:
            warnings.add(
                f"{len(left_out)} of {len(all_names)} sequences left out because some tracker has no result "
                f"for them ({_shown(left_out)}); every tracker is scored on the {len(names)} they share"
            )
    else:
        names = all_names
        for r in raw.values():
            if r.missing:
                warnings.add(
                    f"{r.folder}: no results for {len(r.missing)} of {len(all_names)} sequences "
                    f"({_shown(r.missing)}); scored as failures, tracker {r.name} is incomplete"
                )
    reports = {name: _report_tracker(r, names, by_name, conventions) for name, r in raw.items()}
    attributes = {n: by_name[n].attributes for n in names}
    return Report(dataset, conventions, reports, warnings, len(names), attributes, len(all_names), missing, protocol)


TABLE_COLUMNS = {
    "otb": (("success_auc", "AUC"), ("precision", "Prec@20")),
    "uav123": (("success_auc", "AUC"), ("precision", "Prec@20")),
    "lasot": (("success_auc", "AUC"), ("precision", "Prec@20"), ("norm_precision", "NormPrec")),
    "got10k": (("ao", "AO"), ("sr50", "SR0.50"), ("sr75", "SR0.75")),
    "custom": (("success_auc", "AUC"), ("precision", "Prec@20"), ("ao", "AO")),
}


def format_table(report: Report, attributes: bool = False) -> str:
    """A plain-text table, best tracker first by the benchmark's main number."""
    columns = TABLE_COLUMNS.get(report.dataset, TABLE_COLUMNS["custom"])
    # the precision column is headed by the threshold it was scored at (--precision-threshold)
    columns = tuple((k, f"Prec@{report.conventions.precision_threshold:g}" if k == "precision" else label)
                    for k, label in columns)
    key = columns[0][0]
    rows = sorted(
        report.trackers.values(),
        key=lambda t: -(t.summary[key] if not math.isnan(t.summary[key]) else -1.0),
    )
    width = max([len("Tracker")] + [len(t.name) + 1 for t in rows])
    if report.missing_policy == "shared":
        scope = (f"{report.sequence_count} of {report.annotated_count} sequences: those all {len(rows)} trackers "
                 f"have results for (--missing shared)")
    else:
        scope = f"{report.sequence_count} sequences; a sequence without a result counts as all frames failed"
    spread = report.protocol != "ope"
    spread_head = f"  {'RunSD':>6}  {'RunMin-Max':>11}" if spread else ""
    header = (f"{'Tracker':<{width}}  " + "  ".join(f"{label:>8}" for _, label in columns) + spread_head
              + f"  {'Seqs':>7}  {'FPS':>7}")
    title = report.dataset.upper() + (f" {report.protocol.upper()} (runs pooled per sequence as the OTB toolkit; "
                                      f"RunSD/Min-Max: success AUC across run slots)" if spread else "")
    lines = [f"{title}: {scope}", header, "-" * len(header)]
    for tr in rows:
        values = "  ".join(_fmt(tr.summary[k]) for k, _ in columns)
        if spread:
            s = tr.summary
            values += (f"  {s.get('run_auc_std', float('nan')):6.3f}  "
                       f"{s.get('run_auc_min', float('nan')):5.3f}-{s.get('run_auc_max', float('nan')):5.3f}")
        fps = tr.summary.get("fps", float("nan"))
        fps_text = f"{fps:7.1f}" if not math.isnan(fps) else f"{'-':>7}"
        seqs = f"{tr.summary['sequences_with_results']}/{tr.summary['sequences']}"
        label = tr.name + ("*" if tr.missing else "")
        lines.append(f"{label:<{width}}  {values}  {seqs:>7}  {fps_text}")
    incomplete = [tr for tr in rows if tr.missing]
    if incomplete:
        how = "scored as failures" if report.missing_policy == "fail" else "left out for every tracker"
        lines.append("* incomplete: " + "; ".join(
            f"{tr.name} has no results for {len(tr.missing)} sequence(s) ({_shown(tr.missing, 3)})" for tr in incomplete
        ) + f" ({how})")
    if attributes:
        attr_names = []
        for tr in rows:
            attr_names += [a for a in tr.attributes if a not in attr_names]
        if attr_names:
            lines.append("")
            lines.append("Success AUC per attribute (number of sequences):")
            head = f"{'Tracker':<{width}}  " + "  ".join(f"{a:>6}" for a in attr_names)
            lines.append(head)
            lines.append("-" * len(head))
            counts = {a: next((tr.attributes[a]["sequences"] for tr in rows if a in tr.attributes), 0) for a in attr_names}
            lines.append(f"{'':<{width}}  " + "  ".join(f"{'(' + str(counts[a]) + ')':>6}" for a in attr_names))
            for tr in rows:
                cells = [
                    f"{tr.attributes[a]['success_auc']:6.3f}" if a in tr.attributes else f"{'-':>6}" for a in attr_names
                ]
                lines.append(f"{tr.name:<{width}}  " + "  ".join(cells))
    return "\n".join(lines)


def _fmt(value: float) -> str:
    return f"{'-':>8}" if value is None or math.isnan(value) else f"{value:8.3f}"
