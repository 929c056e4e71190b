"""FEAR-XS (Borsuk et al., "FEAR: Fast, Efficient, Accurate and Robust Visual Tracker", ECCV 2022; MIT) in PyTorch.

The released FEAR-XS network (PinataFarms/FEARTracker, the model *without* the dynamic template update),
rebuilt from the two CoreML graphs of the repository's demo app (``TrackerInit.mlmodel``: template branch,
``Tracker.mlmodel``: search branch + fusion + heads) by ``scripts/convert_fear.py``; the layer layout follows
``model_training/model/fear_net.py`` and ``model_training/model/blocks.py`` of that repository (names below are
theirs where they have one). Those graphs hold the weights with every BatchNorm folded into the convolution
before it, so this module has no BatchNorm: a conv with a bias stands where the reference has conv + BN.

* **Input**: ``float32 (B, 3, H, W)`` BGR ``0..255`` like every dastsiam model (:mod:`dastsiam.models.base`).
  The reference tracker feeds RGB crops normalised with the ImageNet mean/std (``base_tracker.py``,
  ``albu.Normalize``); here the channel swap is folded into the first convolution's input channels (exact,
  free) and the normalisation is one multiply-add per pixel.
* **Backbone**: FBNet-C (``mobile_cv`` ``fbnet_c``) stages ``[:18]``, i.e. the reference ``Encoder.stages[:4]``
  (``max_layer: 4``), total stride 16, 112 channels; ``neck`` = ``AdjustLayer`` (1x1 conv to 256).
  Template ``128 -> 256 x 8 x 8``, search ``256 -> 256 x 16 x 16``.
* **Head** (``BoxTower``, ``towernum: 2``, ``mobile: true``): per branch (cls, reg) a separable 3x3 conv on
  the search features (``*_encode``), the *pixel-wise correlation* ``(B, 64, C) @ (B, C, 256)`` of the
  64 template cells with every search cell, concatenated with the search features and fused by a separable
  conv (``*_dw``), two separable conv towers, and a separable prediction conv. ``loc = exp(.)``: distances
  left/top/right/bottom in search-crop pixels from each cell's point; ``cls``: one logit per cell (sigmoid;
  the reference's ``0.1 *`` and ``adjust``/``bias`` scalings are folded into the last convs by the export).
* **Cells**: cell ``(i, j)`` looks at crop pixel ``(16 j, 16 i)`` (``make_grid``: ``(j - 8) * 16 + 128``), so
  :data:`GEOMETRY` has ``offset_override = 0``.

DASTSiam's ST (template fusion) and DA (search augmentation) plug in on the 256-channel neck features, as for
the nano family.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from dastsiam.config import ConfigError
from dastsiam.models.base import HeadOutput, SiameseModel
from dastsiam.models.config import ModelConfig
from dastsiam.models.geometry import OutputGeometry

EXEMPLAR_SIZE = 128  # siam_tracker.yaml template_size
INSTANCE_SIZE = 256  # instance_size
STRIDE = 16  # total_stride
SCORE_SIZE = 16  # score_size
CHANNELS = 256  # adjust_channels: the neck's width, where ST / DA plug in
TEMPLATE_CELLS = (EXEMPLAR_SIZE // STRIDE) ** 2  # 64 correlation channels

# make_grid places cell j at (j - score_size // 2) * total_stride + instance_size // 2 = 16 j
GEOMETRY = OutputGeometry(exemplar_size=EXEMPLAR_SIZE, instance_size=INSTANCE_SIZE, stride=STRIDE,
                          score_size=SCORE_SIZE, offset_override=0.0)

# ImageNet normalisation of the reference tracker (albu.Normalize on RGB 0..255 crops)
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class BlockSpec:
    """One FBNet inverted-residual block: [1x1 expand + ReLU] -> kxk depthwise (stride) + ReLU -> 1x1 project,
    plus the input when stride is 1 and the width is kept. ``hidden == inp`` means no expand conv (FBNet ``e1``)."""

    inp: int
    hidden: int
    out: int
    kernel: int
    stride: int


# FBNet-C stages 1..17 as the CoreML graphs hold them (stage 0 is the stem); widths and kernels read from there
BLOCKS = (
    BlockSpec(16, 16, 16, 3, 1),
    BlockSpec(16, 96, 24, 3, 2),
    BlockSpec(24, 24, 24, 3, 1),
    BlockSpec(24, 24, 24, 3, 1),
    BlockSpec(24, 144, 32, 5, 2),
    BlockSpec(32, 96, 32, 5, 1),
    BlockSpec(32, 192, 32, 5, 1),
    BlockSpec(32, 192, 32, 3, 1),
    BlockSpec(32, 192, 64, 5, 2),
    BlockSpec(64, 192, 64, 5, 1),
    BlockSpec(64, 384, 64, 5, 1),
    BlockSpec(64, 384, 64, 5, 1),
    BlockSpec(64, 384, 112, 5, 1),
    BlockSpec(112, 672, 112, 5, 1),
    BlockSpec(112, 672, 112, 5, 1),
    BlockSpec(112, 336, 112, 5, 1),
)
BACKBONE_CHANNELS = 112


class InvertedResidual(nn.Module):
    def __init__(self, spec: BlockSpec):
        super().__init__()
        self.expand = nn.Conv2d(spec.inp, spec.hidden, 1) if spec.hidden != spec.inp else None
        self.depthwise = nn.Conv2d(spec.hidden, spec.hidden, spec.kernel, spec.stride, spec.kernel // 2,
                                   groups=spec.hidden)
        self.project = nn.Conv2d(spec.hidden, spec.out, 1)
        self.residual = spec.stride == 1 and spec.inp == spec.out
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.expand(x)) if self.expand is not None else x
        y = self.project(self.relu(self.depthwise(y)))
        return x + y if self.residual else y


class FBNetBackbone(nn.Module):
    """FBNet-C trunk up to 112 channels at stride 16, with the input normalisation in front.

    ``forward`` takes BGR ``0..255``: the per-channel ``(x - mean) / std`` of the reference's RGB crops is applied
    in BGR order and the stem's input channels are stored in BGR order (``scripts/convert_fear.py`` reverses the
    reference's RGB ones), so no channel flip runs per frame.
    """

    def __init__(self):
        super().__init__()
        mean_bgr = [255.0 * m for m in reversed(IMAGENET_MEAN_RGB)]
        inv_std_bgr = [1.0 / (255.0 * s) for s in reversed(IMAGENET_STD_RGB)]
        # fixed constants of the published model (not trained): buffers outside the state dict
        self.register_buffer("mean", torch.tensor(mean_bgr).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("inv_std", torch.tensor(inv_std_bgr).view(1, 3, 1, 1), persistent=False)
        self.stem = nn.Conv2d(3, 16, 3, 2, 1)  # input channels in BGR order
        self.blocks = nn.Sequential(*(InvertedResidual(spec) for spec in BLOCKS))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) * self.inv_std
        return self.blocks(self.relu(self.stem(x)))


class SepConv(nn.Module):
    """Depthwise kxk then pointwise 1x1 (the reference ``SepConv``; BN folded into ``pointwise``)."""

    def __init__(self, inp: int, out: int, depthwise_bias: bool = True):
        super().__init__()
        self.depthwise = nn.Conv2d(inp, inp, 3, 1, 1, groups=inp, bias=depthwise_bias)
        self.pointwise = nn.Conv2d(inp, out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


def _tower(width: int, depth: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [SepConv(width, width), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def pixelwise_correlation(f_z: torch.Tensor, f_x: torch.Tensor) -> torch.Tensor:
    """``(B, Hz*Wz, Hx, Wx)``: every template cell's feature dotted with every search cell's (``MobileCorrelation``)."""
    b, c, h, w = f_x.shape
    z = f_z.reshape(f_z.shape[0], c, -1).transpose(1, 2)  # (B, Hz*Wz, C)
    return torch.matmul(z, f_x.reshape(b, c, h * w)).reshape(b, -1, h, w)


class FEARHead(nn.Module):
    """The reference ``BoxTower`` with ``mobile: true``, ``towernum: 2`` (BN folded)."""

    def __init__(self, channels: int = CHANNELS, template_cells: int = TEMPLATE_CELLS, towernum: int = 2,
                 confidence_branch: bool = False):
        super().__init__()
        # MatrixMobile.matrix11_s: separable conv (no bias) + BN + ReLU on the search features
        self.cls_encode = SepConv(channels, channels, depthwise_bias=False)
        self.reg_encode = SepConv(channels, channels, depthwise_bias=False)
        # MobileCorrelation.enc: separable conv on [search features, correlation] + BN + ReLU
        self.cls_dw = SepConv(channels + template_cells, channels)
        self.reg_dw = SepConv(channels + template_cells, channels)
        self.cls_tower = _tower(channels, towernum)
        self.bbox_tower = _tower(channels, towernum)
        self.cls_pred = SepConv(channels, 1)
        self.bbox_pred = SepConv(channels, 4)
        self.relu = nn.ReLU(inplace=True)
        # the paper's BCE confidence branch (not in FEAR): one 3x3 conv on the classification tower's features,
        # as the nano family's (FCOS puts its centre-ness there); zero-initialised, so it says 0.5 everywhere
        # and the rest of the network is FEAR-XS unchanged until trained
        self.conf_logits = nn.Conv2d(channels, 1, 3, padding=1) if confidence_branch else None
        if self.conf_logits is not None:
            nn.init.zeros_(self.conf_logits.weight)
            nn.init.zeros_(self.conf_logits.bias)

    def forward(self, f_z: torch.Tensor, f_x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``(cls logits (B, 1, S, S), l/t/r/b distances (B, 4, S, S), conf logits (B, 1, S, S) or None)``."""
        cls_x = self.relu(self.cls_encode(f_x))
        reg_x = self.relu(self.reg_encode(f_x))
        cls = self.relu(self.cls_dw(torch.cat([cls_x, pixelwise_correlation(f_z, cls_x)], dim=1)))
        reg = self.relu(self.reg_dw(torch.cat([reg_x, pixelwise_correlation(f_z, reg_x)], dim=1)))
        cls_features = self.cls_tower(cls)
        logits = self.cls_pred(cls_features)
        distances = torch.exp(self.bbox_pred(self.bbox_tower(reg)))
        conf = self.conf_logits(cls_features) if self.conf_logits is not None else None
        return logits, distances, conf


