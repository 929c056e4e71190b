#!/usr/bin/env python
"""Convert NanoTrack's published PyTorch checkpoints to dastsiam safetensors (values unchanged).

    python scripts/convert_nanotrack.py SRC_DIR OUT_DIR

SRC_DIR holds ``nanotrackv2.pth`` and ``nanotrackv3.pth`` (HonglinChu/SiamTrackers, Apache-2.0), e.g.
``../shared/data/weights/nanotrack/pretrained``; OUT_DIR receives ``nanotrack_v2.safetensors`` and
``nanotrack_v3.safetensors`` (the ModelConfig is stored in the file metadata), normally
``src/dastsiam/weights``. The checkpoints are read once with ``torch.load(weights_only=True)``; the numpy
scalars they contain are allowed explicitly, nothing else is unpickled.

Key mapping (explicit, see :func:`map_key`): ``ban_head.`` becomes ``head.``, ``CA_layer`` becomes
``channel_attention``, v2's ``cls_pw_tower``/``bbox_pw_tower``/``cls_pred`` become ``cls_tower``/``bbox_tower``/
``cls_logits``; the backbone keeps its names. ``neck.downsample.*`` is dropped: the published ONNX graphs
(and OpenCV's TrackerNano) feed the backbone output straight to the head, so the neck is unused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy
import torch

from dastsiam.models.config import ModelConfig
from dastsiam.models.nano import build
from dastsiam.models.registry import load_state, save_weights

# (source prefix, target prefix), first match wins; a key matching no rule is an error
_PREFIX_RULES = {
    "v2": (
        ("backbone.features.", "backbone.features."),
        ("ban_head.corr_pw_reg.", "head.corr_pw_reg."),
        ("ban_head.corr_pw_cls.", "head.corr_pw_cls."),
        ("ban_head.cls_pw_tower.", "head.cls_tower."),
        ("ban_head.bbox_pw_tower.", "head.bbox_tower."),
        ("ban_head.cls_pred.", "head.cls_logits."),
        ("ban_head.bbox_pred.", "head.bbox_pred."),
    ),
    "v3": (
        ("backbone.features.", "backbone.features."),
        ("ban_head.corr_pw_reg.", "head.corr_pw_reg."),
        ("ban_head.corr_pw_cls.", "head.corr_pw_cls."),
        ("ban_head.corr_dw_reg.", "head.corr_dw_reg."),
        ("ban_head.corr_dw_cls.", "head.corr_dw_cls."),
        ("ban_head.down_reg.", "head.down_reg."),
        ("ban_head.down_cls.", "head.down_cls."),
        ("ban_head.cls_tower.", "head.cls_tower."),
        ("ban_head.bbox_tower.", "head.bbox_tower."),
        ("ban_head.cls_logits.", "head.cls_logits."),
        ("ban_head.bbox_pred.", "head.bbox_pred."),
    ),
}
_DROPPED_PREFIXES = ("neck.downsample.",)  # unused by the published inference graphs
_INNER_RENAMES = ((".CA_layer.", ".channel_attention."),)


def map_key(key: str, version: str) -> str | None:
    """dastsiam name of NanoTrack checkpoint ``key`` (``None`` = deliberately dropped)."""
    if key.startswith("module."):  # DataParallel prefix, in case a checkpoint carries it
        key = key[len("module."):]
    if key.startswith(_DROPPED_PREFIXES):
        return None
    for src, dst in _PREFIX_RULES[version]:
        if key.startswith(src):
            mapped = dst + key[len(src):]
            for old, new in _INNER_RENAMES:
                mapped = mapped.replace(old, new)
            return mapped
    raise KeyError(f"NanoTrack {version} checkpoint key {key!r} matches no mapping rule")


def read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """The ``state_dict`` of a NanoTrack ``.pth`` (weights_only load; numpy scalars allow-listed)."""
    import numpy.dtypes

    # numpy 2 pickles name the scalar type by its old module path, hence the (object, name) pair
    allowed = [(numpy._core.multiarray.scalar, "numpy.core.multiarray.scalar"), numpy.dtype]
    allowed += [getattr(numpy.dtypes, n) for n in dir(numpy.dtypes) if n.endswith("DType")]
    with torch.serialization.safe_globals(allowed):
        ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
    state = ckpt["state_dict"] if isinstance(ckpt, dict) and "state_dict" in ckpt else ckpt
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def convert_state(state: dict[str, torch.Tensor], version: str) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        mapped = map_key(key, version)
        if mapped is not None:
            out[mapped] = value
    return out


def convert(src_dir: Path, out_dir: Path) -> list[Path]:
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for version in ("v2", "v3"):
        src = src_dir / f"nanotrack{version}.pth"
        cfg = ModelConfig(arch="nano", nano_version=version, confidence="cls")
        model = build(cfg)
        load_state(model, convert_state(read_checkpoint(src), version), str(src))
        dst = out_dir / f"nanotrack_{version}.safetensors"
        save_weights(model, cfg, dst, extra_metadata={
            "source": f"NanoTrack {version} by HonglinChu (https://github.com/HonglinChu/SiamTrackers), "
                      f"Apache-2.0; converted from {src.name}, values unchanged",
        })
        dst.chmod(0o644)  # the package ships it: readable by all, whatever the temp file's mode was
        written.append(dst)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src_dir", type=Path, help="folder with nanotrackv2.pth and nanotrackv3.pth")
    parser.add_argument("out_dir", type=Path, help="folder for the .safetensors files")
    args = parser.parse_args(argv)
    for path in convert(args.src_dir, args.out_dir):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
