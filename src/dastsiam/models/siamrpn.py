"""The paper's tracker: SiamRPN with a modified ResNet-50, depth-wise correlation and SiamRPN's anchor head
(cls / loc / conf; ``ModelConfig.head: ltrb`` switches to an anchor-free head), with ST on the template and DA on
the search features (arch ``"r50"``; arch ``"mobilenetv2"`` swaps the backbone for pysot's SiamRPN++ MobileNetV2
variant, :mod:`dastsiam.models.mobilenet`, on the same grid).

Sizes (exact; docs/models.md has the derivation)::

    template 127 px -> layer3 15x15x1024 (mobilenetv2: stages 3+5+7, 15x15x448) -> neck 15x15x256 -> centre crop 11x11 -> [ST] -> f_z*
    search   287 px -> layer3 35x35x1024 -> neck 35x35x256 -> [DA(f_z*, .)] -> f_s
    head: 3x3 unpadded conv (11->9, 35->33) -> depth-wise xcorr -> 25x25
          anchor (default): cls (2K), loc (4K), conf (K) with K = 5 anchors (ratios 0.33, 0.5, 1, 2, 3; scale 8)
          ltrb:             cls (2), loc (4), conf (1)

Output cell (i, j) looks at crop pixel ``OutputGeometry(127, 287, 8, 25).cell_centers()``, i.e. offset 47.5
px and stride 8 px, centre cell at the crop centre.
"""

from __future__ import annotations

import torch
from torch import nn

from dastsiam.models.base import HeadOutput, SiameseModel
from dastsiam.models.config import ModelConfig
from dastsiam.models.discriminative_augmentation import DiscriminativeAugmentation
from dastsiam.models.geometry import OutputGeometry
from dastsiam.models.heads import AnchorHead, BoxHead
from dastsiam.models.mobilenet import MobileNetV2Stride8
from dastsiam.models.resnet import BGRToImageNet, CenterCrop, ResNet50Layer3
from dastsiam.models.spatio_temporal import SpatioTemporalFusion

FEATURE_CHANNELS = 256
# the template's layer3 map is 15x15; its border cells see zero padding, and 11 makes 287 px -> 25x25 exact
TEMPLATE_FEATURE_SIZE = 11
R50_GEOMETRY = OutputGeometry(exemplar_size=127, instance_size=287, stride=8, score_size=25)
# SiamRPN's anchors (Li et al. 2018; pysot ANCHOR.RATIOS / SCALES): 5 shapes of area ~64^2 per cell
ANCHOR_RATIOS = (0.33, 0.5, 1.0, 2.0, 3.0)
ANCHOR_SCALES = (8.0,)
R50_ANCHOR_GEOMETRY = OutputGeometry(exemplar_size=127, instance_size=287, stride=8, score_size=25,
                                     anchor_ratios=ANCHOR_RATIOS, anchor_scales=ANCHOR_SCALES)


class Neck(nn.Module):
    """pysot's ``AdjustLayer``: 1x1 conv (1024 -> 256) + BN, shared by template and search."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


def backbone_side(pixels: int) -> int:
    """Side of :class:`ResNet50Layer3`'s output for a ``pixels``-sided input (127 -> 15, 255 -> 31, 287 -> 35)."""
    side = (pixels - 7) // 2 + 1  # conv1, unpadded
    side = (side - 1) // 2 + 1  # max-pool 3x3, stride 2, padding 1
    return (side - 3) // 2 + 1  # layer2's unpadded stride-2 3x3 conv; layer3 keeps the size


def check_crop(x: torch.Tensor, size: int, what: str) -> None:
    if torch.jit.is_tracing():
        return
    if x.dim() != 4 or x.shape[1] != 3 or x.shape[2] != size or x.shape[3] != size:
        raise ValueError(f"{what} crop must be (B, 3, {size}, {size}) BGR 0..255, got {tuple(x.shape)}")


#: arch -> (backbone class, its output side for a crop side); both give 15x15 / 35x35 for 127 / 287 px
BACKBONES = {"r50": (ResNet50Layer3, backbone_side), "mobilenetv2": (MobileNetV2Stride8, MobileNetV2Stride8.side)}


class SiamRPNResNet50(SiameseModel):
    """DASTSiam's network (arch ``r50``; ``mobilenetv2`` the same network on pysot's MobileNetV2 backbone).
    ``st`` / ``da`` are ``None`` when disabled in the config."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.geometry = R50_ANCHOR_GEOMETRY if cfg.head == "anchor" else R50_GEOMETRY
        self.normalize = BGRToImageNet()
        backbone_class, side = BACKBONES[cfg.arch]
        self.backbone = backbone_class()
        self.neck = Neck(self.backbone.out_channels, FEATURE_CHANNELS)
        self.template_crop = CenterCrop((side(self.geometry.exemplar_size) - TEMPLATE_FEATURE_SIZE) // 2)
        self.st = SpatioTemporalFusion(cfg.st, FEATURE_CHANNELS) if cfg.st.enabled else None
        self.da = DiscriminativeAugmentation(cfg.da, FEATURE_CHANNELS) if cfg.da.enabled else None
        if cfg.head == "anchor":
            self.head = AnchorHead(FEATURE_CHANNELS, self.geometry.num_anchors)
        else:
            self.head = BoxHead(FEATURE_CHANNELS, self.geometry.stride)

    def template(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 127, 127) -> (B, 256, 11, 11)``."""
        check_crop(z, self.geometry.exemplar_size, "template")
        return self.template_crop(self.neck(self.backbone(self.normalize(z))))

    def search_features(self, x: torch.Tensor, f_z: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 287, 287) -> (B, 256, 35, 35)``, augmented by DA when the model has it."""
        check_crop(x, self.geometry.instance_size, "search")
        f_s = self.neck(self.backbone(self.normalize(x)))
        return f_s if self.da is None else self.da(f_z, f_s)

    def track(self, x: torch.Tensor, f_z: torch.Tensor) -> HeadOutput:
        return self.head(f_z, self.search_features(x, f_z))


def build(cfg: ModelConfig) -> SiamRPNResNet50:
    if cfg.arch not in BACKBONES:
        raise ValueError(f"siamrpn.build needs arch {' or '.join(map(repr, BACKBONES))}, got {cfg.arch!r}")
    return SiamRPNResNet50(cfg)
