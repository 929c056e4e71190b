"""The fine-tune recipe's switches live in the training config (configs/nano_ft.yaml): ``optim.bn_eval`` freezes
every BatchNorm's running statistics in the trainer, ``augmentation.channel_order: rgb`` feeds the network the
crops the tracker preset feeds, both are strict typed fields, and the recipe config sets them with its
validation (so ``dastsiam train configs/nano_ft.yaml`` alone is the recipe)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
import torch

from dastsiam.config import ConfigError, replace_path
from dastsiam.training.config import load_train_config

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke.yaml"


def smoke(shared_data, out_dir, **overrides):
    cfg = load_train_config(SMOKE)
    root = shared_data / "train"
    cfg = dataclasses.replace(cfg, data=[dataclasses.replace(cfg.data[0], root=root)])
    cfg = replace_path(cfg, "runtime.out_dir", str(out_dir))
    cfg = replace_path(cfg, "runtime.tensorboard", False)
    for key, value in overrides.items():
        cfg = replace_path(cfg, key.replace("__", "."), value)
    return cfg


def running_stats(model):
    return {k: v.clone() for k, v in model.state_dict().items() if k.endswith(("running_mean", "running_var"))}


@pytest.mark.parametrize("bn_eval", [False, True])
def test_bn_eval_freezes_every_batchnorm_statistic_but_not_its_affine_parameters(shared_data, tmp_path, bn_eval):
    from dastsiam.training.trainer import Trainer

    # backbone trainable from step 0: every BatchNorm layer belongs to a trained module
    cfg = smoke(shared_data, tmp_path, optim__epochs=1, optim__freeze_backbone_epochs=0, optim__bn_eval=bn_eval)
    trainer = Trainer(cfg)
    before_stats = running_stats(trainer.model)
    bn_weights = {f"{name}.{pn}": p.detach().clone() for name, m in trainer.model.named_modules()
                  if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for pn, p in m.named_parameters()}
    assert before_stats and bn_weights
    result = trainer.fit()
    assert result.global_step == 2
    after_stats = running_stats(trainer.model)
    changed = [k for k in before_stats if not torch.equal(before_stats[k], after_stats[k])]
    params = dict(trainer.model.named_parameters())
    assert any(not torch.equal(bn_weights[n], params[n].detach()) for n in bn_weights)  # affine still learns
    if bn_eval:
        assert changed == []
    else:
        assert changed  # the control: without the switch the trained BatchNorm layers re-estimate statistics


def test_channel_order_rgb_reverses_every_crop_the_trainer_feeds(shared_data, tmp_path):
    from dastsiam.training.trainer import Trainer

    batches = {}
    for order in ("bgr", "rgb"):
        trainer = Trainer(smoke(shared_data, tmp_path / order, augmentation__channel_order=order,
                                runtime__max_steps=1))
        step = trainer.train_step

        def record(net, batch, order=order, step=step):
            batches[order] = {k: v.clone() for k, v in batch.items()}
            return step(net, batch)

        trainer.train_step = record
        trainer.fit()
    bgr, rgb = batches["bgr"], batches["rgb"]
    for key in ("z_i", "z_a", "z_c", "x"):  # (B, 3, H, W): same sample, channels reversed
        assert not torch.equal(bgr[key], rgb[key]), key
        assert torch.equal(bgr[key].flip(1), rgb[key]), key
    assert torch.equal(bgr["cls"], rgb["cls"]) and torch.equal(bgr["reg"], rgb["reg"])


@pytest.mark.parametrize("text, key", [
    ("augmentation:\n  channel_order: rbg\n", "augmentation.channel_order"),
    ("optim:\n  bn_eval: maybe\n", "optim.bn_eval"),
    ("optim:\n  bn_frozen: true\n", "bn_frozen"),
    ("augmentation:\n  rgb: true\n", "rgb"),
])
def test_recipe_switches_are_strict(tmp_path, text, key):
    path = tmp_path / "bad.yaml"
    path.write_text("model: {arch: nano}\ndata:\n  - {kind: uav123, root: nowhere}\n" + text)
    with pytest.raises(ConfigError, match=key):
        load_train_config(path)


def test_nano_ft_yaml_is_the_whole_recipe(shared_data, monkeypatch):
    from dastsiam.tracking.config import tracker_config_for
    from dastsiam.training.validation import load_validation_set

    monkeypatch.chdir(REPO)  # the recipe's data roots are relative to the checkout
    cfg = load_train_config(REPO / "configs" / "nano_ft.yaml")
    assert cfg.optim.bn_eval
    # the crops the network is trained on are in the channel order its tracker preset feeds
    assert cfg.augmentation.channel_order == ("rgb" if tracker_config_for(cfg.model).swap_rb else "bgr") == "rgb"
    v = cfg.validation
    assert (v.every, v.patience, v.at_start, v.min_delta, v.max_frames) == (200, 3, False, 0.0, 0)
    # the validation sequences are benchmarks/validate.py's suite (what the shipped model was selected on)
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import validate
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    expected = [(kind, (shared_data / root).resolve(), names) for kind, root, names in validate.SUITE_CHOICES["val"]]
    assert [(d.kind, d.root.resolve(), d.names) for d in v.data] == expected
    names = [seq.name for _, seq in load_validation_set(v.data).sequences]
    assert names == [n for _, _, group in expected for n in group]
