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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dastsiam.datasets._io import sort_key
from dastsiam.evaluation.conventions import Conventions
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


def ground_truth_from_anno_dir(anno_dir, att_dir=None, names=None, warnings: Warnings | None = None) -> list[GroundTruth]:
    """Read every ``<Seq>.txt`` of ``anno_dir`` (unreadable files are warnings, unless none is readable).

    ``att_dir`` (default: ``anno_dir/../att`` when it exists) holds OTB attribute files ``<Seq>.txt``.
    """
    from dastsiam.datasets.otb import load_otb_attributes

    anno_dir = Path(anno_dir)
    if not anno_dir.is_dir():
        raise InputError(f"{anno_dir}: annotation folder not found")
    warnings = warnings if warnings is not None else Warnings()
    with os.scandir(anno_dir) as entries:
        available = sorted((e.name[:-4] for e in entries if e.name.endswith(".txt")), key=sort_key)
    if names is not None:
        missing = sorted(set(names) - set(available))
        for name in missing:
            warnings.add(f"{anno_dir / (name + '.txt')}: annotation not found; sequence skipped")
        available = [n for n in names if n in set(available)]
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
        attributes = {}
        if att_dir is not None and (Path(att_dir) / f"{name}.txt").is_file():
            try:
                attributes = load_otb_attributes(Path(att_dir) / f"{name}.txt")
            except InputError as exc:
                warnings.add(f"{exc}; attributes of {name} ignored")
        out.append(GroundTruth(name, boxes, None, attributes))
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
        out.append(GroundTruth(seq.name, boxes, absent, attributes))
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


@dataclass
class TrackerReport:
    name: str
    summary: dict
    sequences: dict[str, SequenceScore]
    attributes: dict[str, dict]
    curves: dict


@dataclass
class Report:
    dataset: str
    conventions: Conventions
    trackers: dict[str, TrackerReport]
    warnings: Warnings
    sequence_count: int
    sequence_attributes: dict[str, dict] = field(default_factory=dict)

    def to_json(self, per_sequence: bool = False) -> dict:
        out = {}
        for name, tr in self.trackers.items():
            entry = {k: _clean(v) for k, v in tr.summary.items()}
            if tr.attributes:
                entry["attributes"] = {a: {k: _clean(v) for k, v in d.items()} for a, d in tr.attributes.items()}
            if per_sequence:
                entry["per_sequence"] = {
                    s: {"success_auc": _clean(sc.success_auc), "precision": _clean(sc.precision_at),
                        "ao": _clean(sc.ao), "frames": sc.frames}
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


def _summary_of(seq_scores: list[SequenceScore], frame_scores: list[FrameScores], conventions: Conventions):
    summary = aggregate(seq_scores, frame_scores, conventions)
    curves = summary.pop("curves")
    return summary, curves


def score_tracker(
    name: str,
    folder: Path,
    ground_truth: list[GroundTruth],
    conventions: Conventions,
    warnings: Warnings,
) -> TrackerReport:
    """Score one tracker's folder against ``ground_truth``; problems go to ``warnings``."""
    with os.scandir(folder) as entries:
        listing = {e.name for e in entries}
    seq_scores: dict[str, SequenceScore] = {}
    frame_lists: list[FrameScores] = []
    fps_values = []
    missing = []
    for gt in ground_truth:
        files = _result_files(folder, gt.name, listing)
        if not files:
            missing.append(gt.name)
            continue
        reps = []
        for path in files:
            boxes = read_boxes(path, warnings)
            if boxes is None:
                continue
            if len(boxes) != len(gt.boxes):
                if len(boxes) < len(gt.boxes):
                    how = (
                        f"scored on the last {len(boxes)} annotated frames (run started later)"
                        if conventions.align == "end"
                        else f"frames after row {len(boxes)} scored as missing results"
                    )
                    warnings.add(
                        f"{path}: {len(boxes)} rows for {len(gt.boxes)} annotated frames; {how} (align={conventions.align})"
                    )
                else:
                    warnings.add(
                        f"{path}:{len(gt.boxes) + 1}: {len(boxes)} rows for {len(gt.boxes)} annotated frames; "
                        f"rows after {len(gt.boxes)} ignored"
                    )
            check_result_boxes(boxes, path, warnings)
            reps.append(score_frames(boxes, gt.boxes, conventions, gt.absent))
        if not reps:
            continue
        frames = concatenate(reps)
        frame_lists.append(frames)
        seq_scores[gt.name] = summarise(gt.name, frames, conventions)
        times = read_times(folder / "times" / f"{gt.name}_time.txt")
        if times is None:
            times = read_times(folder / gt.name / f"{gt.name}_time.txt")
        if times is not None and len(times) and np.all(times > 0):
            fps_values.append(float(np.mean(1.0 / times)))
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        warnings.add(
            f"{folder}: no results for {len(missing)} of {len(ground_truth)} sequences ({shown}); "
            f"tracker {name} is averaged over the other {len(ground_truth) - len(missing)}"
        )
    summary, curves = _summary_of(list(seq_scores.values()), frame_lists, conventions)
    summary["fps"] = float(np.mean(fps_values)) if fps_values else float("nan")
    attributes = {}
    attribute_names = []
    for gt in ground_truth:
        for key, value in gt.attributes.items():
            if key not in attribute_names and isinstance(value, (bool, np.bool_)):
                attribute_names.append(key)
    index = {gt.name: i for i, gt in enumerate(ground_truth)}
    scored_names = list(seq_scores)
    frame_by_name = dict(zip(scored_names, frame_lists))
    for attr in attribute_names:
        chosen = [s for s in scored_names if ground_truth[index[s]].attributes.get(attr, False)]
        if not chosen:
            continue
        sub_summary, _ = _summary_of([seq_scores[s] for s in chosen], [frame_by_name[s] for s in chosen], conventions)
        attributes[attr] = {k: sub_summary[k] for k in ("success_auc", "precision", "ao", "sequences")}
    return TrackerReport(name, summary, seq_scores, attributes, curves)


def score_results(
    ground_truth: list[GroundTruth],
    results_roots,
    conventions: Conventions,
    dataset: str = "otb",
    trackers: list[str] | None = None,
    warnings: Warnings | None = None,
) -> Report:
    """Score every tracker found under ``results_roots`` (``ROOT/<Tracker>/<Seq>.txt``)."""
    warnings = warnings if warnings is not None else Warnings()
    found = discover_trackers(results_roots)
    if trackers:
        unknown = [t for t in trackers if t not in found]
        for t in unknown:
            warnings.add(f"tracker {t}: no results folder under {', '.join(str(r) for r in results_roots)}")
        found = {t: found[t] for t in trackers if t in found}
    reports = {name: score_tracker(name, folder, ground_truth, conventions, warnings) for name, folder in found.items()}
    attributes = {gt.name: gt.attributes for gt in ground_truth}
    return Report(dataset, conventions, reports, warnings, len(ground_truth), attributes)


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
    width = max([len("Tracker")] + [len(t.name) for t in rows])
    header = f"{'Tracker':<{width}}  " + "  ".join(f"{label:>8}" for _, label in columns) + f"  {'Seqs':>5}  {'FPS':>7}"
    lines = [header, "-" * len(header)]
    for tr in rows:
        values = "  ".join(_fmt(tr.summary[k]) for k, _ in columns)
        fps = tr.summary.get("fps", float("nan"))
        fps_text = f"{fps:7.1f}" if not math.isnan(fps) else f"{'-':>7}"
        lines.append(f"{tr.name:<{width}}  {values}  {len(tr.sequences):>5}  {fps_text}")
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
