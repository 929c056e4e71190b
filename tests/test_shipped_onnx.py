"""The ONNX exports shipped in the package (dastsiam/weights/onnx/NAME/) are current and used without torch.

When a test here fails after changing a built-in model's weights, config or code, regenerate them with
``python scripts/export_builtin_onnx.py`` (docs/runtime.md).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dastsiam.config import to_dict
from dastsiam.models.registry import BUILTIN_MODELS, WEIGHTS_DIR, load_model
from dastsiam.onnx_backend import SHIPPED_DIR, OnnxModel, cached_onnx_model, file_sha256, shipped_onnx_dir, verify_export

TRAINED = [name for name, entry in BUILTIN_MODELS.items() if entry.weights is not None]
REGENERATE = "run `python scripts/export_builtin_onnx.py`"


def test_every_trained_builtin_is_shipped_and_nothing_else():
    shipped = sorted(p.name for p in SHIPPED_DIR.iterdir() if p.is_dir())
    assert shipped == sorted(TRAINED), REGENERATE


@pytest.mark.parametrize("name", TRAINED)
def test_shipped_export_matches_the_weights_and_config(name):
    import yaml

    folder = SHIPPED_DIR / name
    assert verify_export(folder) is None, REGENERATE
    meta = yaml.safe_load((folder / "model.yaml").read_text())
    entry = BUILTIN_MODELS[name]
    assert meta["weights"] == entry.weights
    assert meta["weights_sha256"] == file_sha256(WEIGHTS_DIR / entry.weights), f"{name}: weights changed; {REGENERATE}"
    assert meta["model"] == to_dict(entry.config), f"{name}: config changed; {REGENERATE}"
    assert shipped_onnx_dir(name) == folder


@pytest.mark.parametrize("name", TRAINED)
def test_shipped_export_computes_what_the_torch_model_computes(name):
    """Catches a change of model code that leaves weights and config as they were."""
    model, _ = load_model(name)
    onnx_model = OnnxModel(SHIPPED_DIR / name, threads=1)
    geo = model.geometry
    g = torch.Generator().manual_seed(1)
    z = torch.rand(1, 3, geo.exemplar_size, geo.exemplar_size, generator=g) * 255
    x = torch.rand(1, 3, geo.instance_size, geo.instance_size, generator=g) * 255
    with torch.no_grad():
        f_z = model.template(z)
        ref = model.track(x, model.fuse(f_z, f_z, f_z))
    f_got = onnx_model.template(z.numpy())
    got = onnx_model.track(x.numpy(), onnx_model.fuse(f_got, f_got, f_got))
    np.testing.assert_allclose(f_got, f_z.numpy(), atol=1e-3, rtol=1e-3, err_msg=REGENERATE)
    for field, r, o in zip(ref._fields, ref, got):
        assert (r is None) == (o is None), f"{name}.{field}: {REGENERATE}"
        if r is not None:
            np.testing.assert_allclose(o, r.numpy(), atol=1e-3, rtol=1e-3, err_msg=f"{name}.{field}: {REGENERATE}")


def test_trained_builtin_never_exports(monkeypatch, tmp_path):
    from dastsiam import export

    monkeypatch.setattr(export, "export_onnx", lambda *a, **k: pytest.fail("exported a shipped model"))
    model = cached_onnx_model("nano", cache_dir=tmp_path)
    assert model.path == SHIPPED_DIR / "nano" and not any(tmp_path.iterdir())


def test_stale_shipped_export_is_not_used(monkeypatch):
    """Weights replaced without regenerating the export: the package falls back to the cache, never to a
    graph of other weights."""
    import dastsiam.onnx_backend as backend

    monkeypatch.setattr(backend, "file_sha256", lambda path: "0" * 64)
    assert shipped_onnx_dir("nano") is None
