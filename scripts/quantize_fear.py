#!/usr/bin/env python
"""An int8 variant of the shipped FEAR-XS export (search graph statically quantised; template graph unchanged).

    python scripts/quantize_fear.py OUT_DIR [--samples 96]

OUT_DIR becomes an export folder that every command takes as ``--model OUT_DIR`` (onnxruntime back end; the
tracker preset comes from its ``model.yaml``, i.e. ``fear-xs``). The search graph is quantised with
onnxruntime's static QDQ quantisation (int8 weights per output channel, uint8 activations, MinMax calibration)
on real crops from the shared *training* set (``../shared/data/train``: never the validation pool): for each
calibration pair, the template crop of a sequence's frame ``i`` and the search crop of frame ``i + k``
(``k`` in 1..9) around the box of frame ``i`` shifted by up to 10 % of its size, both cut exactly as the
``fear-xs`` tracker cuts them. Deterministic (seeded). Needs the ``onnx`` package (the ``export`` extra).
Measured speed and accuracy: docs/tracking.md, "FEAR-XS speed".
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TRAIN = REPO.parent / "shared" / "data" / "train"


def calibration_pairs(train_dir: Path, samples: int, seed: int = 0):
    """``[(z, x)]``: ``(1, 3, 128, 128)`` and ``(1, 3, 256, 256)`` float32 BGR crops from the training set."""
    from dastsiam.tracking.crop import get_rect_subwindow
    from dastsiam.tracking.fear import extend_box

    rng = np.random.default_rng(seed)
    sequences = sorted(p for p in train_dir.iterdir() if (p / "groundtruth.txt").is_file())
    pairs = []
    while len(pairs) < samples:
        seq = sequences[len(pairs) % len(sequences)]
        frames = sorted(seq.glob("*.jpg"))
        gt = np.loadtxt(seq / "groundtruth.txt", delimiter=",", ndmin=2)
        gt[:, :2] -= 1  # GOT-10k layout: 1-based
        n = min(len(frames), len(gt))
        i = int(rng.integers(0, max(1, n - 1)))
        j = min(n - 1, i + int(rng.integers(1, 10)))
        first, later = cv2.imread(str(frames[i])), cv2.imread(str(frames[j]))
        pad = cv2.mean(first)[:3]
        z = get_rect_subwindow(first, extend_box(gt[i], 0.2, True), 128, pad, exact=True)
        box = gt[i].copy()
        box[:2] += rng.uniform(-0.1, 0.1, 2) * box[2:]
        x = get_rect_subwindow(later, extend_box(box, 2.0, True), 256, pad, exact=True)
        pairs.append(tuple(c.transpose(2, 0, 1)[None].astype(np.float32) for c in (z, x)))
    return pairs


def quantize(src: Path, out: Path, pairs) -> Path:
    import onnxruntime as ort
    import yaml
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from dastsiam.onnx_backend import GRAPH_FILES, META_FILE, file_sha256

    template = ort.InferenceSession(str(src / "template.onnx"), providers=["CPUExecutionProvider"])
    feeds = [{"x": x, "f_z": template.run(None, {"z": z})[0]} for z, x in pairs]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._items = iter(feeds)

        def get_next(self):
            return next(self._items, None)

    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "template.onnx", out / "template.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "search_prepared.onnx"
        quant_pre_process(str(src / "search.onnx"), str(prepared))
        quantize_static(str(prepared), str(out / "search.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
    meta = yaml.safe_load((src / META_FILE).read_text())
    for key in ("builtin", "weights", "weights_sha256"):  # not the shipped built-in any more
        meta.pop(key, None)
    meta["precision"] = {"search": "int8 (static QDQ, per-channel weights, MinMax calibration)", "template": "fp32"}
    meta["calibration"] = f"{len(pairs)} template/search crop pairs from the shared training set (scripts/quantize_fear.py)"
    meta["sha256"] = {name: file_sha256(out / name) for name in GRAPH_FILES if (out / name).is_file()}
    (out / META_FILE).write_text(yaml.safe_dump(meta, sort_keys=False))
    return out


def main(argv=None) -> int:
    from dastsiam.onnx_backend import SHIPPED_DIR

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--samples", type=int, default=96, help="calibration pairs")
    parser.add_argument("--train", type=Path, default=DEFAULT_TRAIN, help="training set (GOT-10k layout)")
    args = parser.parse_args(argv)
    out = quantize(SHIPPED_DIR / "fear-xs", args.out_dir, calibration_pairs(args.train, args.samples))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
