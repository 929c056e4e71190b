"""The one small sequence type shared by the tracker, the trainer and the evaluator."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Sequence:
    """A video with per-frame ground truth.

    Attributes:
        name: sequence name as the benchmark spells it (``Jogging-1``, ``airplane-1``, ``GOT-10k_Val_000001``).
        frames: image paths in display order; ``len(frames) == len(ground_truth)``.
        ground_truth: ``(N, 4)`` float64 boxes, ``x, y, w, h`` 0-based (see :mod:`dastsiam.boxes`);
            a row of NaN where the target is absent or not annotated.
        polygons: ``(N, 8)`` VOT polygons when the benchmark gives them, else ``None``.
        absent: ``(N,)`` bool, True where the benchmark marks the target absent / fully occluded / out of view.
        attributes: per-sequence (e.g. OTB's 11 flags) or per-frame attribute arrays, by name.
        dataset: the benchmark's name (``otb``, ``vot2018``, ...), for messages and result layouts.
    """

    name: str
    frames: list[Path]
    ground_truth: np.ndarray
    polygons: np.ndarray | None = None
    absent: np.ndarray | None = None
    attributes: dict[str, np.ndarray | bool | int | float] = field(default_factory=dict)
    dataset: str = "custom"

    def __post_init__(self) -> None:
        self.ground_truth = np.asarray(self.ground_truth, dtype=np.float64).reshape(-1, 4)
        if len(self.frames) != len(self.ground_truth):
            raise ValueError(
                f"sequence {self.name!r}: {len(self.frames)} frames but {len(self.ground_truth)} ground-truth rows"
            )
        if self.absent is None:
            self.absent = ~np.all(np.isfinite(self.ground_truth), axis=1)
        else:
            self.absent = np.asarray(self.absent, dtype=bool)

    def __len__(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        """One short line (the dataclass default printed every frame path and box: 11,600+ characters)."""
        folder = Path(self.frames[0]).parent if self.frames else None
        absent = int(np.count_nonzero(self.absent)) if self.absent is not None else 0
        extras = [f"{absent} absent"] if absent else []
        if self.polygons is not None:
            extras.append("polygons")
        per_frame = [k for k, v in self.attributes.items() if isinstance(v, np.ndarray) and v.shape[:1] == (len(self),)]
        if per_frame:
            extras.append("tags: " + ", ".join(per_frame[:6]) + (", ..." if len(per_frame) > 6 else ""))
        more = f", {'; '.join(extras)}" if extras else ""
        return f"Sequence({self.name!r}, {self.dataset}, {len(self)} frames in {folder}{more})"

    @property
    def init_box(self) -> np.ndarray:
        """The first frame's box (the one a tracker is initialised with)."""
        return self.ground_truth[0].copy()
