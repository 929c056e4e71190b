"""FEAR-XS port: the CoreML conversion (every layer type, by-name loading, real crops), shipped files, shapes."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from dastsiam.models.config import ModelConfig, STConfig
from dastsiam.models.fear import GEOMETRY, build, pixelwise_correlation
from dastsiam.models.registry import BUILTIN_MODELS, WEIGHTS_DIR, load_model

REPO = Path(__file__).resolve().parents[2]


def _converter():
    spec = importlib.util.spec_from_file_location("convert_fear", REPO / "scripts" / "convert_fear.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def converter():
    pytest.importorskip("coremltools.proto", reason="the converter tests parse CoreML files (the convert extra)")
    return _converter()


@pytest.fixture(scope="module")
def fear_source(shared_data) -> Path:
    folder = shared_data / "weights" / "fear_xs"
    if not (folder / "Tracker.mlmodel").is_file():
        pytest.skip(f"FEAR-XS CoreML files not found in {folder}")
    return folder


@pytest.fixture(scope="module")
def specs(converter, fear_source):
    return converter.load_spec(fear_source / converter.TEMPLATE_FILE), converter.load_spec(fear_source / converter.SEARCH_FILE)


@pytest.fixture(scope="module")
def real_crops(converter, shared_data):
    """RGB template crop of OTB Crossing's first box (frame 1) and a search crop of frame 10 (the box of frame 1)."""
    folder = shared_data / "OTB" / "Crossing"
    box = np.loadtxt(folder / "groundtruth_rect.txt", delimiter="\t")[0] - np.array([1, 1, 0, 0])
    z, _ = converter.real_crops(cv2.imread(str(folder / "img" / "0001.jpg")), box)
    _, x = converter.real_crops(cv2.imread(str(folder / "img" / "0010.jpg")), box)
    return z, x


def test_source_files_are_the_published_ones(converter, fear_source):
    for name, expected in converter.SHA256.items():
        assert hashlib.sha256((fear_source / name).read_bytes()).hexdigest() == expected, name


def test_every_layer_type_of_the_files_is_executed_by_the_converter(converter, specs):
    used = converter.layer_types(specs[0]) | converter.layer_types(specs[1])
    assert used == set(converter.LAYER_TYPES)  # nothing unknown, nothing listed that the files do not use


def test_unknown_layer_type_is_an_error(converter, specs):
    from coremltools.proto import Model_pb2

    spec = Model_pb2.Model()
    spec.CopyFrom(specs[0])
    layer = spec.neuralNetwork.layers[2]  # the first ReLU -> a softmax
    layer.softmax.SetInParent()
    with pytest.raises(ValueError, match="softmax"):
        converter.run_graph(spec, {"image": torch.zeros(1, 3, 128, 128)})


def test_every_convolution_is_mapped_by_name_once(converter, specs):
    template_convs = {l.name for l in specs[0].neuralNetwork.layers if l.WhichOneof("layer") == "convolution"}
    search_convs = {l.name for l in specs[1].neuralNetwork.layers if l.WhichOneof("layer") == "convolution"}
    assert set(converter.template_layers()) == template_convs
    assert set(converter.search_layers()) == search_convs
    model = build(ModelConfig(arch="fear", confidence="cls"))
    convs = {n for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)}
    assert set(converter.search_layers().values()) == convs  # the search graph holds every module
    assert set(converter.template_layers().values()) < convs


def test_converted_module_computes_the_coreml_graphs_on_real_crops(converter, specs, fear_source, real_crops):
    model, template_spec, search_spec = converter.build_converted(fear_source)
    z, x = real_crops
    # the graphs normalise with fp16-rounded 1/(255 std): with those, the module must be the graph to fp32 rounding
    graph_scale = converter._weights(template_spec.neuralNetwork.layers[0].scale.scale, (3,)).flip(0).view(1, 3, 1, 1)
    exact = model.backbone.inv_std.clone()
    model.backbone.inv_std = graph_scale
    diffs = converter.check_conversion(model, template_spec, search_spec, z, x)
    assert diffs["features"] < 1e-4 and diffs["cls"] < 1e-4 and diffs["bbox_relative"] < 1e-4, diffs
    # with the Python tracker's exact ImageNet constants (what ships) the difference stays that of fp16 rounding
    model.backbone.inv_std = exact
    diffs = converter.check_conversion(model, template_spec, search_spec, z, x)
    assert diffs["cls"] < 5e-3 and diffs["bbox_relative"] < 5e-3, diffs


