"""The paper's SiamRPN ResNet-50 (arch "r50"): sizes, geometry, ST/DA identity at init, round-trips.

An r50 forward at 287 px costs about a second on CPU, so the models are built once per module and every
test uses batch 1 and as few passes as it can.
"""

from __future__ import annotations

import pytest
import torch

from dastsiam.errors import ModelError
from dastsiam.models.base import HeadOutput
from dastsiam.models.config import DAConfig, ModelConfig, STConfig
from dastsiam.models.registry import BUILTIN_MODELS, build_model, load_model, load_state, save_weights
from dastsiam.models.siamrpn import SiamRPNResNet50


def _crop(size: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, size, size, generator=g) * 255.0


@pytest.fixture(scope="module")
def models():
    """(plain SiamRPN, DASTSiam with ST+DA sharing every plain weight), both in eval mode."""
    torch.manual_seed(0)
    full = build_model(BUILTIN_MODELS["dastsiam-r50"].config).eval()
    plain = build_model(BUILTIN_MODELS["siamrpn-r50"].config).eval()
    shared = {k: v for k, v in full.state_dict().items() if not k.startswith(("st.", "da."))}
    plain.load_state_dict(shared)  # strict: the plain model is exactly the full one minus st/da
    return plain, full


@pytest.fixture(scope="module")
def crops():
    return {"z_i": _crop(127, 1), "z_a": _crop(127, 2), "z_c": _crop(127, 3), "x": _crop(287, 4)}


@pytest.fixture(scope="module")
def features(models, crops):
    """Neck features of the crops (identical for both models: they share those weights)."""
    plain, _ = models
    with torch.no_grad():
        out = {k: plain.template(crops[k]) for k in ("z_i", "z_a", "z_c")}
        out["x"] = plain.search_features(crops["x"], out["z_i"])  # no DA in the plain model
    return out


def test_geometry_is_the_papers_127_287_25():
    g = SiamRPNResNet50(ModelConfig()).geometry
    assert (g.exemplar_size, g.instance_size, g.stride, g.score_size) == (127, 287, 8, 25)
    xs, _ = g.cell_centers()
    assert xs[0, 12] == pytest.approx(287 / 2)  # centre cell at the crop centre
    # the paper's default head keeps SiamRPN's anchors: ratios 0.33, 0.5, 1, 2, 3 at scale 8
    assert g.anchor_ratios == (0.33, 0.5, 1.0, 2.0, 3.0) and g.anchor_scales == (8.0,) and g.num_anchors == 5
    assert SiamRPNResNet50(ModelConfig(head="ltrb")).geometry.num_anchors == 0


def test_module_layout_the_trainer_relies_on(models):
    plain, full = models
    assert plain.st is None and plain.da is None and not plain.has_st
    assert full.st is not None and full.da is not None and full.has_st
    assert isinstance(full.backbone, torch.nn.Module)
    # normalisation constants are not weights
    assert not any("normalize" in k for k in full.state_dict())


def test_feature_shapes(features):
    for k in ("z_i", "z_a", "z_c"):
        assert features[k].shape == (1, 256, 11, 11)
    assert features["x"].shape == (1, 256, 35, 35)


def test_zero_init_st_da_model_equals_plain_model(models, crops, features):
    plain, full = models
    with torch.no_grad():
        expected = plain.head(features["z_i"], features["x"])
        got = full(crops["z_i"], crops["x"], crops["z_a"], crops["z_c"])  # the ST + DA path of forward()
    assert isinstance(got, HeadOutput)
    # anchor head: 2 logits, 4 normalised offsets and 1 confidence logit per anchor (K = 5)
    assert got.cls.shape == (1, 10, 25, 25)
    assert got.loc.shape == (1, 20, 25, 25)
    assert got.conf.shape == (1, 5, 25, 25)
    for a, b in zip(got, expected):
        assert torch.equal(a, b)


def test_ltrb_head_switch(features):
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="r50", head="ltrb")).eval()
    with torch.no_grad():
        out = model.head(features["z_i"], features["x"])
    assert (out.cls.shape, out.loc.shape, out.conf.shape) == ((1, 2, 25, 25), (1, 4, 25, 25), (1, 1, 25, 25))
    assert (out.loc >= 0).all() and torch.isfinite(out.loc).all()  # exp(.) distances in crop pixels


