"""The exact mapping between a model's output cells and search-crop pixels.

Shared by label assignment (training) and box decoding (tracking), so both read the same numbers.

Cell ``(i, j)`` (row ``i``, column ``j``) of a ``score_size`` x ``score_size`` map looks at the search-crop
point ``(offset + j * stride, offset + i * stride)`` in continuous pixel coordinates of the crop, with

    offset = instance_size / 2 - (score_size - 1) / 2 * stride

so the centre cell of an odd-sized map sits exactly at the crop centre, and an even-sized map is placed
symmetrically around it. ``offset`` can be overridden where a published model (NanoTrack / OpenCV) uses a
different placement; such a model documents it next to its definition.

An anchor head (SiamRPN) has ``K`` anchor shapes centred on every cell point (:meth:`OutputGeometry.anchors`);
label assignment encodes boxes against them and decoding inverts the same numbers. ``decoder`` names the
tracker's decoding of the head (:mod:`dastsiam.tracking.decoders`) where the head alone does not imply it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OutputGeometry:
    exemplar_size: int  # template crop side, pixels (127)
    instance_size: int  # search crop side, pixels (287 for dastsiam-r50, 255 for SiamFC / NanoTrack)
    stride: int  # pixels between neighbouring output cells (8 for ResNet layer3, 16 for NanoTrack)
    score_size: int  # output map side (25 for dastsiam-r50)
    offset_override: float | None = None
    # SiamRPN anchors (arch r50 with the anchor head); empty = an anchor-free head (one prediction per cell)
    anchor_ratios: tuple[float, ...] = ()  # h / w of each anchor shape
    anchor_scales: tuple[float, ...] = ()  # anchor side in strides (SiamRPN: 8)
    # how a tracker turns this head's maps into boxes (dastsiam.tracking.decoders); None = what the head implies:
    # "anchors" with anchor shapes, else "ltrb" (per-cell box branch). SiamFC's response-only head: "scale_pyramid"
    decoder: str | None = None

    def __post_init__(self) -> None:
        # exported metadata (YAML) gives lists; keep the frozen dataclass hashable and comparable
        object.__setattr__(self, "anchor_ratios", tuple(float(r) for r in self.anchor_ratios))
        object.__setattr__(self, "anchor_scales", tuple(float(s) for s in self.anchor_scales))

    @property
    def num_anchors(self) -> int:
        """Anchor shapes per cell, ``K`` (0 for an anchor-free head)."""
        return len(self.anchor_ratios) * len(self.anchor_scales)

    def anchor_sizes(self) -> np.ndarray:
        """``(K, 2)`` anchor ``(w, h)`` in crop pixels, pysot's ``Anchors.generate_anchors`` exactly.

        For each ratio ``r`` (outer loop) and scale ``s`` (inner loop): ``ws = int(sqrt(stride^2 / r))``,
        ``hs = int(ws * r)``, anchor ``(ws * s, hs * s)``. SiamRPN's ratios ``0.33, 0.5, 1, 2, 3`` with scale 8
        at stride 8 give ``(104, 32), (88, 40), (64, 64), (40, 80), (32, 96)``.
        """
        sizes = []
        for ratio in self.anchor_ratios:
            ws = int(math.sqrt(self.stride * self.stride / ratio))
            hs = int(ws * ratio)
            for scale in self.anchor_scales:
                sizes.append((ws * scale, hs * scale))
        return np.array(sizes, dtype=np.float64).reshape(-1, 2)

    def anchors(self) -> np.ndarray:
        """``(4, K, S, S)`` anchor boxes ``cx, cy, w, h`` in crop pixels: every anchor shape centred on every
        cell's point (:meth:`cell_centers`), which is where SiamRPN places them (``ori + stride * j``)."""
        xs, ys = self.cell_centers()
        sizes = self.anchor_sizes()
        k, s = len(sizes), self.score_size
        out = np.empty((4, k, s, s), dtype=np.float64)
        out[0], out[1] = xs[None], ys[None]
        out[2] = sizes[:, 0, None, None]
        out[3] = sizes[:, 1, None, None]
        return out

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
