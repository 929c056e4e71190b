"""Plain custom format: a folder of frames plus ``groundtruth.txt``.

``root`` is either one sequence (frames directly in it, or in ``img/`` or ``color/``, plus
``groundtruth.txt``) or a folder of such sequence folders. Rows are ``x,y,w,h`` in dastsiam's own convention
(0-based pixels, no shift; pass ``one_based=True`` for files written 1-based) or 8-number polygons; NaN rows
mark an absent target. Annotations shorter than the frame list cover the first frames only (the rest are not
part of the sequence).
"""

from __future__ import annotations

from pathlib import Path

from dastsiam.boxes import polygon_to_xywh
from dastsiam.datasets._io import list_frames, read_numbers, require_dir, select_names, sort_key
from dastsiam.datasets.vot import box_rows_to_polygons
from dastsiam.errors import InputError
from dastsiam.sequence import Sequence


def _frame_dir(folder: Path) -> Path:
    for sub in ("img", "color"):
        if (folder / sub).is_dir():
            return folder / sub
    return folder


def _load_one(folder: Path, one_based: bool) -> Sequence:
    rows = read_numbers(folder / "groundtruth.txt", columns=(4, 8))
    frames = list_frames(_frame_dir(folder))
    if len(frames) < len(rows):
        raise InputError(f"{folder / 'groundtruth.txt'}: {len(rows)} rows but {len(frames)} frames")
    frames = frames[: len(rows)]
    polygons = box_rows_to_polygons(rows) if rows.shape[1] == 8 else None
    gt = polygon_to_xywh(rows).copy()
    if one_based:
        gt[:, :2] -= 1.0
    return Sequence(folder.name, frames, gt, polygons=polygons, dataset="custom")


def load_custom(root, names=None, one_based: bool = False) -> list[Sequence]:
    root = require_dir(Path(root), "custom dataset")
    if (root / "groundtruth.txt").is_file():
        sequence = _load_one(root, one_based)
        select_names([sequence.name], names, root)
        return [sequence]
    available = sorted((p.name for p in root.iterdir() if (p / "groundtruth.txt").is_file()), key=sort_key)
    if not available:
        raise InputError(f"{root}: no sequences (expected groundtruth.txt beside the frames, or in sub-folders)")
    return [_load_one(root / name, one_based) for name in select_names(available, names, root)]
