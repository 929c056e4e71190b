"""The confidence branch (``L_cls2``, FCOS-style BCE; its sigmoid gates the template update, paper Sec. 2.3)
learns that background and other objects are not the target: after a short seeded fine-tune on real shared
training frames, its confidence at the target is higher than at the best peak away from the target.

Before training the branch is zero-initialised (0.5 everywhere: no margin); trained the old way (centerness on
the positive cells only, ``loss.conf_cells: positive``) it never sees a negative and stays flat (margin ~0)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from dastsiam.config import replace_path
from dastsiam.models.config import ModelConfig
from dastsiam.training.config import DataSourceConfig, load_train_config

REPO = Path(__file__).resolve().parents[2]
# everything but the confidence conv stays NanoTrack's published weights
FROZEN = ["backbone", "head.corr_pw_cls", "head.corr_pw_reg", "head.cls_tower", "head.bbox_tower",
          "head.cls_logits", "head.bbox_pred"]


def fine_tune_config(shared_data, out_dir, conf_cells="all", steps=10):
    cfg = load_train_config(REPO / "configs" / "smoke.yaml")
    cfg = dataclasses.replace(cfg, model=ModelConfig(arch="nano", confidence="cls_conf"),
                              data=[DataSourceConfig(kind="got10k", root=shared_data / "train")])
    for key, value in {
        "runtime.out_dir": str(out_dir), "runtime.tensorboard": False, "runtime.max_steps": steps,
        "runtime.workers": 0, "runtime.seed": 0, "sampling.mode": "pair", "sampling.negative_prob": 0.25,
        "sampling.reseed_each_epoch": True, "optim.samples_per_epoch": 10000, "optim.epochs": 1,
        "optim.batch_size": 8, "optim.freeze_backbone_epochs": 1, "optim.frozen": FROZEN,
        "optim.lr_start": 0.1, "optim.lr_end": 0.1, "optim.weight_decay": 0.0, "loss.conf_cells": conf_cells,
        "augmentation.search": {"shift": 64.0, "scale": 0.18, "blur": 0.0, "flip": 0.0, "colour": 1.0, "gray": 0.0},
    }.items():
        cfg = replace_path(cfg, key, value)
    return cfg


def confidence_margins(trainer, samples=24, seed=1234):
    """Per held-out sample (another seed, positive pairs): sigmoid confidence at the target (max over cells
    within 1 stride of its centre) minus the best confidence more than 3 strides away (beyond the positive
    radius of 2 strides and a 1-stride band)."""
    from dastsiam.training.data import TrainingSet

    cfg = trainer.cfg
    held_out = dataclasses.replace(cfg, runtime=dataclasses.replace(cfg.runtime, seed=seed),
                                   sampling=dataclasses.replace(cfg.sampling, negative_prob=0.0))
    data = TrainingSet(trainer.dataset.sources, trainer.dataset.shares, trainer.geometry, held_out, samples)
    xs, ys = trainer.geometry.cell_centers()
    model = trainer.model.eval()
    margins = []
    with torch.no_grad():
        for i in range(samples):
            s = data[i]
            conf = torch.sigmoid(model(s["z_i"][None].float(), s["x"][None].float()).conf[0, 0]).numpy()
            x, y, w, h = s["box"].numpy()
            distance = np.hypot(xs - x - w / 2, ys - y - h / 2) / trainer.geometry.stride
            margins.append(conf[distance <= 1.0].max() - conf[distance > 3.0].max())
    return np.array(margins)


@pytest.mark.parametrize("conf_cells", ["all", "positive"])
def test_confidence_branch_learns_target_versus_background(shared_data, tmp_path, conf_cells):
    from dastsiam.training.trainer import Trainer

    torch.manual_seed(0)
    trainer = Trainer(fine_tune_config(shared_data, tmp_path, conf_cells))
    assert trainer.model.head.conf_logits is not None
    untrained = confidence_margins(trainer, samples=4)
    np.testing.assert_allclose(untrained, 0.0, atol=1e-6)  # zero-initialised: 0.5 everywhere
    trainer.fit()
    margins = confidence_margins(trainer)
    if conf_cells == "all":  # the default: BCE over every labelled cell, negative pairs included
        assert np.mean(margins > 0) >= 0.8 and np.mean(margins) > 0.2, margins
    else:  # the old target never shows the branch a negative cell: no margin to gate with
        assert np.mean(margins) < 0.05, margins
