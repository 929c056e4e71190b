"""The PyTorch NanoTrack port against the published ONNX graphs (the ones OpenCV's TrackerNano loads)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dastsiam.models.registry import load_model

ONNX_FILES = {
    "nano": ("nanotrackv2/nanotrack_backbone_sim.onnx", "nanotrackv2/nanotrack_head_sim.onnx"),
    "nano-v3": ("nanotrackv3/nanotrack_backbone.onnx", "nanotrackv3/nanotrack_head.onnx"),
}


def _session(path, any_input_size: bool = False):
    import onnx

    from dastsiam.runtime import import_onnxruntime

    ort = import_onnxruntime()

    proto = onnx.load(str(path))
    if any_input_size:  # the published backbone fixes 255x255; the same graph also runs on 127x127 templates
        for dim, name in zip(proto.graph.input[0].type.tensor_type.shape.dim[2:], ("height", "width")):
            dim.dim_param = name
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("name", ["nano", "nano-v3"])
def test_backbone_and_head_match_published_onnx(name, shared_data):
    root = shared_data / "weights" / "nanotrack"
    backbone_path, head_path = (root / p for p in ONNX_FILES[name])
    backbone, head = _session(backbone_path, any_input_size=True), _session(head_path)
    model, _ = load_model(name)
    rng = np.random.default_rng(7)
    z = rng.uniform(0, 255, (1, 3, 127, 127)).astype(np.float32)
    x = rng.uniform(0, 255, (1, 3, 255, 255)).astype(np.float32)

    ref_fz = backbone.run(None, {"input": z})[0]
    ref_fx = backbone.run(None, {"input": x})[0]
    ref_cls, ref_loc = head.run(["output1", "output2"], {"input1": ref_fz, "input2": ref_fx})
    with torch.no_grad():
        f_z = model.template(torch.from_numpy(z))
        f_x = model.backbone(torch.from_numpy(x))
        out = model.track(torch.from_numpy(x), f_z)
    np.testing.assert_allclose(f_z.numpy(), ref_fz, atol=1e-4, rtol=1e-5)
    np.testing.assert_allclose(f_x.numpy(), ref_fx, atol=1e-4, rtol=1e-5)
    np.testing.assert_allclose(out.cls.numpy(), ref_cls, atol=1e-4, rtol=1e-5)
    # loc is exp(.) of the regression: pixel distances up to ~100, compare relatively
    np.testing.assert_allclose(out.loc.numpy(), ref_loc, atol=1e-4, rtol=1e-5)
    assert out.cls.shape[-1] == model.geometry.score_size
