"""Building blocks: ResNet-50 (to layer3, stride 8), input normalisation, cross-correlations, the box head."""

from __future__ import annotations

import pytest
import torch

from dastsiam.errors import ModelError
from dastsiam.models.heads import BoxHead
from dastsiam.models.resnet import BGRToImageNet, ResNet50Layer3, load_imagenet_weights
from dastsiam.models.siamrpn import backbone_side
from dastsiam.models.xcorr import xcorr_depthwise, xcorr_full


def test_resnet_template_size_and_parameter_count():
    backbone = ResNet50Layer3().eval()
    with torch.no_grad():
        assert backbone(torch.randn(1, 3, 127, 127)).shape == (1, 1024, 15, 15)
    assert (backbone_side(127), backbone_side(255), backbone_side(287)) == (15, 31, 35)  # 287 run in test_siamrpn
    # torchvision's resnet50 has 25,557,032 parameters; layer4 (14,964,736) and fc (2,049,000) are dropped
    assert sum(p.numel() for p in backbone.parameters()) == 25_557_032 - 14_964_736 - 2_049_000


def _torchvision_like_state(backbone: ResNet50Layer3) -> dict[str, torch.Tensor]:
    """The names torchvision's resnet50 uses (shortcut = Sequential(conv, bn)), plus layer4 / fc extras."""
    state = {}
    for key, value in backbone.state_dict().items():
        key = key.replace("downsample.1.", "downsample.0.").replace("downsample.2.", "downsample.1.")
        state[key] = torch.randn_like(value.float()).to(value.dtype) if value.is_floating_point() else value
    state["layer4.0.conv1.weight"] = torch.zeros(512, 1024, 1, 1)
    state["fc.weight"] = torch.zeros(1000, 2048)
    return state


def test_load_imagenet_weights_from_a_torchvision_state_dict(tmp_path):
    source = ResNet50Layer3()
    state = _torchvision_like_state(source)
    path = tmp_path / "resnet50.pth"
    torch.save(state, path)
    target = ResNet50Layer3()
    load_imagenet_weights(target, path)
    assert torch.equal(target.layer2[0].downsample[1].weight, state["layer2.0.downsample.0.weight"])
    assert torch.equal(target.layer3[5].bn3.running_var, state["layer3.5.bn3.running_var"])
    del state["layer3.2.conv2.weight"]
    torch.save(state, path)
    with pytest.raises(ModelError, match="layer3.2.conv2.weight"):
        load_imagenet_weights(target, path)
    with pytest.raises(ModelError, match="not found"):
        load_imagenet_weights(target, tmp_path / "missing.pth")


def test_bgr_input_becomes_imagenet_normalised_rgb():
    bgr = torch.tensor([10.0, 128.0, 250.0]).view(1, 3, 1, 1)  # B, G, R
    out = BGRToImageNet()(bgr).flatten()
    expected = [(250 / 255 - 0.485) / 0.229, (128 / 255 - 0.456) / 0.224, (10 / 255 - 0.406) / 0.225]
    assert out.tolist() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="BGR image"):
        BGRToImageNet()(torch.zeros(1, 1, 4, 4))


def test_xcorrs_match_explicit_window_sums():
    g = torch.Generator().manual_seed(0)
    search = torch.randn(2, 3, 7, 8, generator=g)
    kernel = torch.randn(2, 3, 3, 2, generator=g)
    depthwise = xcorr_depthwise(search, kernel)
    full = xcorr_full(search, kernel)
    assert depthwise.shape == (2, 3, 5, 7) and full.shape == (2, 1, 5, 7)
    for b in range(2):
        for i, j in ((0, 0), (4, 6), (2, 3)):
            window = search[b, :, i:i + 3, j:j + 2]
            per_channel = (window * kernel[b]).sum(dim=(1, 2))
            torch.testing.assert_close(depthwise[b, :, i, j], per_channel)
            torch.testing.assert_close(full[b, 0, i, j], per_channel.sum())
    with pytest.raises(ValueError, match="same batch and channels"):
        xcorr_full(search, kernel[:1])
    with pytest.raises(ValueError, match="larger than"):
        xcorr_depthwise(kernel, search)


def test_box_head_sizes_and_positive_distances():
    head = BoxHead(channels=32, stride=8, hidden=16).eval()
    with torch.no_grad():
        out = head(torch.randn(1, 32, 11, 11), torch.randn(1, 32, 35, 35))
        assert out.cls.shape == (1, 2, 25, 25) and out.loc.shape == (1, 4, 25, 25) and out.conf.shape == (1, 1, 25, 25)
        assert (out.loc > 0).all()
        # loc = stride * exp(scale * raw): with raw == 0 every distance is one stride
        head.loc.weight.zero_()
        head.loc.bias.zero_()
        out = head(torch.randn(1, 32, 11, 11), torch.randn(1, 32, 35, 35))
    assert torch.equal(out.loc, torch.full((1, 4, 25, 25), 8.0))
