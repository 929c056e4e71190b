"""Fixtures of the evaluation tests."""

from __future__ import annotations

import numpy as np
import pytest

FORCED_FAILURES = range(99, 104)  # ground truth moved to a far corner: every tracker fails at frame 99
FAR_CORNER = [2, 2, 30, 2, 30, 30, 2, 30]


@pytest.fixture
def vot_bag(shared_data, tmp_path):
    """``vot_bag(moved=FORCED_FAILURES, grid=None)``: ``tmp_path/sequences`` = ``list.txt`` + ``bag/`` (the real
    VOT ``bag`` frames, linked) in the VOT layout that ``dastsiam`` and the VOT toolkit read; the ground truth
    moved to :data:`FAR_CORNER` on the ``moved`` frames, so the reset protocol fails and re-initialises there.
    ``grid``: polygon coordinates rounded to ``1 / grid`` px first."""

    def make(moved=FORCED_FAILURES, grid: int | None = None):
        src = shared_data / "VOT" / "bag"
        root = tmp_path / "sequences"
        seq = root / "bag"
        seq.mkdir(parents=True)
        (root / "list.txt").write_text("bag\n")
        for frame in sorted(src.glob("*.jpg")):
            (seq / frame.name).symlink_to(frame)
        rows = np.loadtxt(src / "groundtruth.txt", delimiter=",")
        if grid:
            rows = np.round(rows * grid) / grid
        for i in moved:
            rows[i] = FAR_CORNER
        np.savetxt(seq / "groundtruth.txt", rows, delimiter=",", fmt="%.6f")
        return root

    return make
