"""ST (eq. ST = Phi(Encoder(f_a, f_c)) + f_i) and DA (DA = Phi(Decoder(f_z*, f_s)) + f_s) as modules."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from dastsiam.config import ConfigError
from dastsiam.models.attention import LearnedPositionalEncoding, SinePositionalEncoding
from dastsiam.models.config import DAConfig, STConfig
from dastsiam.models.discriminative_augmentation import DiscriminativeAugmentation
from dastsiam.models.spatio_temporal import SpatioTemporalFusion

SMALL = dict(enabled=True, dim=32, heads=4, ffn_dim=64)


def _templates(channels: int, side: int, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(batch, channels, side, side, generator=g) for _ in range(3))


@pytest.mark.parametrize("channels", [32, 48])  # equal to dim (no projection) and projected
@pytest.mark.parametrize("pe", ["sine", "learned", "none"])
def test_st_zero_init_returns_initial_template_exactly(channels, pe):
    st = SpatioTemporalFusion(STConfig(**SMALL, positional_encoding=pe), channels).train()  # dropout active
    f_a, f_c, f_i = _templates(channels, 7)
    out = st(f_a, f_c, f_i)
    assert out.shape == f_i.shape
    assert torch.equal(out, f_i)


@pytest.mark.parametrize("channels", [32, 96])
@pytest.mark.parametrize("self_attention", [True, False])
def test_da_zero_init_returns_search_features_exactly(channels, self_attention):
    da = DiscriminativeAugmentation(DAConfig(**SMALL, self_attention=self_attention), channels).train()
    f_z = torch.randn(2, channels, 5, 5)
    f_s = torch.randn(2, channels, 13, 11)
    out = da(f_z, f_s)
    assert out.shape == f_s.shape
    assert torch.equal(out, f_s)


def test_st_without_zero_init_depends_on_accumulated_and_current_templates():
    st = SpatioTemporalFusion(STConfig(**SMALL, zero_init=False, dropout=0.0), 48).eval()
    f_a, f_c, f_i = _templates(48, 6)
    out = st(f_a, f_c, f_i)
    assert not torch.allclose(out, f_i)
    # f_i enters only through the residual: changing it shifts the output by exactly the change
    assert torch.allclose(st(f_a, f_c, f_i + 1.0), out + 1.0, atol=1e-5)
    assert not torch.allclose(st(f_a + 1.0, f_c, f_i), out)
    assert not torch.allclose(st(f_a, f_c + 1.0, f_i), out)


def _eq2_by_hand(st: SpatioTemporalFusion, f_a: torch.Tensor, f_c: torch.Tensor) -> torch.Tensor:
    """One ST encoder layer written out: Softmax(Q_c K_a^T / sqrt(d)) V_c per head (eq. 2), then the
    post-norm residual and FFN (no positional encoding, channels == dim, eval mode)."""
    layer = st.layers[0]
    attn = layer.cross_attn
    dim, heads = attn.embed_dim, attn.num_heads
    w_q, w_k, w_v = attn.in_proj_weight.split(dim)
    b_q, b_k, b_v = attn.in_proj_bias.split(dim)
    tok_c = f_c.flatten(2).transpose(1, 2)  # (B, N, C)
    tok_a = f_a.flatten(2).transpose(1, 2)
    q, k, v = tok_c @ w_q.T + b_q, tok_a @ w_k.T + b_k, tok_c @ w_v.T + b_v  # Q_c, K_a, V_c
    split = lambda t: t.reshape(t.shape[0], t.shape[1], heads, dim // heads).transpose(1, 2)  # noqa: E731
    weights = torch.softmax(split(q) @ split(k).transpose(-1, -2) / math.sqrt(dim // heads), dim=-1)
    mixed = (weights @ split(v)).transpose(1, 2).reshape(tok_c.shape)
    x = layer.norm_cross(tok_c + attn.out_proj(mixed))
    x = layer.norm_ffn(x + layer.ffn(x))
    return x.transpose(1, 2).reshape(f_c.shape)


def test_st_default_roles_are_eq2_current_query_and_value_accumulated_key():
    torch.manual_seed(0)
    cfg = STConfig(**SMALL, zero_init=False, dropout=0.0, positional_encoding="none")
    assert (cfg.query, cfg.value) == ("current", "query")  # the paper's roles are the default
    st = SpatioTemporalFusion(cfg, 32).eval()
    f_a, f_c, _ = _templates(32, 4, batch=2)
    with torch.no_grad():
        torch.testing.assert_close(st.encode(f_a, f_c), _eq2_by_hand(st, f_a, f_c), atol=1e-5, rtol=1e-5)
        # the values are f_c's: with one cell the single key gets weight 1, so f_a cannot change the output
        g_a, g_c, g_i = _templates(32, 1, batch=1)
        assert torch.allclose(st(g_a, g_c, g_i), st(g_a * 3.0 - 1.0, g_c, g_i), atol=1e-6)
        assert not torch.allclose(st(g_a, g_c, g_i), st(g_a, g_c * 3.0 - 1.0, g_i))


def test_st_query_role_switches_which_template_is_attended():
    # the pre-paper roles (value: key): a single memory token makes cross-attention return that token
    # whatever the queries are, so with 1x1 maps the "current"-query ST is (query residual f_c, attended
    # f_a) and "accumulated" the reverse
    torch.manual_seed(0)
    cfg = STConfig(**SMALL, zero_init=False, dropout=0.0, positional_encoding="none", value="key")
    st_current = SpatioTemporalFusion(cfg, 32).eval()
    st_accumulated = SpatioTemporalFusion(STConfig(**{**cfg.__dict__, "query": "accumulated"}), 32).eval()
    st_accumulated.load_state_dict(st_current.state_dict())
    f_a, f_c, f_i = _templates(32, 1, batch=1)
    assert torch.allclose(st_current(f_a, f_c, f_i), st_accumulated(f_c, f_a, f_i), atol=1e-6)
    assert not torch.allclose(st_current(f_a, f_c, f_i), st_accumulated(f_a, f_c, f_i))
    # with value: key, f_a's token is what gets attended: it changes the output even on 1x1 maps
    assert not torch.allclose(st_current(f_a, f_c, f_i), st_current(f_a * 3.0 - 1.0, f_c, f_i))


def test_da_output_depends_on_template():
    da = DiscriminativeAugmentation(DAConfig(**SMALL, zero_init=False, dropout=0.0), 32).eval()
    f_s = torch.randn(1, 32, 9, 9)
    a = da(torch.randn(1, 32, 5, 5), f_s)
    b = da(torch.randn(1, 32, 5, 5), f_s)
    assert not torch.allclose(a, b)


def test_zero_init_conv_receives_gradient():
    st = SpatioTemporalFusion(STConfig(**SMALL), 48).train()
    da = DiscriminativeAugmentation(DAConfig(**SMALL), 48).train()
    f_a, f_c, f_i = _templates(48, 5)
    f_s = torch.randn(2, 48, 9, 9)
    f_z = st(f_a, f_c, f_i)
    target = torch.randn(2, 48, 9, 9)
    loss = ((da(f_z, f_s) - target) ** 2).mean() + (f_z ** 2).mean()
    loss.backward()
    for module in (st, da):
        assert module.filter.out.weight.grad is not None
        assert module.filter.out.weight.grad.abs().sum() > 0
        assert module.filter.out.bias.grad.abs().sum() > 0
    # one step moves the module away from the identity
    with torch.no_grad():
        st.filter.out.weight -= 0.1 * st.filter.out.weight.grad
    assert not torch.equal(st(f_a, f_c, f_i), f_i)


def test_sine_encoding_matches_detr_formula():
    dim, h, w = 8, 3, 4
    pos = SinePositionalEncoding(dim)(h, w, torch.device("cpu"), torch.float32).reshape(h, w, dim)
    half = dim // 2
    row, col, k = 2, 1, 3  # channel k of the column half: cos(x / 10000^(2*floor(k/2)/half)), k odd
    x = (col + 1) / w * 2 * math.pi
    assert pos[row, col, half + k].item() == pytest.approx(math.cos(x / 10000 ** (2 * (k // 2) / half)), abs=1e-5)
    y = (row + 1) / h * 2 * math.pi
    assert pos[row, col, 0].item() == pytest.approx(math.sin(y), abs=1e-5)
    # rows share the column half, columns share the row half
    assert torch.equal(pos[0, :, half:], pos[2, :, half:])
    assert torch.equal(pos[:, 0, :half], pos[:, 3, :half])


def test_learned_encoding_rejects_oversized_maps():
    enc = LearnedPositionalEncoding(8, max_positions=4)
    assert enc(4, 4, torch.device("cpu"), torch.float32).shape == (1, 16, 8)
    with pytest.raises(ValueError, match="exceeds"):
        enc(5, 4, torch.device("cpu"), torch.float32)


@pytest.mark.parametrize(
    "kwargs, key",
    [(dict(heads=5), "heads"), (dict(layers=0), "layers"), (dict(filter_kernel=2), "filter_kernel"),
     (dict(dim=30, heads=3), "sine"), (dict(positional_encoding="rope"), "positional_encoding")],
)
def test_bad_transformer_config_names_the_key(kwargs, key):
    with pytest.raises(ConfigError, match=key):
        SpatioTemporalFusion(STConfig(**{**SMALL, **kwargs}), 32)
    with pytest.raises(ConfigError, match="da."):
        DiscriminativeAugmentation(DAConfig(**{**SMALL, **kwargs}), 32)


def test_bad_query_role_is_rejected():
    with pytest.raises(ConfigError, match="st.query"):
        SpatioTemporalFusion(STConfig(**SMALL, query="both"), 32)
    with pytest.raises(ConfigError, match="st.value"):
        SpatioTemporalFusion(STConfig(**SMALL, value="memory"), 32)


def test_mismatched_shapes_are_rejected():
    st = SpatioTemporalFusion(STConfig(**SMALL), 32)
    with pytest.raises(ValueError, match="one shape"):
        st(torch.zeros(1, 32, 5, 5), torch.zeros(1, 32, 6, 6), torch.zeros(1, 32, 5, 5))
    da = DiscriminativeAugmentation(DAConfig(**SMALL), 32)
    with pytest.raises(ValueError, match="same batch and channels"):
        da(torch.zeros(1, 16, 5, 5), torch.zeros(1, 32, 9, 9))


def _export_and_run(module, args, names, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    path = tmp_path / "module.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=17, input_names=names,
                          output_names=["out"])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {n: a.numpy() for n, a in zip(names, args)})[0]


@pytest.mark.parametrize("pe, value", [("sine", "query"), ("learned", "query"), ("sine", "key")])
def test_st_exports_to_onnx(tmp_path, pe, value):
    st = SpatioTemporalFusion(STConfig(**SMALL, zero_init=False, positional_encoding=pe, value=value), 48).eval()
    args = _templates(48, 6, batch=1)
    got = _export_and_run(st, args, ["f_a", "f_c", "f_i"], tmp_path)
    with torch.no_grad():
        np.testing.assert_allclose(got, st(*args).numpy(), atol=1e-4)


def test_da_exports_to_onnx(tmp_path):
    da = DiscriminativeAugmentation(DAConfig(**SMALL, zero_init=False), 48).eval()
    args = (torch.randn(1, 48, 6, 6), torch.randn(1, 48, 14, 14))
    got = _export_and_run(da, args, ["f_z", "f_s"], tmp_path)
    with torch.no_grad():
        np.testing.assert_allclose(got, da(*args).numpy(), atol=1e-4)
