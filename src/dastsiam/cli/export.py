"""``dastsiam export``: write a model as ONNX graphs for the onnxruntime back end."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a model to ONNX (template.onnx, search.onnx[, fuse.onnx], model.yaml)",
        description="Export a model's template / search (/ fuse) graphs to ONNX for the onnxruntime back end "
                    "(load the folder with dastsiam.onnx_backend.OnnxModel).",
    )
    parser.add_argument("--model", default="nano",
                        help="built-in model name (see `dastsiam models`) or a .safetensors/.pt weights file "
                             "(default: nano)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset version (default: 17)")
    parser.add_argument("--check", action="store_true",
                        help="run the exported graphs once with onnxruntime and compare them with PyTorch")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from dastsiam.errors import ModelError
    from dastsiam.export import export_onnx
    from dastsiam.onnx_backend import OnnxModel
    from dastsiam.models.registry import load_model

    if args.out.exists() and not args.out.is_dir():
        raise ModelError(f"{args.out}: exists and is not a folder")
    model, cfg = load_model(args.model)
    out = export_onnx(model, args.out, opset=args.opset, config=cfg)
    files = sorted(p.name for p in out.iterdir() if p.suffix in (".onnx", ".yaml"))
    print(f"exported {args.model} to {out}: {', '.join(files)}")
    if args.check:
        geo = model.geometry
        z = torch.rand(1, 3, geo.exemplar_size, geo.exemplar_size) * 255
        x = torch.rand(1, 3, geo.instance_size, geo.instance_size) * 255
        onnx_model = OnnxModel(out)
        with torch.inference_mode():
            ref = model.track(x, model.template(z))
            got = onnx_model.track(x, onnx_model.template(z))
        worst = max(float(np.abs(a.numpy() - b).max()) for a, b in zip(ref, got) if a is not None)
        print(f"max |onnxruntime - torch| = {worst:.2e}")
    return 0
