"""SiamFC (Bertinetto et al. 2016) with an AlexNet backbone, optionally with ST (and DA) (arch ``"alexnet"``).

    template 127 px -> 6x6x256 -> [ST] -> f_z*;  search 255 px -> 22x22x256 -> [DA(f_z*, .)]
    response = 0.001 * xcorr(f_z*, f_s) + bias  -> (B, 1, 17, 17) logits, stride 8

The paper embeds only ST in SiamFC; DA is available here too (``da.enabled``) for ablations.
"""

from __future__ import annotations

import torch
from torch import nn

from dastsiam.models.alexnet import AlexNetSiamFC
from dastsiam.models.base import HeadOutput, SiameseModel
from dastsiam.models.config import ModelConfig
from dastsiam.models.discriminative_augmentation import DiscriminativeAugmentation
from dastsiam.models.geometry import OutputGeometry
from dastsiam.models.resnet import BGRToImageNet
from dastsiam.models.siamrpn import check_crop
from dastsiam.models.spatio_temporal import SpatioTemporalFusion
from dastsiam.models.xcorr import xcorr_full

# no box branch: the tracker searches a scale pyramid (dastsiam.tracking.decoders.scale_pyramid)
SIAMFC_GEOMETRY = OutputGeometry(exemplar_size=127, instance_size=255, stride=8, score_size=17,
                                 decoder="scale_pyramid")
# SiamFC's "adjust" layer: a fixed 1e-3 scale keeps the initial response (a sum over 6*6*256 products) small
RESPONSE_SCALE = 1e-3


class SiamFC(SiameseModel):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.geometry = SIAMFC_GEOMETRY
        self.normalize = BGRToImageNet()
        self.backbone = AlexNetSiamFC()
        channels = AlexNetSiamFC.out_channels
        self.st = SpatioTemporalFusion(cfg.st, channels) if cfg.st.enabled else None
        self.da = DiscriminativeAugmentation(cfg.da, channels) if cfg.da.enabled else None
        self.response_bias = nn.Parameter(torch.zeros(1))

    def template(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 127, 127) -> (B, 256, 6, 6)``."""
        check_crop(z, self.geometry.exemplar_size, "template")
        return self.backbone(self.normalize(z))

    def track(self, x: torch.Tensor, f_z: torch.Tensor) -> HeadOutput:
        """``(B, 3, 255, 255)`` -> ``HeadOutput(cls=(B, 1, 17, 17))``."""
        check_crop(x, self.geometry.instance_size, "search")
        f_s = self.backbone(self.normalize(x))
        if self.da is not None:
            f_s = self.da(f_z, f_s)
        return HeadOutput(cls=RESPONSE_SCALE * xcorr_full(f_s, f_z) + self.response_bias)


def build(cfg: ModelConfig) -> SiamFC:
    if cfg.arch != "alexnet":
        raise ValueError(f"siamfc.build needs arch 'alexnet', got {cfg.arch!r}")
    return SiamFC(cfg)
