"""1-frame sequences (the shared ``train_images/``: 917 objects from still photos) train as image pairs, as
SiamRPN trains on COCO/DET: every template and the search crop come from that one photo with their own
augmentation; mixed with the video sequences of ``train/`` by the datasets' ``weight``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from dastsiam.config import replace_path
from dastsiam.training.config import DataSourceConfig, load_train_config

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke.yaml"


def config(shared_data, tmp_path, data, **overrides):
    cfg = load_train_config(SMOKE)
    cfg = dataclasses.replace(cfg, data=data)
    cfg = replace_path(cfg, "runtime.out_dir", str(tmp_path / "out"))
    cfg = replace_path(cfg, "runtime.tensorboard", False)
    cfg = replace_path(cfg, "optim.samples_per_epoch", 10000)
    for key, value in overrides.items():
        cfg = replace_path(cfg, key.replace("__", "."), value)
    return cfg


def test_still_images_mix_with_videos_by_weight(shared_data, tmp_path):
    from dastsiam.training.trainer import Trainer

    videos = DataSourceConfig(kind="got10k", root=shared_data / "train", weight=3.0)
    images = DataSourceConfig(kind="got10k", root=shared_data / "train_images", weight=1.0)
    trainer = Trainer(config(shared_data, tmp_path, [videos, images], sampling__negative_prob=0.0))
    assert [len(s) for s in trainer.dataset.sources] == [46, 917]
    plans = [trainer.dataset.plan(i)[0] for i in range(2000)]
    share = np.mean([p.image for p in plans])
    assert abs(share - 0.25) < 0.04, share  # weight 1 of 4
    for p in plans:
        c = p.choice
        if p.image:
            assert len(p.track.usable) == 1 and c.initial == c.accumulated == c.current == c.search == 0
        else:
            assert len(p.track.usable) > 1 and c.current == c.accumulated + 1

    # an image pair: the crops come from one photo, each with its own augmentation; the target is labelled
    index = next(i for i, p in enumerate(plans) if p.image)
    sample = trainer.dataset[index]
    assert not torch.equal(sample["z_i"], sample["z_c"])  # T_c's box noise and crop jitter differ from T_i's
    assert (sample["cls"] == 1).any() and torch.isfinite(sample["box"]).all()
    box = sample["box"].numpy()
    xs, ys = trainer.geometry.cell_centers()
    best = np.unravel_index(np.argmin(np.hypot(xs - box[0] - box[2] / 2, ys - box[1] - box[3] / 2)), xs.shape)
    assert sample["cls"][best] == 1


@pytest.mark.parametrize("mode", ["triplet", "pair"])
def test_train_on_still_images_only_through_the_cli(shared_data, tmp_path, capsys, mode):
    from dastsiam.cli.main import main

    out = tmp_path / "cli"
    code = main(["train", str(SMOKE), "--data", f"got10k={shared_data / 'train_images'}", "--out-dir", str(out),
                 "--set", "runtime.tensorboard=false", "--set", "runtime.max_steps=1",
                 "--set", f"sampling.mode={mode}"])
    assert code == 0, capsys.readouterr().err
    assert torch.load(out / "last.pt", weights_only=True)["global_step"] == 1


def test_image_pairs_can_be_switched_off(shared_data, tmp_path, capsys):
    from dastsiam.cli.main import main

    code = main(["train", str(SMOKE), "--data", f"got10k={shared_data / 'train_images'}",
                 "--out-dir", str(tmp_path / "o"), "--set", "sampling.image_pairs=false"])
    err = capsys.readouterr().err
    assert code == 2 and "no sequence with at least 2 usable frames" in err and "train_images" in err, err
