#!/usr/bin/env python
"""Convert FEAR-XS's CoreML graphs (PinataFarms/FEARTracker, MIT) to dastsiam safetensors and the shipped ONNX.

    python scripts/convert_fear.py [SRC_DIR] [OUT_DIR] [--no-onnx]

SRC_DIR (default ``../shared/data/weights/fear_xs``) holds ``TrackerInit.mlmodel`` (template branch) and
``Tracker.mlmodel`` (search branch + pixel-wise fusion + heads) of the repository's iOS demo app; OUT_DIR
(default ``src/dastsiam/weights``) receives ``fear_xs.safetensors``; the shipped ONNX export
(``weights/onnx/fear-xs/``) is regenerated afterwards with ``scripts/export_builtin_onnx.py``'s code.

Needs ``coremltools`` (the ``convert`` extra: ``pip install -e .[convert]``) to *parse* the specs only; there is
no CoreML runtime on Linux, and nothing at run time needs it.

How the weights are carried over:

* **By name**: :data:`TEMPLATE_LAYERS` and :data:`SEARCH_LAYERS` name, for every convolution of the two graphs,
  the :class:`dastsiam.models.fear.FEARNet` module it becomes. The backbone + neck convolutions appear in both
  graphs; they must hold identical values (checked), and are taken once.
* **Values**: the graphs store every weight as fp16 (``float16Value``); fp16 -> fp32 is exact, so the
  safetensors file holds the published values exactly, as fp16 (half the size; the model loads them into
  fp32 parameters and computes in fp32: see docs/models.md, "FEAR-XS precision").
* **Input order**: the graphs take RGB; dastsiam models take BGR, so the stem's input channels are reversed.
* **Checked**: :func:`run_graph` executes a CoreML spec as written (every layer type the two files use,
  :data:`LAYER_TYPES`; an unknown one is an error) in fp32 with PyTorch's functional ops, and
  :func:`check_conversion` compares it with the converted module on real crops.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SRC = REPO.parent / "shared" / "data" / "weights" / "fear_xs"
TEMPLATE_FILE = "TrackerInit.mlmodel"
SEARCH_FILE = "Tracker.mlmodel"
SOURCE_COMMIT = "0a3bd039918909c79c1b7e55a4bfb7807520abde"
SHA256 = {
    TEMPLATE_FILE: "4e14305e2f35fd8d48da86d0b1bc81d174cd2b3984bfc0a3aefae5bdd47fb44d",
    SEARCH_FILE: "2c01e12ee22f4effcbe0b4d68120b5ff99929c46280c0b9dca0c46230b7de47f",
}
LICENCE = "MIT, Copyright (c) 2022 Piñata Farms (PinataFarms/FEARTracker LICENSE; see dastsiam/weights/LICENSE.fear)"

# the layer types the two graphs use, all executed by run_graph (and the only ones it accepts)
LAYER_TYPES = ("scale", "convolution", "activation", "add", "reshapeStatic", "transpose", "batchedMatmul",
               "concat", "unary")


def _backbone_names() -> list[str]:
    """FEARNet module names of the backbone + neck convolutions, in graph order."""
    from dastsiam.models.fear import BLOCKS

    names = ["backbone.stem"]
    for i, spec in enumerate(BLOCKS):
        if spec.hidden != spec.inp:
            names.append(f"backbone.blocks.{i}.expand")
        names += [f"backbone.blocks.{i}.depthwise", f"backbone.blocks.{i}.project"]
    return names + ["neck"]


# CoreML layer names of the backbone + neck convolutions in TrackerInit.mlmodel, in graph order (the traced
# names of torch 1.7.1's exporter); Tracker.mlmodel uses the same names except its last two (see below)
_TEMPLATE_BACKBONE = (
    "input.3 input.6 x.1 input.11 input.14 input.17 input.19 x.2 input.24 x.3 input.29 input.32 input.35 "
    "input.37 input.40 x.4 input.45 input.48 x.5 input.53 input.56 x.6 input.61 input.64 input.67 input.69 "
    "input.72 x.7 input.77 input.80 x.8 input.85 input.88 x.9 input.93 input.96 input.99 input.101 input.104 "
    "x.10 input.109 input.112 x.11 input.117 input.120 x var_988"
).split()
_SEARCH_BACKBONE = _TEMPLATE_BACKBONE[:-2] + ["x.12", "input.125"]

# the head (Tracker.mlmodel only): CoreML layer -> FEARNet module
_HEAD = {
    "input.126": "head.cls_encode.depthwise", "input.128": "head.cls_encode.pointwise",
    "input.129": "head.reg_encode.depthwise", "input.131": "head.reg_encode.pointwise",
    "input.133": "head.cls_dw.depthwise", "input.135": "head.cls_dw.pointwise",
    "input.137": "head.reg_dw.depthwise", "input.139": "head.reg_dw.pointwise",
    "input.141": "head.bbox_tower.0.depthwise", "input.143": "head.bbox_tower.0.pointwise",
    "input.145": "head.bbox_tower.2.depthwise", "input.147": "head.bbox_tower.2.pointwise",
    "input.149": "head.bbox_pred.depthwise", "x": "head.bbox_pred.pointwise",
    "input.151": "head.cls_tower.0.depthwise", "input.153": "head.cls_tower.0.pointwise",
    "input.155": "head.cls_tower.2.depthwise", "input.157": "head.cls_tower.2.pointwise",
    "input": "head.cls_pred.depthwise", "var_1282": "head.cls_pred.pointwise",
}


def template_layers() -> dict[str, str]:
    """TrackerInit.mlmodel convolution name -> FEARNet module name."""
    return dict(zip(_TEMPLATE_BACKBONE, _backbone_names(), strict=True))


def search_layers() -> dict[str, str]:
    """Tracker.mlmodel convolution name -> FEARNet module name."""
    return dict(zip(_SEARCH_BACKBONE, _backbone_names(), strict=True)) | _HEAD


STEM = "backbone.stem"


def load_spec(path: Path):
    """The CoreML ``Model`` protobuf of ``path`` (parsed only)."""
    try:
        from coremltools.proto import Model_pb2
    except ImportError:
        raise SystemExit("convert_fear.py needs coremltools to parse the CoreML files: "
                         "pip install -e '.[convert]' (or pip install coremltools)") from None
    spec = Model_pb2.Model()
    spec.ParseFromString(Path(path).read_bytes())
    if spec.WhichOneof("Type") != "neuralNetwork":
        raise SystemExit(f"{path}: not a CoreML NeuralNetwork spec ({spec.WhichOneof('Type')})")
    return spec


def layer_types(spec) -> set[str]:
    return {layer.WhichOneof("layer") for layer in spec.neuralNetwork.layers}


def _weights(params, shape) -> torch.Tensor:
    """fp32 tensor of a CoreML ``WeightParams`` (fp16 or fp32 storage)."""
    if len(params.float16Value):
        values = np.frombuffer(params.float16Value, dtype=np.float16).astype(np.float32)
    elif len(params.floatValue):
        values = np.asarray(params.floatValue, dtype=np.float32)
    else:
        raise ValueError("quantized / empty CoreML weights are not supported")
    return torch.from_numpy(values.copy()).reshape(shape)


def conv_tensors(layer) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(weight (O, I/groups, kh, kw), bias or None)`` of a CoreML convolution layer."""
    conv = layer.convolution
    if conv.isDeconvolution:
        raise ValueError(f"{layer.name}: deconvolution is not supported")
    shape = (conv.outputChannels, conv.kernelChannels, conv.kernelSize[0], conv.kernelSize[1])
    weight = _weights(conv.weights, shape)
    bias = _weights(conv.bias, (conv.outputChannels,)) if conv.hasBias else None
    return weight, bias


