"""ONNX export + onnxruntime back end reproduce the PyTorch models; `dastsiam export` CLI."""

from __future__ import annotations

import importlib

import pytest
import torch
import yaml

from dastsiam.cli.main import main
from dastsiam.errors import ModelError
from dastsiam.export import OnnxModel, cached_onnx_model, export_onnx
from dastsiam.models.registry import BUILTIN_MODELS, _BUILDERS, load_model


def _crops(geometry, batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    e, i = geometry.exemplar_size, geometry.instance_size
    return torch.rand(batch, 3, e, e, generator=g) * 255, torch.rand(batch, 3, i, i, generator=g) * 255


def _assert_same_outputs(torch_model, onnx_model, batch: int = 1, with_fuse: bool = False, rtol: float = 1e-4) -> None:
    z, x = _crops(torch_model.geometry, batch)
    with torch.inference_mode():
        f_ref, f_got = torch_model.template(z), onnx_model.template(z)
        torch.testing.assert_close(f_got, f_ref, atol=1e-4, rtol=1e-4)
        if with_fuse:
            f_ref = torch_model.fuse(f_ref * 0.5, f_ref + 1.0, f_ref)
            f_got = onnx_model.fuse(f_got * 0.5, f_got + 1.0, f_got)
            torch.testing.assert_close(f_got, f_ref, atol=1e-4, rtol=1e-4)
        ref, got = torch_model.track(x, f_ref), onnx_model.track(x, f_ref)
    for name, r, o in zip(ref._fields, ref, got):
        assert (r is None) == (o is None), name
        if r is not None:
            assert o.shape == r.shape and o.dtype == torch.float32
            torch.testing.assert_close(o, r, atol=1e-4, rtol=rtol, msg=lambda m: f"{name}: {m}")


@pytest.fixture(scope="module")
def cli_export(tmp_path_factory):
    """`dastsiam export --model nano --check` run once; several tests read the folder it writes."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("export") / "nano"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["export", "--model", "nano", "--out", str(out), "--check"])
    return code, printed.getvalue(), out


def test_cli_export_writes_a_loadable_folder(cli_export):
    code, printed, out = cli_export
    assert code == 0
    assert "exported nano" in printed and "max |onnxruntime - torch|" in printed
    assert {p.name for p in out.iterdir()} == {"template.onnx", "search.onnx", "model.yaml"}
    meta = yaml.safe_load((out / "model.yaml").read_text())
    assert meta["geometry"]["offset_override"] == -1.0 and meta["outputs"] == ["cls", "loc"]
    assert meta["dynamic_batch"] == {"template": True, "search": True}


def test_onnx_back_end_reproduces_torch_nano(cli_export):
    model, cfg = load_model("nano")
    onnx_model = OnnxModel(cli_export[2], threads=1)
    assert onnx_model.geometry == model.geometry
    assert onnx_model.config == cfg and not onnx_model.has_st
    _assert_same_outputs(model, onnx_model)
    _assert_same_outputs(model, onnx_model, batch=2)  # the batch axis is dynamic


@pytest.mark.slow
def test_onnx_back_end_reproduces_torch_nano_v3(tmp_path):
    model, cfg = load_model("nano-v3")  # v3's depthwise correlation exports as shifted products
    onnx_model = OnnxModel(export_onnx(model, tmp_path / "v3", config=cfg))
    assert onnx_model.geometry.score_size == 15
    _assert_same_outputs(model, onnx_model, batch=2)


def test_st_model_exports_fuse_graph(tmp_path):
    model, cfg = load_model("nano-st-da")
    # give ST/DA non-zero weights so the exported graphs are checked on a non-trivial fusion
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in list(model.st.parameters()) + list(model.da.parameters()):
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
        # and the confidence branch, so its ONNX output is checked on non-constant values
        model.head.conf_logits.weight.copy_(torch.randn(model.head.conf_logits.weight.shape, generator=g) * 0.05)
    out = export_onnx(model, tmp_path / "stda", config=cfg)
    assert (out / "fuse.onnx").is_file()
    assert yaml.safe_load((out / "model.yaml").read_text())["outputs"] == ["cls", "loc", "conf"]
    onnx_model = OnnxModel(out)
    assert onnx_model.has_st
    _assert_same_outputs(model, onnx_model, with_fuse=True)


def _importable(arch: str) -> bool:
    try:
        importlib.import_module(_BUILDERS[arch].split(":")[0])
    except ModuleNotFoundError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize("name", ["siamfc", "siamrpn-r50"])
def test_other_architectures_export(name, tmp_path):
    arch = BUILTIN_MODELS[name].config.arch
    if not _importable(arch):
        pytest.skip(f"architecture {arch!r} not available in this checkout")
    model, cfg = load_model(name)
    out = export_onnx(model, tmp_path / name, config=cfg)
    # untrained deep models give large activations (box distances up to ~1e5 px): compare relatively
    _assert_same_outputs(model, OnnxModel(out), rtol=2e-3)


def test_cli_export_unknown_model_is_one_line_error(tmp_path, capsys):
    assert main(["export", "--model", "no-such-model", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dastsiam: error:") and "no-such-model" in err and "\n" not in err


def test_onnx_model_on_a_folder_without_export_is_model_error(tmp_path):
    with pytest.raises(ModelError, match="model.yaml"):
        OnnxModel(tmp_path)
    (tmp_path / "model.yaml").write_text(yaml.safe_dump({"geometry": {"exemplar_size": 127, "instance_size": 255,
                                                                     "stride": 16, "score_size": 16},
                                                        "outputs": ["cls", "loc"], "has_st": False}))
    (tmp_path / "template.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(ModelError, match="template.onnx"):
        OnnxModel(tmp_path)


def test_cached_onnx_model_exports_once(tmp_path, monkeypatch):
    from dastsiam import export as export_module

    calls = []
    real_export = export_module.export_onnx
    monkeypatch.setattr(export_module, "export_onnx", lambda *a, **k: calls.append(1) or real_export(*a, **k))
    first = cached_onnx_model("nano", cache_dir=tmp_path)
    second = cached_onnx_model("nano", cache_dir=tmp_path)
    assert len(calls) == 1 and first.path == second.path and first.path.parent == tmp_path
    assert [p.name for p in tmp_path.iterdir()] == [first.path.name]  # no staging folders left behind
    assert cached_onnx_model(first.path).geometry == first.geometry  # an exported folder opens directly
    with pytest.raises(ModelError, match="missing.safetensors"):
        cached_onnx_model(tmp_path / "missing.safetensors", cache_dir=tmp_path)
