"""configs/preflight_mnv2.yaml, the CPU pre-flight of the paper's recipe (docs/reproduce.md): it starts from
ImageNet MobileNetV2, trains on the shared training set only, and a few steps lower the loss."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dastsiam.config import replace_path
from dastsiam.training.config import CropAugConfig, load_train_config

REPO = Path(__file__).resolve().parents[2]
PREFLIGHT = REPO / "configs" / "preflight_mnv2.yaml"


def test_the_recipe_and_only_training_data():
    cfg = load_train_config(PREFLIGHT)
    assert cfg.model.arch == "mobilenetv2" and cfg.model.head == "anchor" and cfg.model.confidence == "cls_conf"
    assert cfg.model.st.enabled and cfg.model.da.enabled and cfg.sampling.mode == "triplet"
    assert cfg.labels.rule == "centre" and cfg.loss.conf_target == "binary" and cfg.init.weights is None
    assert [(d.kind, d.root.name) for d in cfg.data] == [("got10k", "train"), ("got10k", "train_images")]
    assert (cfg.optim.lr_start, cfg.optim.lr_end, cfg.optim.momentum) == (0.005, 0.0005, 0.9)


def small(cfg, tmp_path, shared_data):
    """The pre-flight recipe on 4 fixed samples of ``train/`` (no negatives, no augmentation), 1 thread."""
    cfg = dataclasses.replace(cfg, data=[dataclasses.replace(cfg.data[0], root=shared_data / "train")])
    plain = CropAugConfig(colour=0.0)
    cfg = dataclasses.replace(cfg, augmentation=dataclasses.replace(
        cfg.augmentation, template=plain, search=dataclasses.replace(plain, shift=16.0), noisy_template=plain))
    for key, value in {"sampling.reseed_each_epoch": False, "sampling.negative_prob": 0.0,
                       "sampling.template_noise_shift": 0.0, "sampling.template_noise_scale": 0.0,
                       "optim.samples_per_epoch": 4, "optim.batch_size": 4, "optim.epochs": 6,
                       "optim.freeze_backbone_epochs": 6, "model.st.dim": 32, "model.st.ffn_dim": 64,
                       "model.da.dim": 32, "model.da.ffn_dim": 64, "model.st.dropout": 0.0, "model.da.dropout": 0.0,
                       "runtime.workers": 0, "runtime.threads": 1, "runtime.tensorboard": False,
                       "runtime.progress": False, "runtime.out_dir": str(tmp_path / "out")}.items():
        cfg = replace_path(cfg, key, value)
    return cfg


def test_training_starts_from_imagenet_mobilenetv2(imagenet_file, shared_data, tmp_path):
    from dastsiam.training.trainer import Trainer

    trainer = Trainer(small(load_train_config(PREFLIGHT), tmp_path, shared_data))
    source = torch.load(str(imagenet_file), map_location="cpu", weights_only=True)
    for key, value in trainer.model.backbone.state_dict().items():
        torch.testing.assert_close(value, source[key].to(value.dtype))


@pytest.mark.slow
def test_a_few_steps_lower_the_loss(imagenet_file, shared_data, tmp_path):
    from dastsiam.training.trainer import Trainer

    result = Trainer(small(load_train_config(PREFLIGHT), tmp_path, shared_data)).fit()
    losses = result.losses
    assert len(losses) == 6 and all(np.isfinite(losses))
    assert np.mean(losses[-2:]) < 0.8 * np.mean(losses[:2]), losses


@pytest.mark.slow
def test_the_benchmark_reports_the_peak_share(imagenet_file, shared_data, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("preflight_bench", REPO / "benchmarks" / "preflight.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["preflight_bench"] = module
    spec.loader.exec_module(module)
    out = tmp_path / "r.json"
    assert module.main(["start", "--crops", "4", "--no-ope", "--data", str(shared_data), "--json", str(out)]) == 0
    import json

    report = json.loads(out.read_text())["start"]
    assert report["crops"] == 4 and 0 <= report["peak_within_2_strides"] <= 1
    assert "peak within 2 strides" in capsys.readouterr().out
