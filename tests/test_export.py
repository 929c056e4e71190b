"""ONNX export + onnxruntime back end reproduce the PyTorch models; `dastsiam export` CLI."""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from dastsiam.cli.main import main
from dastsiam.errors import ModelError
from dastsiam.export import export_onnx
from dastsiam.onnx_backend import OnnxModel, cached_onnx_model
from dastsiam.models.registry import BUILTIN_MODELS, _BUILDERS, load_model


def _crops(geometry, batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    e, i = geometry.exemplar_size, geometry.instance_size
    return torch.rand(batch, 3, e, e, generator=g) * 255, torch.rand(batch, 3, i, i, generator=g) * 255


def _assert_same_outputs(torch_model, onnx_model, batch: int = 1, with_fuse: bool = False, rtol: float = 1e-4,
                         atol: float = 1e-4) -> None:
    """The onnxruntime back end (numpy in, numpy out) gives the torch model's outputs."""
    z, x = _crops(torch_model.geometry, batch)
    with torch.inference_mode():
        f_ref, f_got = torch_model.template(z), torch.from_numpy(onnx_model.template(z.numpy()))
        torch.testing.assert_close(f_got, f_ref, atol=1e-4, rtol=max(rtol, 1e-4))
        if with_fuse:
            f_ref = torch_model.fuse(f_ref * 0.5, f_ref + 1.0, f_ref)
            f_got = torch.from_numpy(onnx_model.fuse((f_got * 0.5).numpy(), (f_got + 1.0).numpy(), f_got.numpy()))
            torch.testing.assert_close(f_got, f_ref, atol=1e-4, rtol=max(rtol, 1e-4))
        ref, got = torch_model.track(x, f_ref), onnx_model.track(x.numpy(), f_ref.numpy())
    for name, r, o in zip(ref._fields, ref, got):
        assert (r is None) == (o is None), name
        if r is not None:
            assert isinstance(o, np.ndarray) and o.shape == tuple(r.shape) and o.dtype == np.float32
            torch.testing.assert_close(torch.from_numpy(o), r, atol=atol, rtol=rtol, msg=lambda m: f"{name}: {m}")


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
    torch.manual_seed(0)  # untrained: the same random weights every run
    model, cfg = load_model(name)
    out = export_onnx(model, tmp_path / name, config=cfg)
    # untrained deep models give large activations (box distances up to ~1e5 px): compare relatively; the
    # anchor head's offsets are small differences of those activations, so their float error is ~1e-4 absolute
    _assert_same_outputs(model, OnnxModel(out), rtol=2e-3, atol=1e-3)
    # SiamFC searches 3 scales in one batch; its search graph runs batch 1 only and is looped over (9.7)
    _assert_same_outputs(model, OnnxModel(out), batch=3, rtol=2e-3, atol=1e-3)


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


@pytest.fixture(scope="module")
def user_weights(tmp_path_factory):
    """A user's weights file (the nano weights saved as a checkpoint would be): exported through the cache."""
    from dastsiam.models.registry import save_weights

    model, cfg = load_model("nano")
    path = tmp_path_factory.mktemp("user") / "my_nano.safetensors"
    save_weights(model, cfg, path)
    return path


def test_cached_onnx_model_exports_once(tmp_path, monkeypatch, user_weights):
    from dastsiam import export as export_module

    calls = []
    real_export = export_module.export_onnx
    monkeypatch.setattr(export_module, "export_onnx", lambda *a, **k: calls.append(1) or real_export(*a, **k))
    first = cached_onnx_model(user_weights, cache_dir=tmp_path)
    second = cached_onnx_model(user_weights, cache_dir=tmp_path)
    assert len(calls) == 1 and first.path == second.path and first.path.parent == tmp_path
    assert [p.name for p in tmp_path.iterdir()] == [first.path.name]  # no staging folders left behind
    assert cached_onnx_model(first.path).geometry == first.geometry  # an exported folder opens directly
    with pytest.raises(ModelError, match="missing.safetensors"):
        cached_onnx_model(tmp_path / "missing.safetensors", cache_dir=tmp_path)


def _track_cli(args, env):
    return subprocess.run([sys.executable, "-m", "dastsiam.cli.main", "track", *args], env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture()
def cli_env(tmp_path, monkeypatch):
    import os

    env = dict(os.environ, DASTSIAM_CACHE=str(tmp_path / "cache"), OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO / "src"), env.get("PYTHONPATH", "")] if p)
    return env