def test_track_applies_da_before_the_head(models, crops, features):
    # forward() = track(x, fuse(template(z_a), template(z_c), template(z_i))) is the base class's code;
    # test_siamfc checks it with a non-zero ST. Here: track() = head(f_z*, DA(f_z*, neck features)).
    _, full = models
    saved = {k: v.clone() for k, v in full.state_dict().items()}
    try:
        with torch.no_grad():
            # a trained-like ST/DA (non-zero Phi) so the comparison is not trivially the identity
            torch.nn.init.normal_(full.st.filter.out.weight, std=0.05)
            torch.nn.init.normal_(full.da.filter.out.weight, std=0.05)
            f_z = full.fuse(features["z_a"], features["z_c"], features["z_i"])
            assert f_z.shape == (1, 256, 11, 11) and not torch.equal(f_z, features["z_i"])
            f_s = full.da(f_z, features["x"])
            assert f_s.shape == (1, 256, 35, 35) and not torch.equal(f_s, features["x"])
            by_parts = full.head(f_z, f_s)
            whole = full.track(crops["x"], f_z)
    finally:
        full.load_state_dict(saved)
    for a, b in zip(by_parts, whole):
        torch.testing.assert_close(a, b)


def test_gradients_reach_zero_initialised_st_and_da_with_frozen_backbone(models, features):
    _, full = models
    full.train()
    try:
        # the trainer may freeze the backbone (features precomputed); ST, DA and the head still learn
        # on a 17x17 window of the search map (7x7 output) to keep the attention backward cheap
        f_z = full.fuse(features["z_a"], features["z_c"], features["z_i"])
        out = full.head(f_z, full.da(f_z, features["x"][:, :, 9:26, 9:26]))
        assert out.cls.shape == (1, 10, 7, 7)
        logits = out.cls.reshape(1, 2, 5 * 7, 7)  # (background, target) x 5 anchors
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(1, 35, 7, dtype=torch.long)) \
            + out.loc.mean() + out.conf.sigmoid().mean()
        full.zero_grad()
        loss.backward()
        for module in (full.st, full.da):
            assert module.filter.out.weight.grad.abs().sum() > 0
    finally:
        full.zero_grad()
        full.eval()


def test_rotation_symmetric_weights_give_rotation_equivariant_maps():
    """With 180-degree-symmetric kernels the network commutes with rotating both crops iff every
    padding / stride / crop is symmetric about the crop centre: then cell (12, 12) looks at the crop
    centre and cell (i, j) at the mirror of cell (24-i, 24-j), as OutputGeometry assumes."""
    torch.manual_seed(0)
    # train mode: BN uses batch statistics (rotation invariant), which keeps 50 random layers in range
    model = build_model(ModelConfig(arch="r50")).train()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.copy_((m.weight + m.weight.flip(-1, -2)) / 2)
        z, x = _crop(127, 5), _crop(287, 6)
        both = model.track(torch.cat((x, x.flip(-1, -2))), model.template(torch.cat((z, z.flip(-1, -2)))))
    out = HeadOutput(*(t[:1] for t in both))
    rotated = HeadOutput(*(t[1:] for t in both))
    torch.testing.assert_close(rotated.cls, out.cls.flip(-1, -2), atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(rotated.conf, out.conf.flip(-1, -2), atol=1e-3, rtol=1e-3)
    # (an untrained head does not know left from right, so the loc channels rotate without swapping)
    torch.testing.assert_close(rotated.loc, out.loc.flip(-1, -2), atol=1e-3, rtol=1e-3)
    assert not torch.allclose(out.cls, out.cls.flip(-1, -2), atol=1e-2)  # the maps are not trivially symmetric


def test_wrong_crop_size_is_rejected(models):
    plain, _ = models
    with pytest.raises(ValueError, match=r"template crop must be \(B, 3, 127, 127\)"):
        plain.template(torch.zeros(1, 3, 128, 128))
    with pytest.raises(ValueError, match="search crop"):
        plain.track(torch.zeros(1, 3, 255, 255), torch.zeros(1, 256, 11, 11))


def test_save_weights_load_model_round_trip(models, tmp_path):
    _, full = models
    cfg = ModelConfig(arch="r50", st=STConfig(enabled=True), da=DAConfig(enabled=True, positional_encoding="learned"))
    torch.manual_seed(1)
    model = build_model(cfg)
    path = tmp_path / "r50.safetensors"
    save_weights(model, cfg, path)
    loaded, loaded_cfg = load_model(path)
    assert loaded_cfg == cfg
    assert isinstance(loaded, SiamRPNResNet50) and not loaded.training
    own = model.state_dict()
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, own[key]), key
    # weights without the DA module do not load into a model with DA
    with pytest.raises(ModelError, match=r"r50-without-da: weights do not match the model \(missing \['da\."):
        load_state(full, {k: v for k, v in own.items() if not k.startswith("da.")}, "r50-without-da")


def test_builtin_names_build_r50():
    for name, has_st in (("dastsiam-r50", True), ("siamrpn-r50", False)):
        model, cfg = load_model(name)
        assert cfg.arch == "r50" and isinstance(model, SiamRPNResNet50)
        assert model.has_st is has_st
