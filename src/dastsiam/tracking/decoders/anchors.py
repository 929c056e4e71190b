"""SiamRPN's anchor box branch: ``K`` anchor shapes on every cell, each with a target score and the normalised
offsets ``dx, dy, dw, dh`` (Li et al., "High Performance Visual Tracking with Siamese Region Proposal Network",
CVPR 2018; SiamRPN++ for the ResNet-50 model the paper builds on).

Reference: pysot ``pysot/tracker/siamrpn_tracker.py`` (``generate_anchor``, ``_convert_bbox``:
``cx = ax + dx * aw``, ``w = aw * exp(dw)``) and ``pysot/utils/anchor.py`` for the shapes
(:meth:`dastsiam.models.OutputGeometry.anchor_sizes`). Selection of the anchor: :mod:`.box_branch`.
"""

from __future__ import annotations

from dastsiam.tracking import postprocess as pp
from dastsiam.tracking.decoders.box_branch import BoxBranchDecoder

__all__ = ["AnchorDecoder"]


class AnchorDecoder(BoxBranchDecoder):
    """``cls (1, 2K, S, S)``, ``loc (1, 4K, S, S)``, ``conf (1, K, S, S)``: one prediction per anchor."""

    name = "anchors"

    @property
    def num_anchors(self) -> int:
        return self.geometry.num_anchors

    def points(self, config, size: int):
        return pp.anchor_points(self.geometry, config.grid, size)

    def boxes(self, loc, points):
        return pp.decode_anchor_offsets(loc, points)
