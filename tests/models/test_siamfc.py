"""SiamFC (arch "alexnet"), optionally with ST / DA: sizes, stride, zero-init identity, forward composition."""

from __future__ import annotations

import pytest
import torch

from dastsiam.models.config import DAConfig, ModelConfig, STConfig
from dastsiam.models.registry import BUILTIN_MODELS, build_model, load_model, save_weights
from dastsiam.models.siamfc import RESPONSE_SCALE, SiamFC

SMALL_ST = STConfig(enabled=True, dim=64, heads=4, ffn_dim=128)


def _crop(size: int, seed: int, batch: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, size, size, generator=g) * 255.0


def test_shapes_and_geometry():
    model = build_model(ModelConfig(arch="alexnet")).eval()
    g = model.geometry
    assert (g.exemplar_size, g.instance_size, g.stride, g.score_size) == (127, 255, 8, 17)
    with torch.no_grad():
        f_z = model.template(_crop(127, 0, batch=2))
        assert f_z.shape == (2, 256, 6, 6)
        assert model.backbone(model.normalize(_crop(255, 1, batch=2))).shape == (2, 256, 22, 22)
        out = model.track(_crop(255, 1, batch=2), f_z)
    assert out.cls.shape == (2, 1, 17, 17) and out.loc is None and out.conf is None
    assert model.st is None and model.da is None and not model.has_st


def test_response_is_scaled_correlation_plus_bias():
    model = build_model(ModelConfig(arch="alexnet")).eval()
    with torch.no_grad():
        model.response_bias.fill_(0.5)
        f_z = model.template(_crop(127, 2))
        x = _crop(255, 3)
        f_s = model.backbone(model.normalize(x))
        response = model.track(x, f_z).cls
    # cell (i, j) = 0.001 * <f_z, f_s window at (i, j)> + bias, computed by hand for two cells
    for i, j in ((0, 0), (7, 12)):
        expected = RESPONSE_SCALE * (f_z[0] * f_s[0, :, i:i + 6, j:j + 6]).sum() + 0.5
        assert response[0, 0, i, j].item() == pytest.approx(expected.item(), rel=1e-4, abs=1e-5)


def test_shifting_the_search_crop_by_one_stride_shifts_the_response_by_one_cell():
    # no padding anywhere: the map is exactly translation-equivariant with stride 8
    model = build_model(ModelConfig(arch="alexnet")).eval()
    image = _crop(255 + 8, 4)
    with torch.no_grad():
        f_z = model.template(_crop(127, 5))
        a = model.track(image[:, :, :255, :255], f_z).cls
        b = model.track(image[:, :, 8:, 8:], f_z).cls
    torch.testing.assert_close(b[..., :-1, :-1], a[..., 1:, 1:], atol=1e-4, rtol=1e-4)


def test_centre_cell_sees_the_centred_127_window():
    # the response's centre cell correlates the template with the search features of the crop's centre
    # 127 px window: a template cut from there gives identical features at that cell
    model = build_model(ModelConfig(arch="alexnet")).eval()
    x = _crop(255, 6)
    with torch.no_grad():
        f_s = model.backbone(model.normalize(x))
        f_centre = model.template(x[:, :, 64:191, 64:191])
    torch.testing.assert_close(f_s[:, :, 8:14, 8:14], f_centre, atol=1e-4, rtol=1e-4)
    assert model.geometry.cell_centers()[0][8, 8] == pytest.approx(127.5)  # = 64 + 127 / 2


@pytest.mark.parametrize("with_da", [False, True])
def test_zero_init_st_model_equals_plain_siamfc(with_da):
    torch.manual_seed(0)
    cfg = ModelConfig(arch="alexnet", st=SMALL_ST,
                      da=DAConfig(enabled=with_da, dim=64, heads=4, ffn_dim=128))
    full = build_model(cfg).eval()
    plain = build_model(ModelConfig(arch="alexnet")).eval()
    plain.load_state_dict({k: v for k, v in full.state_dict().items() if not k.startswith(("st.", "da."))})
    assert full.has_st and (full.da is not None) is with_da
    z_i, z_a, z_c, x = _crop(127, 1), _crop(127, 2), _crop(127, 3), _crop(255, 4)
    with torch.no_grad():
        assert torch.equal(full(z_i, x, z_a, z_c).cls, plain(z_i, x).cls)