def test_shipped_weights_are_the_conversion_of_the_published_files(converter, specs):
    from safetensors import safe_open

    state = converter.convert_state(*specs)
    path = WEIGHTS_DIR / BUILTIN_MODELS["fear-xs"].weights
    with safe_open(str(path), framework="pt") as f:
        shipped = {k: f.get_tensor(k) for k in f.keys()}
        metadata = f.metadata()
    assert set(shipped) == set(state)
    for key, value in state.items():
        assert shipped[key].dtype == torch.float16
        assert torch.equal(shipped[key].float(), value), key
    assert "MIT" in metadata["license"] and "Piñata Farms" in metadata["license"]
    assert converter.SOURCE_COMMIT in metadata["source"]


def test_licence_and_notice_ship_with_the_weights():
    licence = (WEIGHTS_DIR / "LICENSE.fear").read_text()
    assert "MIT License" in licence and "Piñata Farms" in licence
    notice = (WEIGHTS_DIR / "NOTICE").read_text()
    assert "fear_xs.safetensors" in notice and "LICENSE.fear" in notice


def test_torch_and_shipped_onnx_agree_on_real_crops(converter, real_crops):
    from dastsiam.onnx_backend import SHIPPED_DIR, OnnxModel

    model, _ = load_model("fear-xs")
    onnx_model = OnnxModel(SHIPPED_DIR / "fear-xs", threads=1)
    z, x = (t.flip(1) for t in real_crops)  # BGR, as the tracker feeds them
    with torch.no_grad():
        f_z = model.template(z)
        ref = model.track(x, f_z)
    f_onnx = onnx_model.template(z.numpy())
    got = onnx_model.track(x.numpy(), f_onnx)
    assert np.abs(f_onnx - f_z.numpy()).max() < 1e-3
    assert np.abs(got.cls - ref.cls.numpy()).max() < 1e-3
    assert (np.abs(got.loc - ref.loc.numpy()) / ref.loc.numpy()).max() < 1e-4
    # the target of the real crop is found near the crop centre, with about its size
    row, col = np.unravel_index(int(np.argmax(got.cls[0, 0])), got.cls.shape[-2:])
    assert abs(col * 16 - 128) <= 32 and abs(row * 16 - 128) <= 32


def test_shapes_geometry_and_batch_independence():
    model = build(ModelConfig(arch="fear", confidence="cls")).eval()
    g = torch.Generator().manual_seed(0)
    z = torch.rand(2, 3, 128, 128, generator=g) * 255
    x = torch.rand(2, 3, 256, 256, generator=g) * 255
    with torch.no_grad():
        f_z = model.template(z)
        out = model.track(x, f_z)
        single = model.track(x[1:], f_z[1:])
    assert f_z.shape == (2, 256, 8, 8)
    assert out.cls.shape == (2, 1, 16, 16) and out.loc.shape == (2, 4, 16, 16) and out.conf is None
    assert bool((out.loc > 0).all())
    torch.testing.assert_close(single.loc, out.loc[1:], atol=1e-4, rtol=1e-4)
    # the reference's make_grid: cell j looks at crop pixel (j - 8) * 16 + 128 = 16 j
    xs, ys = GEOMETRY.cell_centers()
    assert xs[0, :3].tolist() == [0.0, 16.0, 32.0] and ys[-1, 0] == 240.0


def test_pixelwise_correlation_is_the_dot_product_of_cells():
    g = torch.Generator().manual_seed(1)
    f_z, f_x = torch.randn(1, 5, 2, 3, generator=g), torch.randn(1, 5, 4, 4, generator=g)
    out = pixelwise_correlation(f_z, f_x)
    assert out.shape == (1, 6, 4, 4)
    # channel k = template cell (k // 3, k % 3); output (i, j) = <f_z[:, :, k], f_x[:, :, i, j]>
    torch.testing.assert_close(out[0, 4, 2, 1], (f_z[0, :, 1, 1] * f_x[0, :, 2, 1]).sum())


def test_st_plugs_in_and_the_confidence_branch_starts_at_one_half():
    from dastsiam.config import ConfigError

    model = build(ModelConfig(arch="fear", confidence="cls", st=STConfig(enabled=True, dim=64, heads=4, ffn_dim=128)))
    assert model.has_st and model.head.conf_logits is None
    with_conf = build(ModelConfig(arch="fear", confidence="cls_conf")).eval()
    with torch.no_grad():
        out = with_conf.track(torch.rand(1, 3, 256, 256) * 255, with_conf.template(torch.rand(1, 3, 128, 128) * 255))
    assert out.conf.shape == (1, 1, 16, 16) and bool((out.conf == 0).all())  # zero-initialised: sigmoid 0.5
    with pytest.raises(ConfigError, match="arch 'fear'"):
        build(ModelConfig(arch="fear", confidence="both"))
