"""Per-cell box branch: each cell of the ``S x S`` map predicts the distances left, top, right, bottom from its
point in the search crop to the box edges (FCOS-style, as in NanoTrack and SiamBAN/SiamCAR-like heads).

Reference: OpenCV's ``modules/video/src/tracking/tracker_nano.cpp`` (``TrackerNanoImpl::update``: ``grid``
of ``(j - S/2) * stride`` points, ``pred_x1 = grid_x - loc[0]`` ...), reproduced exactly with the ``opencv``
grid; the ``geometry`` grid places the points by :class:`~dastsiam.models.OutputGeometry`. Selection of the
cell: :mod:`.box_branch`.
"""

from __future__ import annotations

from dastsiam.tracking import postprocess as pp
from dastsiam.tracking.decoders.box_branch import BoxBranchDecoder

__all__ = ["LtrbDecoder"]


class LtrbDecoder(BoxBranchDecoder):
    """``HeadOutput.loc (1, 4, S, S)``: l, t, r, b distances in crop pixels from each cell's point."""

    name = "ltrb"

    def points(self, config, size: int):
        return pp.cell_points(self.geometry, config.grid, size)

    def boxes(self, loc, points):
        return pp.decode_ltrb(loc, *points)
