"""NanoTrack v2 / v3 (HonglinChu, Apache-2.0) in PyTorch: the light ``nano`` model family.

The layer layout reproduces the published ONNX graphs (``nanotrack_backbone*.onnx`` + ``nanotrack_head*.onnx``)
exactly; ``tests/models/test_nano_onnx.py`` checks both against onnxruntime. Summary (details in docs/nano.md):

* **Backbone**: a MobileNetV3-small trunk cut after block 8 (v2, 48 channels) or block 9 (v3, 96 channels),
  total stride 16, fed raw ``0..255`` pixels (no mean/std normalisation). Template ``127 -> 8x8``,
  search ``255 -> 16x16``.
* **Head** (SiamBAN-style, box-adaptive): a *pixel-wise correlation* (every template cell is one output
  channel: ``(B, 64, C) @ (B, C, H*W)``) followed by a channel-attention gate, then six depthwise-separable
  ReLU6 blocks per branch. v3 adds a depthwise cross-correlation with the centre ``4x4`` of the template,
  concatenated with the pixel-wise map (after a ``2x2`` conv that brings it to ``15x15``).
* **Outputs**: ``cls`` = 2-way logits (channel 1 = target), ``loc = exp(.)`` = distances ``l, t, r, b`` in
  search-crop pixels from each cell's point, exactly as OpenCV's ``TrackerNano`` decodes them.
* **Optional confidence branch** (not in NanoTrack; ``ModelConfig.confidence`` ``cls_conf`` / ``conf``): the
  paper's second classification branch (Sec. 2.3, ``L_cls2``: FCOS-style BCE) as one 3x3 conv on the
  classification tower's features -> one logit per cell (``conf``). Zero-initialised, so an untrained branch
  says 0.5 everywhere and the rest of the network is NanoTrack unchanged.

DASTSiam's ST (template fusion) and DA (search augmentation) modules plug in on the backbone features:
ST fuses template features, DA augments the search features before the correlations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dastsiam.models.base import HeadOutput, SiameseModel
from dastsiam.models.config import ModelConfig
from dastsiam.models.geometry import OutputGeometry

EXEMPLAR_SIZE = 127
INSTANCE_SIZE = 255
STRIDE = 16


@dataclass(frozen=True)
class BlockSpec:
    """One MobileNetV3 inverted-residual block: kernel, expanded width, output width, SE, hard-swish, stride."""

    kernel: int
    hidden: int
    out: int
    squeeze_excite: bool
    hard_swish: bool
    stride: int


# MobileNetV3-small's first blocks (the widths NanoTrack's checkpoints hold); v3 keeps one more block.
_BLOCKS_V2 = (
    BlockSpec(3, 16, 16, True, False, 2),
    BlockSpec(3, 72, 24, False, False, 2),
    BlockSpec(3, 88, 24, False, False, 1),
    BlockSpec(5, 96, 40, True, True, 2),
    BlockSpec(5, 240, 40, True, True, 1),
    BlockSpec(5, 240, 40, True, True, 1),
    BlockSpec(5, 120, 48, True, True, 1),
    BlockSpec(5, 144, 48, True, True, 1),
)
_BLOCKS_V3 = _BLOCKS_V2 + (BlockSpec(5, 288, 96, True, True, 1),)


@dataclass(frozen=True)
class NanoSpec:
    blocks: tuple[BlockSpec, ...]
    channels: int  # backbone output channels
    score_size: int
    depthwise_branch: bool  # v3: extra depthwise correlation on the template's centre 4x4


NANO_SPECS = {
    "v2": NanoSpec(_BLOCKS_V2, 48, 16, False),
    "v3": NanoSpec(_BLOCKS_V3, 96, 15, True),
}


def nano_geometry(score_size: int) -> OutputGeometry:
    """NanoTrack's cell grid: cell ``k`` looks at crop pixel ``I // 2 + (k - S // 2) * stride``.

    This is OpenCV ``TrackerNano::generateGrids`` (``(i - sz/2) * totalStride + instanceSize/2`` with integer
    division): for v2 (``S = 16``) the points are ``-1, 15, ..., 239``; for v3 (``S = 15``, NanoTrack's own
    python tracker, same formula) ``15, 31, ..., 239``.
    """
    offset = INSTANCE_SIZE // 2 - (score_size // 2) * STRIDE
    return OutputGeometry(EXEMPLAR_SIZE, INSTANCE_SIZE, STRIDE, score_size, offset_override=float(offset))


def _make_divisible(value: float, divisor: int = 8) -> int:
    """MobileNet channel rounding (the SE widths of the checkpoints follow it)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class SqueezeExcite(nn.Module):
    """MobileNetV3 SE gate: global average -> FC -> ReLU -> FC -> hard-sigmoid, scaling the channels."""

    def __init__(self, channels: int):
        super().__init__()
        reduced = _make_divisible(channels // 4)
        self.fc = nn.Sequential(
            nn.Linear(channels, reduced), nn.ReLU(inplace=True), nn.Linear(reduced, channels), nn.Hardsigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean((2, 3)))[:, :, None, None]


class InvertedResidual(nn.Module):
    """MobileNetV3 block; the ``conv`` indices match NanoTrack's checkpoints (``features.N.conv.K``)."""

    def __init__(self, inp: int, spec: BlockSpec):
        super().__init__()
        k, hidden, out = spec.kernel, spec.hidden, spec.out
        act = nn.Hardswish if spec.hard_swish else nn.ReLU
        se = SqueezeExcite(hidden) if spec.squeeze_excite else nn.Identity()
        depthwise = nn.Conv2d(hidden, hidden, k, spec.stride, (k - 1) // 2, groups=hidden, bias=False)
        if inp == hidden:  # no expansion: dw -> BN -> act -> SE -> pw-linear
            layers = [depthwise, nn.BatchNorm2d(hidden), act(), se,
                      nn.Conv2d(hidden, out, 1, bias=False), nn.BatchNorm2d(out)]
        else:  # pw-expand -> BN -> act -> dw -> BN -> SE -> act -> pw-linear
            layers = [nn.Conv2d(inp, hidden, 1, bias=False), nn.BatchNorm2d(hidden), act(),
                      depthwise, nn.BatchNorm2d(hidden), se, act(),
                      nn.Conv2d(hidden, out, 1, bias=False), nn.BatchNorm2d(out)]
        self.conv = nn.Sequential(*layers)
        self.residual = spec.stride == 1 and inp == out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class NanoBackbone(nn.Module):
    """MobileNetV3-small trunk, stride 16, raw 0..255 input (NanoTrack trains without normalisation)."""

    def __init__(self, blocks: tuple[BlockSpec, ...]):
        super().__init__()
        layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish())]
        inp = 16
        for spec in blocks:
            layers.append(InvertedResidual(inp, spec))
            inp = spec.out
        self.features = nn.Sequential(*layers)
        self.out_channels = inp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class ChannelAttention(nn.Module):
    """Squeeze-excite gate over the correlation map (1x1 convs, ReLU, sigmoid)."""

    def __init__(self, channels: int):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels, 1)
        self.fc2 = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))
        return x * w


