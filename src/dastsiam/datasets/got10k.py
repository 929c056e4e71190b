"""GOT-10k reader: ``<split>/list.txt``, ``<split>/<seq>/00000001.jpg``, ``groundtruth.txt`` (1-based
``x,y,w,h``), ``absence.label`` (1 = target absent), ``cover.label`` (0..8 visible fraction) and
``cut_by_image.label``.

The test split ships only the first frame's box: the other rows of ``ground_truth`` are NaN and
``Sequence.attributes["test_split"]`` is True. ``root`` may be the dataset root (then ``split`` is
``train``/``val``/``test``, default ``val``) or a split folder itself (holding ``list.txt``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dastsiam.datasets._io import list_frames, read_flag_row, read_numbers, require_dir, select_names
from dastsiam.errors import InputError
from dastsiam.sequence import Sequence


def load_got10k(root, split: str | None = None, names=None) -> list[Sequence]:
    root = require_dir(Path(root), "GOT-10k dataset")
    if (root / "list.txt").is_file() and split is None:
        split_dir = root
    else:
        split_dir = require_dir(root / (split or "val"), "GOT-10k split")
    list_file = split_dir / "list.txt"
    if list_file.is_file():
        available = [line.strip() for line in list_file.read_text().splitlines() if line.strip()]
    else:
        available = sorted(p.name for p in split_dir.iterdir() if (p / "groundtruth.txt").is_file())
    if not available:
        raise InputError(f"{split_dir}: no GOT-10k sequences (expected list.txt and <seq>/groundtruth.txt)")
    sequences = []
    for name in select_names(available, names, split_dir):
        folder = split_dir / name
        frames = list_frames(folder)
        gt = read_numbers(folder / "groundtruth.txt")
        attributes: dict = {}
        if len(gt) == 1 and len(frames) > 1:
            attributes["test_split"] = True
            gt = np.vstack([gt, np.full((len(frames) - 1, 4), np.nan)])
        elif len(gt) != len(frames):
            raise InputError(f"{folder / 'groundtruth.txt'}: {len(gt)} rows but {len(frames)} frames in {folder}")
        gt = gt.copy()
        gt[:, :2] -= 1.0
        absent = None
        for label in ("absence", "cover", "cut_by_image"):
            path = folder / f"{label}.label"
            if path.is_file():
                attributes[label] = read_flag_row(path, len(frames))
        if "absence" in attributes:
            absent = attributes["absence"].astype(bool) | ~np.all(np.isfinite(gt), axis=1)
        sequences.append(Sequence(name, frames, gt, absent=absent, attributes=attributes, dataset="got10k"))
    return sequences