def _conv_padding(conv) -> tuple[int, int, int, int]:
    """``(left, right, top, bottom)`` of a CoreML convolution with ``valid`` padding amounts."""
    if conv.WhichOneof("ConvolutionPaddingType") != "valid":
        raise ValueError("only 'valid' convolution padding (with explicit amounts) is supported")
    amounts = conv.valid.paddingAmounts.borderAmounts
    (top, bottom), (left, right) = [(a.startEdgeSize, a.endEdgeSize) for a in amounts] or [(0, 0), (0, 0)]
    return left, right, top, bottom


def _preprocess(spec, name: str, image: torch.Tensor) -> torch.Tensor:
    """CoreML image preprocessing (``scaler``: ``channelScale * x + colourBias``) of RGB input ``image``."""
    for pre in spec.neuralNetwork.preprocessing:
        if pre.featureName == name:
            kind = pre.WhichOneof("preprocessor")
            if kind != "scaler":
                raise ValueError(f"unsupported CoreML preprocessing {kind!r}")
            s = pre.scaler
            bias = torch.tensor([s.redBias, s.greenBias, s.blueBias], dtype=torch.float32).view(1, 3, 1, 1)
            return image * s.channelScale + bias
    return image


def run_graph(spec, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Execute a CoreML NeuralNetwork spec as written, in fp32. Image inputs are ``(1, 3, H, W)`` RGB 0..255.

    Covers exactly :data:`LAYER_TYPES` with the options the FEAR files use; anything else raises ValueError
    (so a new layer type or option cannot be silently mis-executed).
    """
    image_inputs = {i.name for i in spec.description.input if i.type.WhichOneof("Type") == "imageType"}
    blobs = {name: (_preprocess(spec, name, t) if name in image_inputs else t) for name, t in inputs.items()}
    for layer in spec.neuralNetwork.layers:
        kind = layer.WhichOneof("layer")
        args = [blobs[name] for name in layer.input]
        p = getattr(layer, kind)
        if kind == "scale":
            scale = _weights(p.scale, tuple(p.shapeScale)).unsqueeze(0)
            out = args[0] * scale
            if p.hasBias:
                out = out + _weights(p.bias, tuple(p.shapeBias)).unsqueeze(0)
        elif kind == "convolution":
            weight, bias = conv_tensors(layer)
            if list(p.dilationFactor) not in ([], [1, 1]):
                raise ValueError(f"{layer.name}: dilation {list(p.dilationFactor)} is not supported")
            out = F.conv2d(F.pad(args[0], _conv_padding(p)), weight, bias, stride=tuple(p.stride),
                           groups=p.nGroups or 1)
        elif kind == "activation":
            if p.WhichOneof("NonlinearityType") != "ReLU":
                raise ValueError(f"{layer.name}: activation {p.WhichOneof('NonlinearityType')} is not supported")
            out = torch.relu(args[0])
        elif kind == "add":
            if len(args) != 2 or p.alpha != 0:
                raise ValueError(f"{layer.name}: only the sum of two inputs is supported")
            out = args[0] + args[1]
        elif kind == "reshapeStatic":
            out = args[0].reshape(tuple(p.targetShape))
        elif kind == "transpose":
            out = args[0].permute(tuple(p.axes))
        elif kind == "batchedMatmul":
            if p.transposeA or p.transposeB or p.hasBias or len(args) != 2:
                raise ValueError(f"{layer.name}: only a plain two-input batched matmul is supported")
            out = torch.matmul(args[0], args[1])
        elif kind == "concat":
            if p.sequenceConcat:
                raise ValueError(f"{layer.name}: sequence concat is not supported")
            out = torch.cat(args, dim=1)  # NeuralNetwork concat: along the channel axis
        elif kind == "unary":
            if p.type != p.EXP or p.scale != 1 or p.shift != 0:
                raise ValueError(f"{layer.name}: only unary exp(x) is supported")
            out = torch.exp(args[0])
        else:
            raise ValueError(f"{layer.name}: CoreML layer type {kind!r} is not supported (known: {', '.join(LAYER_TYPES)})")
        if len(layer.output) != 1:
            raise ValueError(f"{layer.name}: layers with {len(layer.output)} outputs are not supported")
        blobs[layer.output[0]] = out
    return {o.name: blobs[o.name] for o in spec.description.output}


def _conv_layers(spec) -> dict:
    return {layer.name: layer for layer in spec.neuralNetwork.layers if layer.WhichOneof("layer") == "convolution"}


def convert_state(template_spec, search_spec) -> dict[str, torch.Tensor]:
    """FEARNet ``state_dict`` (fp32 tensors holding the fp16 values) from the two specs, loaded by name."""
    state: dict[str, torch.Tensor] = {}
    for spec, table, what in ((template_spec, template_layers(), TEMPLATE_FILE), (search_spec, search_layers(), SEARCH_FILE)):
        convs = _conv_layers(spec)
        unmapped = sorted(set(convs) - set(table))
        missing = sorted(set(table) - set(convs))
        if unmapped or missing:
            raise ValueError(f"{what}: convolutions without a target {unmapped[:5]} / names not in the file {missing[:5]}")
        for coreml_name, module_name in table.items():
            weight, bias = conv_tensors(convs[coreml_name])
            if module_name == STEM:
                weight = weight.flip(1)  # RGB -> BGR input channels
            for suffix, value in (("weight", weight), ("bias", bias)):
                if value is None:
                    continue
                key = f"{module_name}.{suffix}"
                if key in state and not torch.equal(state[key], value):
                    raise ValueError(f"{what}: {coreml_name} differs from the other graph's copy of {key}")
                state[key] = value
    return state


def build_converted(src_dir: Path):
    """``(model, template_spec, search_spec)``: FEARNet with the CoreML weights (eval mode)."""
    from dastsiam.models.config import ModelConfig
    from dastsiam.models.fear import build
    from dastsiam.models.registry import load_state

    template_spec = load_spec(src_dir / TEMPLATE_FILE)
    search_spec = load_spec(src_dir / SEARCH_FILE)
    for spec, name in ((template_spec, TEMPLATE_FILE), (search_spec, SEARCH_FILE)):
        unknown = layer_types(spec) - set(LAYER_TYPES)
        if unknown:
            raise SystemExit(f"{name}: layer types the converter does not cover: {sorted(unknown)}")
    model = build(ModelConfig(arch="fear", confidence="cls"))
    load_state(model, convert_state(template_spec, search_spec), str(src_dir))
    return model.eval(), template_spec, search_spec


def check_conversion(model, template_spec, search_spec, z_rgb: torch.Tensor, x_rgb: torch.Tensor) -> dict[str, float]:
    """Max abs differences between the converted module and :func:`run_graph` on RGB crops ``z_rgb`` (1, 3, 128,
    128) and ``x_rgb`` (1, 3, 256, 256), 0..255: ``features``, ``cls``, ``bbox`` (the graphs' outputs)."""
    with torch.no_grad():
        ref_f = run_graph(template_spec, {"image": z_rgb})["features"]
        ref = run_graph(search_spec, {"image": x_rgb, "template_features": ref_f})
        f_z = model.template(z_rgb.flip(1))
        out = model.track(x_rgb.flip(1), f_z)
    return {
        "features": float((f_z - ref_f).abs().max()),
        "cls": float((out.cls - ref["cls"]).abs().max()),
        "bbox": float((out.loc - ref["bbox"]).abs().max()),
        "bbox_relative": float(((out.loc - ref["bbox"]).abs() / ref["bbox"].abs()).max()),
    }


def real_crops(frame_bgr: np.ndarray, box) -> tuple[torch.Tensor, torch.Tensor]:
    """RGB template / search crops of ``box`` in ``frame_bgr`` (centred; template 1.4x, search 5x the box)."""
    import cv2

    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2

    def crop(scale: float, size: int) -> torch.Tensor:
        sx, sy = w * scale / size, h * scale / size
        matrix = np.array([[sx, 0, cx - sx * size / 2], [0, sy, cy - sy * size / 2]])
        patch = cv2.warpAffine(frame_bgr, matrix, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)
        return torch.from_numpy(patch[..., ::-1].transpose(2, 0, 1).astype(np.float32).copy())[None]

    return crop(1.4, 128), crop(5.0, 256)


def save(model, out_dir: Path) -> Path:
    """Write ``fear_xs.safetensors`` (fp16 values: exactly the published ones) with config + licence metadata."""
    import yaml
    from safetensors.torch import save_file

    from dastsiam.config import to_dict
    from dastsiam.models.registry import BUILTIN_MODELS

    cfg = BUILTIN_MODELS["fear-xs"].config
    path = out_dir / BUILTIN_MODELS["fear-xs"].weights
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    for key, value in model.state_dict().items():  # fp16 storage must lose nothing
        if not torch.equal(state[key].float(), value):
            raise ValueError(f"{key}: not representable in fp16 (the source holds fp16 values)")
    metadata = {
        "dastsiam_model_config": yaml.safe_dump(to_dict(cfg), sort_keys=False),
        "source": (f"FEAR-XS by Borsuk et al. (https://github.com/PinataFarms/FEARTracker @ {SOURCE_COMMIT}), "
                   f"{TEMPLATE_FILE} (sha256 {SHA256[TEMPLATE_FILE]}) + {SEARCH_FILE} (sha256 {SHA256[SEARCH_FILE]}); "
                   "converted by scripts/convert_fear.py, fp16 values unchanged, BatchNorm folded as published"),
        "license": LICENCE,
    }
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp), metadata=metadata)
    tmp.replace(path)
    path.chmod(0o644)
    return path


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src_dir", type=Path, nargs="?", default=DEFAULT_SRC, help="folder with the two .mlmodel files")
    parser.add_argument("out_dir", type=Path, nargs="?", default=REPO / "src" / "dastsiam" / "weights",
                        help="folder for fear_xs.safetensors")
    parser.add_argument("--no-onnx", action="store_true", help="do not regenerate the shipped ONNX export")
    args = parser.parse_args(argv)
    for name, expected in SHA256.items():
        got = _sha256(args.src_dir / name)
        if got != expected:
            raise SystemExit(f"{args.src_dir / name}: SHA-256 {got} is not the published file's {expected}")
    model, template_spec, search_spec = build_converted(args.src_dir)
    g = torch.Generator().manual_seed(0)
    diffs = check_conversion(model, template_spec, search_spec, torch.rand(1, 3, 128, 128, generator=g) * 255,
                             torch.rand(1, 3, 256, 256, generator=g) * 255)
    print("max |torch - CoreML graph| on random crops: " + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()))
    path = save(model, args.out_dir)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    if not args.no_onnx:
        import importlib.util

        spec = importlib.util.spec_from_file_location("export_builtin_onnx", REPO / "scripts" / "export_builtin_onnx.py")
        exporter = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(exporter)
        print(f"wrote {exporter.export_builtin('fear-xs')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