REPO = __import__("pathlib").Path(__file__).resolve().parent.parent
FRAMES = REPO / "assets" / "bag.mp4"
BOX = REPO / "assets" / "bag_init_box.txt"


def _damage(entry, damage: str) -> None:
    graph = entry / "search.onnx"
    if damage == "truncate":
        graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2])
    elif damage == "flip":  # same size, one weight byte changed: onnxruntime would load it and track wrongly
        data = bytearray(graph.read_bytes())
        data[len(data) // 2] ^= 0xFF
        graph.write_bytes(bytes(data))
    elif damage == "delete":
        graph.unlink()
    else:
        (entry / "model.yaml").write_text("geometry: [unclosed")


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "meta"])
def test_corrupt_cache_entry_is_detected_and_rebuilt(tmp_path, user_weights, damage, capsys):
    """Issue 9.6: a damaged cache entry is found by its SHA-256 (recorded at export) and exported again."""
    from dastsiam.onnx_backend import verify_export

    healthy = cached_onnx_model(user_weights, cache_dir=tmp_path)
    z, x = _crops(healthy.geometry)
    want = healthy.track(x.numpy(), healthy.template(z.numpy()))
    entry = healthy.path
    assert verify_export(entry) is None
    _damage(entry, damage)
    assert verify_export(entry) is not None
    rebuilt = cached_onnx_model(user_weights, cache_dir=tmp_path)
    assert rebuilt.path == entry and verify_export(entry) is None
    assert "exporting it again" in capsys.readouterr().err
    got = rebuilt.track(x.numpy(), rebuilt.template(z.numpy()))
    np.testing.assert_allclose(got.cls, want.cls, atol=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == [entry.name]  # no staging or old folders left over


@pytest.mark.slow
def test_corrupt_cache_entry_through_the_cli(tmp_path, user_weights, cli_env):
    """Issue 9.6 through the real entry point: same boxes from the rebuilt entry, a note, no traceback."""
    args = [str(FRAMES), "--box", str(BOX), "--model", str(user_weights), "--backend", "onnx", "--max-frames", "4",
            "--threads", "1", "--no-progress"]
    first = _track_cli(args + ["--out", str(tmp_path / "a")], cli_env)
    assert first.returncode == 0, first.stderr
    (entry,) = (tmp_path / "cache" / "onnx").iterdir()
    _damage(entry, "flip")
    second = _track_cli(args + ["--out", str(tmp_path / "b")], cli_env)
    assert second.returncode == 0, second.stderr
    assert "exporting it again" in second.stderr and "Traceback" not in second.stderr
    assert (tmp_path / "b" / "boxes.txt").read_text() == (tmp_path / "a" / "boxes.txt").read_text()


@pytest.mark.slow
def test_siamfc_on_onnxruntime_through_the_cli(tmp_path, cli_env):
    """Issue 9.7: SiamFC's 3-scale search runs on the onnxruntime back end (was a raw onnxruntime traceback).
    (Untrained: each process builds its own random weights, so the boxes are only checked for sanity; the
    numbers are checked against torch in test_other_architectures_export.)"""
    args = [str(FRAMES), "--box", str(BOX), "--model", "siamfc", "--allow-untrained", "--max-frames", "4", "--threads", "1",
            "--no-progress", "--backend", "onnx", "--out", str(tmp_path / "onnx")]
    done = _track_cli(args, cli_env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and len(done.stdout.splitlines()) == 1
    boxes = np.loadtxt(tmp_path / "onnx" / "boxes.txt", delimiter=",")
    assert boxes.shape == (4, 4) and np.all(np.isfinite(boxes)) and np.all(boxes[:, 2:] > 0)


@pytest.mark.slow
def test_first_r50_export_keeps_stdout_clean(tmp_path, cli_env):
    """Issue 9.7: the TorchScript exporter printed ~815 lines of graph on the first dastsiam-r50 export."""
    done = subprocess.run([sys.executable, "-m", "dastsiam.cli.main", "export", "--model", "dastsiam-r50", "--out",
                           str(tmp_path / "r50")], env=cli_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [line for line in done.stdout.splitlines() if line.startswith("exported")]
    assert len(done.stdout.splitlines()) == 1 and "graph" not in done.stderr