def _conv1x1_bn(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels, channels, 1), nn.BatchNorm2d(channels))


class PixelwiseCorrelation(nn.Module):
    """Pixel-wise correlation: output channel ``k`` = dot product of template cell ``k`` with every search cell.

    ``(B, C, h, w) x (B, C, H, W) -> (B, h*w, H, W)``, then a channel-attention gate; v3 follows it with a
    ``2x2`` depthwise conv (``H - 1`` output) + ReLU6 + 1x1 conv, aligning it with the depthwise branch.
    """

    def __init__(self, channels: int, template_cells: int, reduce_to_odd: bool):
        super().__init__()
        self.conv_kernel = _conv1x1_bn(channels)
        self.conv_search = _conv1x1_bn(channels)
        self.channel_attention = ChannelAttention(template_cells)
        self.conv = (
            nn.Sequential(
                nn.Conv2d(template_cells, template_cells, 2, groups=template_cells, bias=False),
                nn.BatchNorm2d(template_cells),
                nn.ReLU6(inplace=True),
                nn.Conv2d(template_cells, template_cells, 1),
                nn.BatchNorm2d(template_cells),
            )
            if reduce_to_odd
            else None
        )

    def forward(self, f_z: torch.Tensor, f_x: torch.Tensor) -> torch.Tensor:
        kernel = self.conv_kernel(f_z).flatten(2)  # (B, C, h*w)
        search = self.conv_search(f_x)
        b, c, h, w = search.shape
        corr = torch.bmm(kernel.transpose(1, 2), search.reshape(b, c, h * w)).reshape(b, -1, h, w)
        corr = self.channel_attention(corr)
        return self.conv(corr) if self.conv is not None else corr


