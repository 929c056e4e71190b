"""OTB-50/OTB-100 (OTB-2013/2015) reader: ``<Seq>/img/0001.jpg`` + ``<Seq>/groundtruth_rect.txt``.

* Annotations are 1-based ``x,y,w,h`` with commas, tabs or spaces (mixed inside some files); converted to
  0-based on load.
* Sequences with two targets store ``groundtruth_rect.1.txt`` / ``groundtruth_rect.2.txt`` (Jogging,
  Skating2, Human4 with only ``.2``); they become ``Jogging-1``, ``Jogging-2``, ... (the common spelling, as
  in the OTB-100 result releases). An empty annotation file is skipped.
* When the frame folder holds more images than the annotation has rows, the sequence is the annotated
  range: the OTB configuration's start frame for the few sequences that do not start at frame 1 (David
  starts at frame 300), otherwise the first frames ("frames past the last annotated row are not part of the
  sequence"). An annotation longer than the frame list is an error.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


from dastsiam.datasets._io import list_frames, read_numbers, require_dir, select_names, sort_key
from dastsiam.errors import InputError
from dastsiam.sequence import Sequence

# OTB configSeqs entries whose annotated range is not "all frames from 1" (start frame, end frame; 1-based)
OTB_FRAME_RANGES = {
    "David": (300, 770),
    "Football1": (1, 74),
    "Freeman3": (1, 460),
    "Freeman4": (1, 283),
    "Diving": (1, 215),
}

OTB_ATTRIBUTES = ("IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC", "LR")
OTB_ATTRIBUTE_NAMES = {
    "IV": "Illumination Variation",
    "SV": "Scale Variation",
    "OCC": "Occlusion",
    "DEF": "Deformation",
    "MB": "Motion Blur",
    "FM": "Fast Motion",
    "IPR": "In-Plane Rotation",
    "OPR": "Out-of-Plane Rotation",
    "OV": "Out-of-View",
    "BC": "Background Clutter",
    "LR": "Low Resolution",
}

_GT_FILE = re.compile(r"^groundtruth_rect(?:\.(\d+))?\.txt$")


def _annotation_files(root: Path) -> dict[str, tuple[Path, str]]:
    """Map sequence name -> (annotation file, folder name), from one listing per sequence folder."""
    found: dict[str, tuple[Path, str]] = {}
    with os.scandir(root) as entries:
        folders = sorted((e.name for e in entries if e.is_dir()), key=sort_key)
    for folder in folders:
        with os.scandir(root / folder) as entries:
            files = sorted(e.name for e in entries if _GT_FILE.match(e.name))
        for name in files:
            path = root / folder / name
            if path.stat().st_size == 0 or not path.read_bytes().strip():
                continue  # e.g. Human4's empty groundtruth_rect.1.txt
            index = _GT_FILE.match(name).group(1)
            found[f"{folder}-{index}" if index else folder] = (path, folder)
    return found


def load_otb_attributes(path: Path) -> dict[str, bool]:
    """Read one OTB attribute file (11 comma/space separated 0/1 flags in the OTB order)."""
    flags = read_numbers(path, columns=(len(OTB_ATTRIBUTES),))
    if len(flags) != 1:
        raise InputError(f"{path}: expected one row of {len(OTB_ATTRIBUTES)} attribute flags, got {len(flags)} rows")
    return {a: bool(v) for a, v in zip(OTB_ATTRIBUTES, flags[0])}


def load_otb(root, names=None) -> list[Sequence]:
    """Load OTB sequences from ``root`` (one folder per sequence). ``names`` selects and orders them."""
    root = require_dir(Path(root), "OTB dataset")
    annotations = _annotation_files(root)
    if not annotations:
        raise InputError(f"{root}: no OTB sequences (expected <Seq>/groundtruth_rect.txt)")
    sequences = []
    for name in select_names(list(annotations), names, root):
        gt_path, folder = annotations[name]
        gt = read_numbers(gt_path)
        frames = list_frames(root / folder / "img")
        frames = _annotated_range(frames, len(gt), folder, gt_path)
        gt = gt.copy()
        gt[:, :2] -= 1.0
        attributes = {}
        att_file = root / folder / "attributes.txt"
        if att_file.is_file():
            attributes.update(load_otb_attributes(att_file))
        sequences.append(Sequence(name, frames, gt, attributes=attributes, dataset="otb"))
    return sequences


def _annotated_range(frames: list[Path], rows: int, folder: str, gt_path: Path) -> list[Path]:
    if len(frames) == rows:
        return frames
    if len(frames) < rows:
        raise InputError(f"{gt_path}: {rows} annotation rows but only {len(frames)} frames in {gt_path.parent / 'img'}")
    start, end = OTB_FRAME_RANGES.get(folder, (1, rows))
    selected = frames[start - 1 : end]
    if len(selected) != rows:
        raise InputError(
            f"{gt_path}: {rows} annotation rows do not match frames {start}..{end} of {gt_path.parent / 'img'}"
        )
    return selected