class FEARNet(SiameseModel):
    """FEAR-XS as a :class:`SiameseModel` (``cls (B, 1, 16, 16)`` logits, ``loc (B, 4, 16, 16)`` l/t/r/b
    distances), optionally with DASTSiam's ST and DA modules on the 256-channel features."""

    def __init__(self, st: nn.Module | None = None, da: nn.Module | None = None, confidence_branch: bool = False):
        super().__init__()
        self.backbone = FBNetBackbone()
        self.neck = nn.Conv2d(BACKBONE_CHANNELS, CHANNELS, 1)  # AdjustLayer (BN folded)
        self.head = FEARHead(confidence_branch=confidence_branch)
        self.st = st
        self.da = da
        self.geometry = GEOMETRY
        self.channels = CHANNELS

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``get_features`` of the reference: backbone + neck."""
        return self.neck(self.backbone(x))

    def template(self, z: torch.Tensor) -> torch.Tensor:
        return self.features(z)

    def track(self, x: torch.Tensor, f_z: torch.Tensor) -> HeadOutput:
        f_x = self.features(x)
        if self.da is not None:
            f_x = self.da(f_z, f_x)
        logits, distances, conf = self.head(f_z, f_x)
        return HeadOutput(cls=logits, loc=distances, conf=conf)


def build(cfg: ModelConfig) -> FEARNet:
    """An untrained FEAR-XS, with ST / DA and the BCE confidence branch (all zero-initialised at their output)
    where the config asks for them (``confidence`` ``cls_conf`` / ``conf`` add the branch: ``dastsiam-fear``)."""
    if cfg.confidence not in ("cls", "cls_conf", "conf"):
        raise ConfigError(f"model.confidence {cfg.confidence!r}: use 'cls', 'cls_conf' or 'conf' for arch 'fear'")
    st = da = None
    if cfg.st.enabled:
        from dastsiam.models.spatio_temporal import SpatioTemporalFusion

        st = SpatioTemporalFusion(cfg.st, CHANNELS)
    if cfg.da.enabled:
        from dastsiam.models.discriminative_augmentation import DiscriminativeAugmentation

        da = DiscriminativeAugmentation(cfg.da, CHANNELS)
    return FEARNet(st=st, da=da, confidence_branch=cfg.confidence in ("cls_conf", "conf"))
