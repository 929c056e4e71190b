"""UAV123 / UAV123@10fps / UAV20L reader: ``data_seq/<folder>/000001.jpg`` + ``anno/<seq>.txt``.

* Annotations are 1-based ``x,y,w,h``; a row of ``NaN`` means the target is absent (kept as NaN, marked in
  ``Sequence.absent``).
* Sub-sequences (``truck4_1``, ``truck4_2``) come in two layouts, both supported:
  one frame folder per annotated sub-sequence (``data_seq/truck4_1/``, as in ``train_extra`` of the shared
  data), or the official layout where all sub-sequences share ``data_seq/truck4/`` and the frame range comes
  from the benchmark's ``configSeqs`` (table below, 30 fps frame numbers). For UAV123@10fps, whose frames are
  every third 30 fps frame, the range is mapped to ``(start - 1) // 3 + 1 .. (end - 1) // 3 + 1``; which of
  the two applies is decided by the annotation's row count.
* The official archive nests both folders one level deeper (``anno/UAV123/``, ``data_seq/UAV123/``); pass
  ``split`` (``UAV123``, ``UAV20L``, ``UAV123_10fps``) or let the reader pick the only nested folder.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from dastsiam.datasets._io import list_frames, read_numbers, require_dir, select_names, sort_key
from dastsiam.errors import DastsiamWarning, InputError
from dastsiam.sequence import Sequence

# UAV123 configSeqs: sub-sequence -> (frame folder, first frame, last frame), 1-based, 30 fps numbering.
# Every other sequence spans all frames of the folder of the same name.
UAV123_SUBSEQUENCES = {
    "bird1_1": ("bird1", 1, 253), "bird1_2": ("bird1", 775, 1477), "bird1_3": ("bird1", 1573, 2437),
    "car1_1": ("car1", 1, 751), "car1_2": ("car1", 751, 1627), "car1_3": ("car1", 1627, 2629),
    "car6_1": ("car6", 1, 487), "car6_2": ("car6", 487, 1807), "car6_3": ("car6", 1807, 2953),
    "car6_4": ("car6", 2953, 3925), "car6_5": ("car6", 3925, 4861),
    "car8_1": ("car8", 1, 1357), "car8_2": ("car8", 1357, 2575),
    "car16_1": ("car16", 1, 415), "car16_2": ("car16", 415, 1993),
    "group1_1": ("group1", 1, 1333), "group1_2": ("group1", 1333, 2515), "group1_3": ("group1", 2515, 3925),
    "group1_4": ("group1", 3925, 4873),
    "group2_1": ("group2", 1, 907), "group2_2": ("group2", 907, 1771), "group2_3": ("group2", 1771, 2683),
    "group3_1": ("group3", 1, 1567), "group3_2": ("group3", 1567, 2827), "group3_3": ("group3", 2827, 4369),
    "group3_4": ("group3", 4369, 5527),
    "person2_1": ("person2", 1, 1189), "person2_2": ("person2", 1189, 2623),
    "person4_1": ("person4", 1, 1501), "person4_2": ("person4", 1501, 2743),
    "person5_1": ("person5", 1, 877), "person5_2": ("person5", 877, 2101),
    "person7_1": ("person7", 1, 1249), "person7_2": ("person7", 1249, 2065),
    "person8_1": ("person8", 1, 1075), "person8_2": ("person8", 1075, 1525),
    "person12_1": ("person12", 1, 601), "person12_2": ("person12", 601, 1621),
    "person14_1": ("person14", 1, 847), "person14_2": ("person14", 847, 1813),
    "person14_3": ("person14", 1813, 2923),
    "person17_1": ("person17", 1, 1501), "person17_2": ("person17", 1501, 2347),
    "person19_1": ("person19", 1, 1243), "person19_2": ("person19", 1243, 2791),
    "person19_3": ("person19", 2791, 4357),
    "truck4_1": ("truck4", 1, 577), "truck4_2": ("truck4", 577, 1261),
    "uav1_1": ("uav1", 1, 1555), "uav1_2": ("uav1", 1555, 2377), "uav1_3": ("uav1", 2473, 3469),
}


def _nested(folder: Path, split: str | None) -> Path:
    if split is not None:
        nested = folder / split
        if not nested.is_dir():
            raise InputError(f"{nested}: UAV123 split folder not found")
        return nested
    with os.scandir(folder) as entries:
        items = list(entries)
    if not any(e.name.endswith(".txt") for e in items if e.is_file()):
        subdirs = [e.name for e in items if e.is_dir()]
        if len(subdirs) == 1:
            return folder / subdirs[0]
    return folder


def load_uav123(root, names=None, split: str | None = None) -> list[Sequence]:
    """Load UAV123-style sequences from ``root`` (holding ``anno/`` and ``data_seq/``)."""
    root = require_dir(Path(root), "UAV123 dataset")
    anno_dir = _nested(require_dir(root / "anno", "UAV123 annotation"), split)
    frames_dir = require_dir(root / "data_seq", "UAV123 frame")
    if anno_dir != root / "anno":  # nested split folder: the frames are nested the same way
        frames_dir = require_dir(frames_dir / anno_dir.name, "UAV123 frame")
    with os.scandir(anno_dir) as entries:
        available = sorted((e.name[:-4] for e in entries if e.name.endswith(".txt")), key=sort_key)
    if not available:
        raise InputError(f"{anno_dir}: no annotation files")
    with os.scandir(frames_dir) as entries:
        folders = {e.name for e in entries if e.is_dir()}
    sequences = []
    for name in select_names(available, names, anno_dir):
        gt_path = anno_dir / f"{name}.txt"
        gt = read_numbers(gt_path)
        if name in folders:
            frames = list_frames(frames_dir / name)
            if len(frames) < len(gt):
                raise InputError(f"{gt_path}: {len(gt)} annotation rows but {len(frames)} frames in {frames_dir / name}")
            if len(frames) > len(gt):  # a truncated annotation file must not pass for a short sequence
                warnings.warn(DastsiamWarning(
                    f"{gt_path}: {len(gt)} annotation rows but {len(frames)} frames in {frames_dir / name}; "
                    f"frames {len(gt) + 1}..{len(frames)} are left out of sequence {name}"))
            frames = frames[: len(gt)]
        elif name in UAV123_SUBSEQUENCES and UAV123_SUBSEQUENCES[name][0] in folders:
            frames = _subsequence_frames(frames_dir, name, len(gt), gt_path)
        else:
            raise InputError(f"{frames_dir}: no frame folder for sequence {name}")
        gt = gt.copy()
        gt[:, :2] -= 1.0
        sequences.append(Sequence(name, frames, gt, dataset="uav123"))
    return sequences


def _subsequence_frames(frames_dir: Path, name: str, rows: int, gt_path: Path) -> list[Path]:
    folder, start, end = UAV123_SUBSEQUENCES[name]
    frames = list_frames(frames_dir / folder)
    if end - start + 1 != rows:  # UAV123@10fps keeps every third frame
        start, end = (start - 1) // 3 + 1, (end - 1) // 3 + 1
    selected = frames[start - 1 : end]
    if len(selected) != rows:
        raise InputError(
            f"{gt_path}: {rows} annotation rows do not match the configured frame range of {frames_dir / folder}"
        )
    return selected
