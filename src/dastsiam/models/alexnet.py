"""SiamFC's AlexNet backbone (Bertinetto et al. 2016, Table 1; BN version of the public implementations).

127 px -> 6 x 6 x 256, 255 px -> 22 x 22 x 256, total stride 8 (conv1 2, pool1 2, pool2 2).
conv2, conv4 and conv5 are grouped (2 groups) as in the original AlexNet/SiamFC; conv5 has no BN or ReLU.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, kernel, stride=stride, groups=groups),
            nn.BatchNorm2d(out_channels, eps=1e-6, momentum=0.05), nn.ReLU(inplace=True)]


class AlexNetSiamFC(nn.Module):
    """``forward(x) -> (B, 256, h, w)`` for a normalised RGB input; no padding anywhere."""

    out_channels = 256
    stride = 8

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(*_conv_bn_relu(3, 96, 11, stride=2), nn.MaxPool2d(3, 2))
        self.conv2 = nn.Sequential(*_conv_bn_relu(96, 256, 5, groups=2), nn.MaxPool2d(3, 2))
        self.conv3 = nn.Sequential(*_conv_bn_relu(256, 384, 3))
        self.conv4 = nn.Sequential(*_conv_bn_relu(384, 384, 3, groups=2))
        self.conv5 = nn.Sequential(nn.Conv2d(384, 256, 3, groups=2))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(x)))))
