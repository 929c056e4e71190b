"""LaSOT reader: ``<class>/<class>-<k>/img/00000001.jpg``, ``groundtruth.txt`` (1-based ``x,y,w,h``),
``full_occlusion.txt`` and ``out_of_view.txt`` (one comma-separated row of 0/1 flags per sequence).

``Sequence.absent`` is ``full_occlusion | out_of_view``; both flags are also kept as per-frame attributes.
``split="test"``/``"train"`` reads ``testing_set.txt``/``training_set.txt`` from ``root`` when present (the
official protocol-II list); without the list file every sequence found is loaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dastsiam.datasets._io import list_frames, read_flag_row, read_numbers, require_dir, select_names, sort_key
from dastsiam.errors import InputError
from dastsiam.sequence import Sequence

_SPLIT_FILES = {"test": "testing_set.txt", "train": "training_set.txt"}

#: The 14 per-sequence attributes of LaSOT, in the order of its toolkit's attribute files (one row of 14 0/1
#: flags per ``<seq>.txt``): the paper's Fig. 5 reports 9 of them (ARC, BC, IV, DEF, FOC, LR, SV, FM, MB).
LASOT_ATTRIBUTES = ("IV", "POC", "DEF", "MB", "CM", "ROT", "BC", "VC", "SV", "FOC", "FM", "OV", "LR", "ARC")
LASOT_ATTRIBUTE_NAMES = {
    "IV": "Illumination Variation", "POC": "Partial Occlusion", "DEF": "Deformation", "MB": "Motion Blur",
    "CM": "Camera Motion", "ROT": "Rotation", "BC": "Background Clutter", "VC": "Viewpoint Change",
    "SV": "Scale Variation", "FOC": "Full Occlusion", "FM": "Fast Motion", "OV": "Out-of-View",
    "LR": "Low Resolution", "ARC": "Aspect Ratio Change",
}


def load_lasot_attributes(path: Path) -> dict[str, bool]:
    """Read one LaSOT attribute file (14 comma/space separated 0/1 flags, :data:`LASOT_ATTRIBUTES` order)."""
    flags = read_numbers(Path(path), columns=(len(LASOT_ATTRIBUTES),))
    if len(flags) != 1:
        raise InputError(f"{path}: expected one row of {len(LASOT_ATTRIBUTES)} attribute flags, got {len(flags)} rows")
    return {a: bool(v) for a, v in zip(LASOT_ATTRIBUTES, flags[0])}


def _discover(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    with os.scandir(root) as entries:
        classes = sorted(e.name for e in entries if e.is_dir())
    for cls in classes:
        with os.scandir(root / cls) as entries:
            for e in entries:
                if e.is_dir() and e.name.startswith(f"{cls}-"):
                    found[e.name] = root / cls / e.name
    return found


def load_lasot(root, split: str | None = None, names=None) -> list[Sequence]:
    root = require_dir(Path(root), "LaSOT dataset")
    folders = _discover(root)
    available = sorted(folders, key=sort_key)
    if split is not None:
        if split not in _SPLIT_FILES:
            raise InputError(f"LaSOT split must be one of {sorted(_SPLIT_FILES)}, got {split!r}")
        list_file = root / _SPLIT_FILES[split]
        if list_file.is_file():
            listed = [line.strip() for line in list_file.read_text().splitlines() if line.strip()]
            missing = [n for n in listed if n not in folders]
            if missing:
                raise InputError(f"{list_file}: sequences not found under {root}: {', '.join(missing[:5])}")
            available = listed
    if not available:
        raise InputError(f"{root}: no LaSOT sequences (expected <class>/<class>-<k>/groundtruth.txt)")
    sequences = []
    for name in select_names(available, names, root):
        folder = folders[name]
        gt = read_numbers(folder / "groundtruth.txt")
        frames = list_frames(folder / "img")
        if len(frames) != len(gt):
            raise InputError(f"{folder / 'groundtruth.txt'}: {len(gt)} rows but {len(frames)} frames in {folder / 'img'}")
        gt = gt.copy()
        gt[:, :2] -= 1.0
        attributes: dict = {}
        absent = ~np.all(np.isfinite(gt), axis=1)
        for flag in ("full_occlusion", "out_of_view"):
            path = folder / f"{flag}.txt"
            if path.is_file():
                values = read_flag_row(path, len(gt)).astype(bool)
                attributes[flag] = values
                absent |= values
        sequences.append(Sequence(name, frames, gt, absent=absent, attributes=attributes, dataset="lasot"))
    return sequences