class DepthwiseCorrelation(nn.Module):
    """Depthwise cross-correlation (SiamRPN++) of the search map with the template map, padding 1."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv_kernel = _conv1x1_bn(channels)
        self.conv_search = _conv1x1_bn(channels)

    def forward(self, z_centre: torch.Tensor, f_x: torch.Tensor) -> torch.Tensor:
        kernel = self.conv_kernel(z_centre)
        search = self.conv_search(f_x)
        if torch.onnx.is_in_onnx_export():
            return _shifted_xcorr(search, kernel, padding=1)
        b, c, h, w = search.shape
        out = F.conv2d(search.reshape(1, b * c, h, w), kernel.reshape(b * c, 1, *kernel.shape[2:]),
                       padding=1, groups=b * c)
        return out.reshape(b, c, out.shape[2], out.shape[3])


def _shifted_xcorr(search: torch.Tensor, kernel: torch.Tensor, padding: int) -> torch.Tensor:
    """Depthwise cross-correlation as a sum of shifted products (same result as the grouped conv).

    Used for ONNX export: a grouped conv whose weights come from another input cannot be exported with a
    dynamic batch size, while this form has only slices, multiplies and adds.
    """
    search = F.pad(search, (padding,) * 4)
    kh, kw = kernel.shape[-2:]
    oh, ow = search.shape[-2] - kh + 1, search.shape[-1] - kw + 1
    out = search[:, :, :oh, :ow] * kernel[:, :, :1, :1]
    for u in range(kh):
        for v in range(kw):
            if u or v:
                out = out + search[:, :, u:u + oh, v:v + ow] * kernel[:, :, u:u + 1, v:v + 1]
    return out


def _tower_v2(inp: int, width: int, blocks: int = 6) -> nn.Sequential:
    """v2 tower: [dw3x3 -> pw1x1 -> BN -> ReLU6] x 6 (indices as ``cls_pw_tower.N`` in the checkpoint)."""
    layers: list[nn.Module] = []
    for i in range(blocks):
        c = inp if i == 0 else width
        layers += [nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False), nn.Conv2d(c, width, 1, bias=False),
                   nn.BatchNorm2d(width), nn.ReLU6(inplace=True)]
    return nn.Sequential(*layers)


def _tower_v3(width: int, blocks: int = 6) -> nn.Sequential:
    """v3 tower: [dw3x3 -> BN -> ReLU6 -> pw1x1 -> BN] x 6 (indices as ``cls_tower.N`` in the checkpoint)."""
    layers: list[nn.Module] = []
    for _ in range(blocks):
        layers += [nn.Conv2d(width, width, 3, 1, 1, groups=width, bias=False), nn.BatchNorm2d(width),
                   nn.ReLU6(inplace=True), nn.Conv2d(width, width, 1, bias=False), nn.BatchNorm2d(width)]
    return nn.Sequential(*layers)


class NanoHead(nn.Module):
    """NanoTrack's box-adaptive head: ``(f_z, f_x) -> (cls logits, l/t/r/b distances)``."""

    TEMPLATE_SIDE = 8  # 127 / 16 rounded up: template feature side
    CENTRE_SIDE = 4  # v3: side of the template centre used by the depthwise correlation

    def __init__(self, spec: NanoSpec, tower_width: int = 96, confidence_branch: bool = False):
        super().__init__()
        c = spec.channels
        cells = self.TEMPLATE_SIDE * self.TEMPLATE_SIDE
        self.depthwise_branch = spec.depthwise_branch
        self.corr_pw_reg = PixelwiseCorrelation(c, cells, reduce_to_odd=spec.depthwise_branch)
        self.corr_pw_cls = PixelwiseCorrelation(c, cells, reduce_to_odd=spec.depthwise_branch)
        if spec.depthwise_branch:
            self.corr_dw_reg = DepthwiseCorrelation(c)
            self.corr_dw_cls = DepthwiseCorrelation(c)
            self.down_reg = nn.Sequential(nn.Conv2d(cells + c, tower_width, 1))
            self.down_cls = nn.Sequential(nn.Conv2d(cells + c, tower_width, 1))
            self.cls_tower = _tower_v3(tower_width)
            self.bbox_tower = _tower_v3(tower_width)
        else:
            self.cls_tower = _tower_v2(cells, tower_width)
            self.bbox_tower = _tower_v2(cells, tower_width)
        self.cls_logits = nn.Sequential(nn.Conv2d(tower_width, 2, 1))
        self.bbox_pred = nn.Sequential(nn.Conv2d(tower_width, 4, 1))
        # the paper's BCE confidence branch (FCOS puts its centre-ness conv on the classification tower)
        self.conf_logits = nn.Conv2d(tower_width, 1, 3, padding=1) if confidence_branch else None
        if self.conf_logits is not None:
            nn.init.zeros_(self.conf_logits.weight)
            nn.init.zeros_(self.conf_logits.bias)

    def forward(self, f_z: torch.Tensor, f_x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``(cls logits (B, 2, S, S), l/t/r/b distances (B, 4, S, S), conf logits (B, 1, S, S) or None)``."""
        reg = self.corr_pw_reg(f_z, f_x)
        cls = self.corr_pw_cls(f_z, f_x)
        if self.depthwise_branch:
            lo = (f_z.shape[-1] - self.CENTRE_SIDE) // 2
            z_centre = f_z[:, :, lo:lo + self.CENTRE_SIDE, lo:lo + self.CENTRE_SIDE]
            reg = self.down_reg(torch.cat((reg, self.corr_dw_reg(z_centre, f_x)), 1))
            cls = self.down_cls(torch.cat((cls, self.corr_dw_cls(z_centre, f_x)), 1))
        cls_features = self.cls_tower(cls)
        logits = self.cls_logits(cls_features)
        # exp keeps the four distances positive; they are search-crop pixels (OpenCV TrackerNano uses them as is)
        distances = torch.exp(self.bbox_pred(self.bbox_tower(reg)))
        conf = self.conf_logits(cls_features) if self.conf_logits is not None else None
        return logits, distances, conf


class NanoTrack(SiameseModel):
    """NanoTrack v2/v3 as a :class:`SiameseModel`, optionally with DASTSiam's ST and DA modules."""

    def __init__(self, version: str = "v2", st: nn.Module | None = None, da: nn.Module | None = None,
                 confidence_branch: bool = False):
        super().__init__()
        if version not in NANO_SPECS:
            raise ValueError(f"unknown NanoTrack version {version!r} (choose from {', '.join(NANO_SPECS)})")
        spec = NANO_SPECS[version]
        self.version = version
        self.channels = spec.channels
        self.backbone = NanoBackbone(spec.blocks)
        self.head = NanoHead(spec, confidence_branch=confidence_branch)
        self.st = st
        self.da = da
        self.geometry = nano_geometry(spec.score_size)
        self.fused = False

    def template(self, z: torch.Tensor) -> torch.Tensor:
        return self.backbone(z)

    def track(self, x: torch.Tensor, f_z: torch.Tensor) -> HeadOutput:
        f_x = self.backbone(x)
        if self.da is not None:
            f_x = self.da(f_z, f_x)
        logits, distances, conf = self.head(f_z, f_x)
        return HeadOutput(cls=logits, loc=distances, conf=conf)

    def fuse_for_inference(self) -> "NanoTrack":
        """Fold every BatchNorm into the conv before it and drop the no-op layers (in place, eval only).

        The result computes the same function faster; its ``state_dict`` no longer matches the weight files,
        so use it for tracking and export only (never for training or :func:`save_weights`).
        """
        self.eval()
        # only NanoTrack's own layers: ST/DA modules are left exactly as their authors built them
        _fold_batchnorms(self.backbone)
        _fold_batchnorms(self.head)
        self.fused = True
        return self


def _fold_batchnorms(module: nn.Module) -> None:
    """Replace every ``nn.Sequential`` below ``module`` by its BN-folded, Identity-free version."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Sequential):
            setattr(module, name, _folded_sequential(child))
        else:
            _fold_batchnorms(child)


def _folded_sequential(seq: nn.Sequential) -> nn.Module:
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    layers = list(seq)
    kept: list[nn.Module] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if isinstance(layer, nn.Conv2d) and isinstance(nxt, nn.BatchNorm2d):
            kept.append(fuse_conv_bn_eval(layer, nxt))
            i += 2
            continue
        if isinstance(layer, nn.Sequential):
            kept.append(_folded_sequential(layer))
        elif not isinstance(layer, nn.Identity):
            _fold_batchnorms(layer)
            kept.append(layer)
        i += 1
    if not kept:
        return nn.Identity()
    return kept[0] if len(kept) == 1 else nn.Sequential(*kept)


def has_confidence_branch(cfg: ModelConfig) -> bool:
    """A nano model gets the BCE confidence branch when its gate reads it (``confidence`` cls_conf / conf)."""
    return cfg.confidence in ("cls_conf", "conf")


def build(cfg: ModelConfig) -> NanoTrack:
    """An untrained NanoTrack of ``cfg.nano_version``, with ST/DA and the confidence branch (all
    zero-initialised at their output) where the config asks for them."""
    channels = NANO_SPECS[cfg.nano_version].channels
    st = da = None
    if cfg.st.enabled:
        from dastsiam.models.spatio_temporal import SpatioTemporalFusion

        st = SpatioTemporalFusion(cfg.st, channels)
    if cfg.da.enabled:
        from dastsiam.models.discriminative_augmentation import DiscriminativeAugmentation

        da = DiscriminativeAugmentation(cfg.da, channels)
    return NanoTrack(cfg.nano_version, st=st, da=da, confidence_branch=has_confidence_branch(cfg))
