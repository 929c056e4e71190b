"""The FEAR ablation arms (configs/fear_ft_*.yaml, docs/ablation.md "FEAR"): each loads strictly, differs from the
others only in its modules, and trains a few real steps on shared/data/train with the frozen parts untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dastsiam.config import replace_path
from dastsiam.training.config import load_train_config

REPO = Path(__file__).resolve().parents[2]
ARMS = {"control": (False, False, "cls"), "st": (True, False, "cls_conf"), "da": (False, True, "cls_conf"),
        "st_da": (True, True, "cls_conf")}
FROZEN = ("backbone.", "neck.", "head.reg_encode.", "head.reg_dw.", "head.bbox_tower.", "head.bbox_pred.")


def load(arm):
    return load_train_config(REPO / "configs" / f"fear_ft_{arm}.yaml")


def test_arms_differ_only_in_their_modules_and_st_da_is_dastsiam_fear():
    from dastsiam.config import to_dict
    from dastsiam.models import BUILTIN_MODELS

    base = to_dict(load("control"))
    for arm, (st, da, confidence) in ARMS.items():
        cfg = load(arm)
        assert (cfg.model.arch, cfg.model.st.enabled, cfg.model.da.enabled, cfg.model.confidence) == (
            "fear", st, da, confidence)
        assert cfg.init.weights == "fear-xs" and cfg.optim.bn_eval and cfg.validation.patience > 0
        assert cfg.augmentation.search_ratio == pytest.approx(5 / 1.4)
        assert (cfg.augmentation.crop_shape, cfg.augmentation.context_amount) == ("box", 0.2)
        assert cfg.validation.at_start  # the published weights are the first "best"
        other = to_dict(cfg)
        for key in base:
            if key not in ("model", "name", "runtime"):
                assert other[key] == base[key], (arm, key)
    assert load("st_da").model == BUILTIN_MODELS["dastsiam-fear"].config


@pytest.mark.parametrize("arm", list(ARMS))
def test_each_arm_trains_a_few_steps_with_the_frozen_parts_kept(shared_data, tmp_path, monkeypatch, arm):
    from dastsiam.models import load_model
    from dastsiam.training.trainer import Trainer

    monkeypatch.chdir(REPO)  # the configs' data roots are relative to the checkout
    torch.set_num_threads(1)
    cfg = load(arm)
    for key, value in (("runtime.out_dir", str(tmp_path)), ("runtime.tensorboard", False), ("runtime.max_steps", 2),
                       ("runtime.workers", 0), ("optim.batch_size", 2), ("validation.every", 0),
                       ("runtime.checkpoint_every", 0)):
        cfg = replace_path(cfg, key, value)
    trainer = Trainer(cfg)
    start = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    base = load_model("fear-xs")[0].state_dict()
    assert all(torch.equal(start[k], v) for k, v in base.items())  # starts from the published weights
    result = trainer.fit()
    assert result.global_step == 2
    end = trainer.model.state_dict()
    for key in base:
        if key.startswith(FROZEN):
            assert torch.equal(end[key], base[key]), key
    trained = [k for k in end if not k.startswith(FROZEN) and not torch.equal(end[k], start[k])]
    assert any(k.startswith("head.cls_") for k in trained)
    if ARMS[arm][2] == "cls_conf":
        assert any(k.startswith("head.conf_logits") for k in trained)


def test_arm_samples_show_the_target_as_fears_tracker_crops_it(shared_data, monkeypatch):
    """With crop_shape box, a training search crop (jitter off) holds the target as the fear-xs tracker's search
    crop does: 256 / 5 = 51.2 px in both directions whatever the box's aspect ratio, at the crop centre."""
    import numpy as np

    from dastsiam.models import build_model
    from dastsiam.training.data import TrainingSet, dataset_shares, load_sources

    monkeypatch.chdir(REPO)
    cfg = load("control")
    for key, value in (("augmentation.search.shift", 0.0), ("augmentation.search.scale", 0.0),
                       ("sampling.negative_prob", 0.0), ("data", cfg.data[:1])):
        cfg = replace_path(cfg, key, value)
    geometry = build_model(cfg.model).geometry
    sources = load_sources(cfg)
    samples = TrainingSet(sources, dataset_shares(cfg.data, 1), geometry, cfg, length=6)
    aspects = []
    for index in range(6):
        sample = samples[index]
        assert sample["x"].shape == (3, 256, 256) and sample["z_i"].shape == (3, 128, 128)
        box = sample["box"].numpy()
        np.testing.assert_allclose(box[2:], [51.2, 51.2], rtol=1e-5)
        np.testing.assert_allclose(box[:2] + box[2:] / 2, [128, 128], atol=1e-4)
        plan, _ = samples.plan(index)
        _, _, w, h = plan.search_track.boxes[plan.search_frame]
        aspects.append(w / h)
    assert max(aspects) / min(aspects) > 1.2  # targets of different shapes, all cut to the same square
