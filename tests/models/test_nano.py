"""NanoTrack v2/v3 port: shapes, OpenCV's cell grid, BN folding, weights shipping and loading."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from dastsiam.errors import ModelError
from dastsiam.models.config import DAConfig, ModelConfig, STConfig
from dastsiam.models.nano import NanoTrack, _shifted_xcorr, build
from dastsiam.models.registry import WEIGHTS_DIR, load_model, save_weights

REPO = Path(__file__).resolve().parents[2]


def _crops(batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, 127, 127, generator=g) * 255, torch.rand(batch, 3, 255, 255, generator=g) * 255


def _load_converter():
    spec = importlib.util.spec_from_file_location("convert_nanotrack", REPO / "scripts" / "convert_nanotrack.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("version, channels, score", [("v2", 48, 16), ("v3", 96, 15)])
def test_output_shapes_and_positive_distances(version, channels, score):
    model = build(ModelConfig(arch="nano", nano_version=version, confidence="cls")).eval()  # NanoTrack as published
    z, x = _crops(batch=2)
    with torch.no_grad():
        f_z = model.template(z)
        out = model.track(x, f_z)
    assert f_z.shape == (2, channels, 8, 8)
    assert out.cls.shape == (2, 2, score, score)
    assert out.loc.shape == (2, 4, score, score)
    assert out.conf is None
    assert bool((out.loc > 0).all())  # exp() output: distances are positive
    assert model.geometry.score_size == score
    # batch entries are independent
    with torch.no_grad():
        single = model.track(x[1:], f_z[1:])
    torch.testing.assert_close(single.cls, out.cls[1:], atol=1e-4, rtol=1e-4)


def test_v2_grid_is_opencv_tracker_nano_grid():
    # tracker_nano.cpp generateGrids: (i - scoreSize/2) * totalStride + instanceSize/2, integer division
    geo = build(ModelConfig(arch="nano", nano_version="v2")).geometry
    xs, ys = geo.cell_centers()
    opencv = np.array([(i - 16 // 2) * 16 + 255 // 2 for i in range(16)], dtype=np.float64)
    assert opencv[0] == -1 and opencv[-1] == 239
    np.testing.assert_array_equal(xs[0], opencv)
    np.testing.assert_array_equal(ys[:, 0], opencv)
    assert (geo.exemplar_size, geo.instance_size, geo.stride) == (127, 255, 16)


def test_v3_grid_is_nanotrack_python_grid():
    # NanoTrack's tracker: points = instance//2 + (k - size//2) * stride, size 15 -> 15 .. 239
    xs, _ = build(ModelConfig(arch="nano", nano_version="v3")).geometry.cell_centers()
    np.testing.assert_array_equal(xs[0], 15.0 + 16.0 * np.arange(15))


def test_shifted_xcorr_equals_grouped_conv():
    g = torch.Generator().manual_seed(1)
    search, kernel = torch.randn(2, 5, 16, 16, generator=g), torch.randn(2, 5, 4, 4, generator=g)
    grouped = torch.nn.functional.conv2d(search.reshape(1, 10, 16, 16), kernel.reshape(10, 1, 4, 4),
                                         padding=1, groups=10).reshape(2, 5, 15, 15)
    torch.testing.assert_close(_shifted_xcorr(search, kernel, padding=1), grouped, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["nano", "nano-v3", "nano-st-da"])
def test_fused_model_matches_unfused(name):
    model, _ = load_model(name)
    fused = copy.deepcopy(model).fuse_for_inference()
    assert fused.fused and not fused.training
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.backbone.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.head.modules())
    if model.st is not None:  # ST/DA are left exactly as built
        assert str(fused.st) == str(model.st) and str(fused.da) == str(model.da)
    z, x = _crops()
    with torch.inference_mode():
        ref = model.track(x, model.template(z))
        got = fused.track(x, fused.template(z))
    assert got.cls.shape == ref.cls.shape
    torch.testing.assert_close(got.cls, ref.cls, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(got.loc, ref.loc, atol=1e-3, rtol=1e-4)


def test_builtin_models_load_with_trained_weights():
    v2, cfg2 = load_model("nano")
    v3, cfg3 = load_model("nano-v3")
    assert isinstance(v2, NanoTrack) and cfg2.nano_version == "v2" and not v2.training
    assert cfg3.nano_version == "v3" and v3.version == "v3"
    # trained BatchNorm statistics, not the (0, 1) defaults of an untrained model
    bn = v2.backbone.features[0][1]
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))
    assert sum(p.numel() for p in v2.parameters()) < 1_000_000  # a light model


def test_weights_ship_with_licence_and_notice():
    assert (WEIGHTS_DIR / "LICENSE.nanotrack").read_text().startswith(" " * 33 + "Apache License")
    notice = (WEIGHTS_DIR / "NOTICE").read_text()
    assert "NanoTrack" in notice and "HonglinChu" in notice and "Apache" in notice


def test_safetensors_round_trip(tmp_path):
    model, cfg = load_model("nano")
    path = tmp_path / "copy.safetensors"
    save_weights(model, cfg, path)
    again, cfg_again = load_model(path)
    assert cfg_again == cfg
    for (k, a), (k2, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert k == k2 and torch.equal(a, b)


def test_trainer_checkpoint_round_trip(tmp_path):
    from dastsiam.config import to_dict

    model, cfg = load_model("nano-v3")
    path = tmp_path / "ckpt.pt"
    torch.save({"model": model.state_dict(), "config": {"model": to_dict(cfg)}, "epoch": 3}, path)
    again, cfg_again = load_model(path)
    assert cfg_again == cfg
    z, x = _crops()
    with torch.no_grad():
        torch.testing.assert_close(again.track(x, again.template(z)).cls, model.track(x, model.template(z)).cls)


def test_truncated_weights_file_gives_model_error_naming_it(tmp_path):
    src = WEIGHTS_DIR / "nanotrack_v2.safetensors"
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with pytest.raises(ModelError, match="broken.safetensors"):
        load_model(broken)


def test_nano_st_da_equals_nano_until_trained():
    base, _ = load_model("nano")
    light, cfg = load_model("nano-st-da")
    assert cfg.st.enabled and cfg.da.enabled and light.has_st and light.da is not None
    z, x = _crops(batch=2)
    with torch.inference_mode():
        f_i = light.template(z)
        assert torch.equal(f_i, base.template(z))
        f_z = light.fuse(f_i * 0.5, f_i + 1.0, f_i)  # zero-initialised ST returns f_i exactly
        assert torch.equal(f_z, f_i)
        f_x = light.backbone(x)
        assert torch.equal(light.da(f_z, f_x), f_x)  # zero-initialised DA returns the search features
        got, ref = light.track(x, f_z), base.track(x, f_i)
    torch.testing.assert_close(got.cls, ref.cls, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got.loc, ref.loc, atol=1e-4, rtol=1e-5)
    # the confidence branch (the paper's third piece) is there, untrained: logit 0 everywhere
    assert cfg.confidence == "cls_conf" and ref.conf is None
    assert got.conf.shape == (2, 1, 16, 16) and torch.equal(got.conf, torch.zeros_like(got.conf))


@pytest.mark.parametrize("version, score", [("v2", 16), ("v3", 15)])
@pytest.mark.parametrize("confidence", ["cls_conf", "conf"])
def test_confidence_branch_gives_one_logit_per_cell_and_learns(version, score, confidence):
    model = build(ModelConfig(arch="nano", nano_version=version, confidence=confidence)).train()
    z, x = _crops(batch=2)
    out = model.track(x, model.template(z))
    assert out.conf.shape == (2, 1, score, score)
    assert torch.equal(out.conf, torch.zeros_like(out.conf))  # zero-initialised: sigmoid 0.5 everywhere
    # a BCE step (the paper's L_cls2) reaches the branch and moves it off zero
    target = torch.zeros(2, score, score)
    target[:, score // 2, score // 2] = 1.0
    loss = torch.nn.functional.binary_cross_entropy_with_logits(out.conf[:, 0], target)
    loss.backward()
    conv = model.head.conf_logits
    assert conv.weight.grad.abs().sum() > 0 and conv.bias.grad.abs().sum() > 0
    with torch.no_grad():
        conv.weight -= 10.0 * conv.weight.grad
        conv.bias -= 10.0 * conv.bias.grad
        again = model.eval().track(x, model.template(z)).conf
    assert again.std() > 0  # no longer constant: it reads the classification tower's features


def test_nano_without_confidence_branch_has_exactly_the_published_parameters():
    published, _ = load_model("nano")
    with_branch = build(ModelConfig(arch="nano", confidence="cls_conf"))
    extra = set(with_branch.state_dict()) - set(published.state_dict())
    assert extra == {"head.conf_logits.weight", "head.conf_logits.bias"}
    assert set(published.state_dict()) <= set(with_branch.state_dict())


def test_st_da_built_with_model_channels():
    cfg = ModelConfig(arch="nano", nano_version="v3", st=STConfig(enabled=True, dim=32, heads=4, ffn_dim=64),
                      da=DAConfig(enabled=True, dim=32, heads=4, ffn_dim=64))
    model = build(cfg).eval()
    z, x = _crops()
    with torch.no_grad():
        f = model.template(z)
        out = model.track(x, model.fuse(f, f, f))
    assert out.cls.shape == (1, 2, 15, 15)


def test_converter_reproduces_shipped_weights(shared_data, tmp_path):
    converter = _load_converter()
    src = shared_data / "weights" / "nanotrack" / "pretrained"
    for version in ("v2", "v3"):
        state = converter.read_checkpoint(src / f"nanotrack{version}.pth")
        mapped = converter.convert_state(state, version)
        dropped = [k for k in state if converter.map_key(k, version) is None]
        assert dropped and all(k.startswith("neck.") for k in dropped)
        shipped, _ = load_model(f"nano-{version}" if version == "v3" else "nano")
        own = shipped.state_dict()
        assert set(mapped) == set(own)
        for key, value in mapped.items():
            assert torch.equal(own[key], value), key
    with pytest.raises(KeyError, match="no mapping rule"):
        converter.map_key("ban_head.something_new.weight", "v2")
