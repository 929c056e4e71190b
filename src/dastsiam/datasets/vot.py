"""VOT2018 (short-term) reader: ``list.txt``, ``<seq>/groundtruth.txt`` and frames as
``<seq>/00000001.jpg`` or ``<seq>/color/00000001.jpg``.

Rows are 8-number polygons ``x1,y1,...,x4,y4`` or 4-number boxes (VOT uses both); a 4-number row is stored
as its rectangle polygon so ``Sequence.polygons`` is always ``(N, 8)``, and ``ground_truth`` is the polygon's
axis-aligned envelope (:func:`dastsiam.boxes.polygon_to_xywh`). VOT coordinates are used as they are (no
1-based shift); ``attributes["region_format"]`` says which of the two the file holds. Per-frame ``*.tag``/``*.label`` files (``occlusion.tag``, ...) become per-frame attributes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dastsiam.boxes import polygon_to_xywh
from dastsiam.datasets._io import list_frames, read_flag_row, read_numbers, require_dir, select_names
from dastsiam.errors import InputError
from dastsiam.sequence import Sequence


def box_rows_to_polygons(rows: np.ndarray) -> np.ndarray:
    if rows.shape[1] == 8:
        return rows
    x, y, w, h = rows.T
    return np.stack([x, y, x + w, y, x + w, y + h, x, y + h], axis=1)


def load_vot2018(root, names=None) -> list[Sequence]:
    root = require_dir(Path(root), "VOT dataset")
    list_file = root / "list.txt"
    if list_file.is_file():
        available = [line.strip() for line in list_file.read_text().splitlines() if line.strip()]
    else:
        available = sorted(p.name for p in root.iterdir() if (p / "groundtruth.txt").is_file())
    if not available:
        raise InputError(f"{root}: no VOT sequences (expected list.txt and <seq>/groundtruth.txt)")
    sequences = []
    for name in select_names(available, names, root):
        folder = root / name
        rows = read_numbers(folder / "groundtruth.txt", columns=(8, 4))
        frame_dir = folder / "color" if (folder / "color").is_dir() else folder
        frames = list_frames(frame_dir)
        if len(frames) != len(rows):
            raise InputError(f"{folder / 'groundtruth.txt'}: {len(rows)} rows but {len(frames)} frames in {frame_dir}")
        polygons = box_rows_to_polygons(rows)
        # the VOT toolkit scores a 4-number ground truth as a rectangle and an 8-number one as a polygon
        attributes: dict = {"region_format": "rectangle" if rows.shape[1] == 4 else "polygon"}
        for tag in sorted(folder.glob("*.tag")) + sorted(folder.glob("*.label")):
            values = read_flag_row(tag)
            if len(values) < len(rows):  # VOT tag files may stop at the last tagged frame
                values = np.concatenate([values, np.zeros(len(rows) - len(values), np.int64)])
            attributes[tag.stem] = values[: len(rows)].astype(bool)
        sequences.append(
            Sequence(name, frames, polygon_to_xywh(polygons), polygons=polygons, attributes=attributes, dataset="vot2018")
        )
    return sequences
