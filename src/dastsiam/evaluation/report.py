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
            if per_sequence:
                entry["per_sequence"] = {
                    s: {"success_auc": _clean(sc.success_auc), "precision": _clean(sc.precision_at),
                        "ao": _clean(sc.ao), "frames": sc.frames, "has_result": s not in tr.missing}
                    for s, sc in tr.sequences.items()
                }
            out[name] = entry
        return out

    def write_json(self, path, per_sequence: bool = False) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(per_sequence), indent=2, sort_keys=False) + "\n")


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


def _read_tracker(name: str, folder: Path, ground_truth: list[GroundTruth], conventions: Conventions,
                  warnings: Warnings) -> _Scored:
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


def _report_tracker(raw: _Scored, names: list[str], ground_truth: dict[str, GroundTruth],
                    conventions: Conventions) -> TrackerReport:
    """Summary over ``names``; a sequence of ``names`` without a result is scored as all failures."""
    frame_lists = []
    seq_scores: dict[str, SequenceScore] = {}
    for name in names:
        frames = raw.frames.get(name)
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
    return TrackerReport(raw.name, summary, seq_scores, attributes, curves, list(raw.missing))


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
) -> Report:
    """Score every tracker found under ``results_roots`` (``ROOT/<Tracker>/<Seq>.txt``).

    Every tracker is scored on the same sequences, so the ranking compares like with like:

    * ``missing="fail"`` (default): every annotated sequence; one without a result (no file, an empty or
      unreadable one) counts as all frames failed and the tracker is reported incomplete.
    * ``missing="shared"``: the sequences every tracker has results for (pytracking's rule); the count is
      reported and the sequences left out are named in a warning.

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
    raw = {name: _read_tracker(name, folder, ground_truth, conventions, warnings) for name, folder in found.items()}
    for name in [n for n, r in raw.items() if not r.frames]:
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
    return Report(dataset, conventions, reports, warnings, len(names), attributes, len(all_names), missing)


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
    header = f"{'Tracker':<{width}}  " + "  ".join(f"{label:>8}" for _, label in columns) + f"  {'Seqs':>7}  {'FPS':>7}"
    lines = [f"{report.dataset.upper()}: {scope}", header, "-" * len(header)]
    for tr in rows:
        values = "  ".join(_fmt(tr.summary[k]) for k, _ in columns)
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
