"""Correlation heads: SiamRPN++'s depth-wise correlation block, SiamRPN's anchor head (the paper's) and the
anchor-free cls / loc / conf head (a switch, ``ModelConfig.head: ltrb``)."""

from __future__ import annotations

import torch
from torch import nn

from dastsiam.models.base import HeadOutput
from dastsiam.models.xcorr import xcorr_depthwise

# exp() of the scaled raw box output is clamped here so a diverging model gives huge boxes, not inf
_MAX_LOG_DISTANCE = 10.0


def conv_bn_relu(in_channels: int, out_channels: int, kernel: int, padding: int = 0) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=padding, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DepthwiseXCorr(nn.Module):
    """pysot's ``DepthwiseXCorr`` body: unpadded 3x3 conv+BN+ReLU on each side, then depth-wise xcorr.

    Template ``h`` -> ``h-2``, search ``H`` -> ``H-2``; output ``(B, hidden, H-h+1, W-w+1)``.
    """

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.conv_kernel = conv_bn_relu(channels, hidden, 3)
        self.conv_search = conv_bn_relu(channels, hidden, 3)

    def forward(self, f_z: torch.Tensor, f_s: torch.Tensor) -> torch.Tensor:
        return xcorr_depthwise(self.conv_search(f_s), self.conv_kernel(f_z))


class _CorrelationBranches(nn.Module):
    """The two depth-wise correlation branches both heads share: ``DepthwiseXCorr -> 3x3 conv+BN+ReLU (padded)``
    for classification (feeding the 2-way ``cls`` and the BCE ``conf`` logits; FCOS puts its extra branch on the
    classification tower too) and for regression (feeding ``loc``), with ``per_cell`` predictions per cell."""

    def __init__(self, channels: int, hidden: int, per_cell: int):
        super().__init__()
        self.cls_xcorr = DepthwiseXCorr(channels, hidden)
        self.loc_xcorr = DepthwiseXCorr(channels, hidden)
        self.cls_tower = conv_bn_relu(hidden, hidden, 3, padding=1)
        self.loc_tower = conv_bn_relu(hidden, hidden, 3, padding=1)
        self.cls = nn.Conv2d(hidden, 2 * per_cell, 1)
        self.conf = nn.Conv2d(hidden, per_cell, 1)
        self.loc = nn.Conv2d(hidden, 4 * per_cell, 1)
        for conv in (self.cls, self.conf, self.loc):
            nn.init.normal_(conv.weight, std=0.01)
            nn.init.zeros_(conv.bias)

    def raw_outputs(self, f_z: torch.Tensor, f_s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(cls, raw loc, conf)`` logits before any head-specific transform of ``loc``."""
        cls_features = self.cls_tower(self.cls_xcorr(f_z, f_s))
        loc_features = self.loc_tower(self.loc_xcorr(f_z, f_s))
        return self.cls(cls_features), self.loc(loc_features), self.conf(cls_features)


class BoxHead(_CorrelationBranches):
    """Anchor-free head over the correlation map (one prediction per output cell), as SiamBAN / SiamCAR.

    ``loc = stride * exp(scale * raw)`` with a learnable ``scale`` (init 1): distances are positive, start
    near one cell (``stride`` px) and the exponent's range stays small for boxes up to the crop size.
    """

    def __init__(self, channels: int, stride: int, hidden: int = 256):
        super().__init__(channels, hidden, per_cell=1)
        self.stride = float(stride)
        self.loc_scale = nn.Parameter(torch.ones(1))

    def forward(self, f_z: torch.Tensor, f_s: torch.Tensor) -> HeadOutput:
        cls, raw_loc, conf = self.raw_outputs(f_z, f_s)
        log_distance = (raw_loc * self.loc_scale).clamp(max=_MAX_LOG_DISTANCE)
        return HeadOutput(cls=cls, loc=self.stride * torch.exp(log_distance), conf=conf)


class AnchorHead(_CorrelationBranches):
    """SiamRPN's anchor-based head, the paper's: it keeps SiamRPN's anchors and changes their label assignment
    ("modify the label assignment of SiamRPN by changing the anchor setting based on IoU to the setting based on
    the center distance", Sec. 3.1; eq. 6), on the same two depth-wise correlation branches as :class:`BoxHead`.

    With ``K`` anchor shapes per cell (:meth:`OutputGeometry.anchor_sizes`), channel layouts as pysot's RPN:

    * ``cls (B, 2K, S, S)``: channel ``c * K + k`` = class ``c`` (1 = target) of anchor ``k``; 2-way CE (``L_cls1``).
    * ``loc (B, 4K, S, S)``: channel ``i * K + k`` = normalised offset ``i`` of anchor ``k``:
      ``dx = (gx - ax) / aw, dy = (gy - ay) / ah, dw = log(gw / aw), dh = log(gh / ah)`` (smooth-L1, ``L_reg``).
    * ``conf (B, K, S, S)``: one BCE logit per anchor (``L_cls2``), from the classification tower.
    """

    def __init__(self, channels: int, num_anchors: int, hidden: int = 256):
        super().__init__(channels, hidden, per_cell=num_anchors)
        self.num_anchors = num_anchors

    def forward(self, f_z: torch.Tensor, f_s: torch.Tensor) -> HeadOutput:
        cls, loc, conf = self.raw_outputs(f_z, f_s)
        return HeadOutput(cls=cls, loc=loc, conf=conf)
