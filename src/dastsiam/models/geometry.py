"""The exact mapping between a model's output cells and search-crop pixels.

Shared by label assignment (training) and box decoding (tracking), so both read the same numbers.

Cell ``(i, j)`` (row ``i``, column ``j``) of a ``score_size`` x ``score_size`` map looks at the search-crop
point ``(offset + j * stride, offset + i * stride)`` in continuous pixel coordinates of the crop, with

    offset = instance_size / 2 - (score_size - 1) / 2 * stride

so the centre cell of an odd-sized map sits exactly at the crop centre, and an even-sized map is placed
symmetrically around it. ``offset`` can be overridden where a published model (NanoTrack / OpenCV) uses a
different placement; such a model documents it next to its definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OutputGeometry:
    exemplar_size: int  # template crop side, pixels (127)
    instance_size: int  # search crop side, pixels (287 for dastsiam-r50, 255 for SiamFC / NanoTrack)
    stride: int  # pixels between neighbouring output cells (8 for ResNet layer3, 16 for NanoTrack)
    score_size: int  # output map side (25 for dastsiam-r50)
    offset_override: float | None = None

    @property
    def offset(self) -> float:
        if self.offset_override is not None:
            return float(self.offset_override)
        return self.instance_size / 2.0 - (self.score_size - 1) / 2.0 * self.stride

    def cell_centers(self) -> tuple[np.ndarray, np.ndarray]:
        """``(xs, ys)``, each ``(score_size, score_size)``: crop pixel coordinates every cell looks at."""
        coords = self.offset + np.arange(self.score_size, dtype=np.float64) * self.stride
        xs, ys = np.meshgrid(coords, coords)
        return xs, ys

    def cell_of_point(self, x: float, y: float) -> tuple[float, float]:
        """Fractional ``(row, col)`` of crop pixel ``(x, y)`` (inverse of :meth:`cell_centers`)."""
        return (y - self.offset) / self.stride, (x - self.offset) / self.stride