def test_forward_equals_template_fuse_track_with_trained_st():
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="alexnet", st=SMALL_ST)).eval()
    with torch.no_grad():
        torch.nn.init.normal_(model.st.filter.out.weight, std=0.05)
        z_i, z_a, z_c, x = _crop(127, 1), _crop(127, 2), _crop(127, 3), _crop(255, 4)
        f_i = model.template(z_i)
        f_z = model.fuse(model.template(z_a), model.template(z_c), f_i)
        assert not torch.equal(f_z, f_i)
        by_parts = model.track(x, f_z).cls
        whole = model(z_i, x, z_a, z_c).cls
        without_st = model(z_i, x).cls  # forward() without z_a / z_c skips the fusion
    torch.testing.assert_close(whole, by_parts)
    torch.testing.assert_close(without_st, model.track(x, f_i).cls)
    assert not torch.allclose(whole, without_st)


def test_gradient_reaches_zero_initialised_st():
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="alexnet", st=SMALL_ST)).train()
    out = model(_crop(127, 1), _crop(255, 4), _crop(127, 2), _crop(127, 3)).cls
    loss = torch.nn.functional.binary_cross_entropy_with_logits(out, torch.zeros_like(out))
    loss.backward()
    assert model.st.filter.out.weight.grad.abs().sum() > 0
    assert model.backbone.conv1[0].weight.grad.abs().sum() > 0


def test_builtins_and_round_trip(tmp_path):
    model, cfg = load_model("siamfc-st")
    assert isinstance(model, SiamFC) and model.has_st and cfg == BUILTIN_MODELS["siamfc-st"].config
    model, cfg = load_model("siamfc")
    assert not model.has_st
    cfg = ModelConfig(arch="alexnet", st=STConfig(enabled=True, query="accumulated", positional_encoding="none"))
    torch.manual_seed(3)
    model = build_model(cfg)
    path = tmp_path / "siamfc.safetensors"
    save_weights(model, cfg, path)
    loaded, loaded_cfg = load_model(path)
    assert loaded_cfg == cfg and loaded.st.query_is_current is False
    own = model.state_dict()
    assert own.keys() == loaded.state_dict().keys()
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, own[key]), key


def test_track_and_fuse_export_to_onnx_with_st_and_da(tmp_path):
    """The whole inference path exports (legacy exporter, opset 17, static shapes) and matches onnxruntime."""
    import warnings

    import numpy as np

    ort = pytest.importorskip("onnxruntime")

    class Track(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x, f_z):
            return self.model.track(x, f_z).cls

    class Fuse(Track):
        def forward(self, f_a, f_c, f_i):
            return self.model.fuse(f_a, f_c, f_i)

    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="alexnet", st=SMALL_ST, da=DAConfig(enabled=True, dim=64, heads=4, ffn_dim=128)))
    with torch.no_grad():  # trained-like modules, so the exported graph really computes them
        torch.nn.init.normal_(model.st.filter.out.weight, std=0.05)
        torch.nn.init.normal_(model.da.filter.out.weight, std=0.05)
        f_a, f_c, f_i = (model.eval().template(_crop(127, s)) for s in (1, 2, 3))
    x = _crop(255, 4)
    for wrapper, args in ((Fuse(model), (f_a, f_c, f_i)), (Track(model), (x, f_i))):
        wrapper.eval()  # export restores the wrapper's mode afterwards: an un-eval'd wrapper leaves BN in train
        path = tmp_path / f"{type(wrapper).__name__}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(wrapper, args, str(path), dynamo=False, opset_version=17)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        got = session.run(None, {n: a.numpy() for n, a in zip(names, args)})[0]
        with torch.no_grad():
            np.testing.assert_allclose(got, wrapper(*args).numpy(), atol=1e-4, rtol=1e-4)
