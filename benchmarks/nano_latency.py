#!/usr/bin/env python
"""Batch-1 latency of the `nano` models' template and track steps on each back end.

    python benchmarks/nano_latency.py [--model nano] [--threads 2] [--repeats 200]

Back ends: PyTorch eager (as loaded), eager with BatchNorm folded (``fuse_for_inference``), folded +
channels_last, and onnxruntime on the exported graphs (:class:`dastsiam.onnx_backend.OnnxModel`). Where the shared
data is present it also times OpenCV's DNN module on the published NanoTrack v2 ONNX pair (what
``cv2.TrackerNano`` runs per frame: backbone on the search crop + head) as the reference.
Prints min and median milliseconds; on a shared machine the minimum is the more stable number.
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from dastsiam.export import export_onnx
from dastsiam.onnx_backend import OnnxModel
from dastsiam.models.registry import load_model

SHARED = Path(os.environ.get("DASTSIAM_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def timed(fn, repeats: int, warmup: int = 20) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1e3, float(np.median(times)) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="nano")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model, cfg = load_model(args.model)
    geo = model.geometry
    z = torch.rand(1, 3, geo.exemplar_size, geo.exemplar_size) * 255
    x = torch.rand(1, 3, geo.instance_size, geo.instance_size) * 255
    rows = []
    with torch.inference_mode():
        f_z = model.template(z)
        fused = copy.deepcopy(model).fuse_for_inference()
        channels_last = copy.deepcopy(fused).to(memory_format=torch.channels_last)
        z_cl, x_cl = z.contiguous(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
        for name, m, zz, xx in (("torch eager", model, z, x), ("torch fused BN", fused, z, x),
                                ("torch fused BN + channels_last", channels_last, z_cl, x_cl)):
            rows.append((name, timed(lambda: m.template(zz), args.repeats),
                         timed(lambda: m.track(xx, f_z), args.repeats)))
        with tempfile.TemporaryDirectory() as tmp:
            onnx_model = OnnxModel(export_onnx(model, tmp, config=cfg), threads=args.threads)
            rows.append(("onnxruntime", timed(lambda: onnx_model.template(z), args.repeats),
                         timed(lambda: onnx_model.track(x, f_z), args.repeats)))

    v2 = SHARED / "weights" / "nanotrack" / "nanotrackv2"
    if args.model == "nano" and v2.is_dir():
        import cv2

        cv2.setNumThreads(args.threads)
        backbone = cv2.dnn.readNet(str(v2 / "nanotrack_backbone_sim.onnx"))
        head = cv2.dnn.readNet(str(v2 / "nanotrack_head_sim.onnx"))
        x_np, fz_np = x.numpy(), f_z.numpy()

        def opencv_track():
            backbone.setInput(x_np)
            head.setInput(fz_np, "input1")
            head.setInput(backbone.forward(), "input2")
            return head.forward(["output1", "output2"])

        def opencv_template():
            backbone.setInput(z.numpy())  # OpenCV's net reshapes to the 127x127 template
            return backbone.forward()

        rows.append(("OpenCV dnn (TrackerNano's nets)", timed(opencv_template, args.repeats),
                     timed(opencv_track, args.repeats)))

    print(f"{args.model}, batch 1, {args.threads} threads, torch {torch.__version__}; ms as min / median")
    for name, (t_min, t_med), (s_min, s_med) in rows:
        print(f"  {name:34s} template {t_min:6.2f} / {t_med:6.2f}   track {s_min:6.2f} / {s_med:6.2f}")


if __name__ == "__main__":
    main()
