"""End to end on real frames (the shared training set, GOT-10k layout): the light model trains on CPU, the loss
goes down, Ctrl-C writes a checkpoint, ``resume`` continues from the saved step and ends exactly where an
uninterrupted run ends; the CLI runs the same and rejects bad input before training."""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from dastsiam.config import replace_path
from dastsiam.training.config import load_train_config

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke.yaml"


@pytest.fixture(scope="module")
def train_set(shared_data):
    return shared_data / "train"  # the training set (GOT-10k layout), never the validation pool


def smoke_config(root, out_dir, **overrides):
    cfg = load_train_config(SMOKE)
    cfg = dataclasses.replace(cfg, data=[dataclasses.replace(cfg.data[0], root=Path(root))])
    cfg = replace_path(cfg, "runtime.out_dir", str(out_dir))
    cfg = replace_path(cfg, "runtime.tensorboard", False)
    for key, value in overrides.items():
        cfg = replace_path(cfg, key.replace("__", "."), value)
    return cfg


def test_training_sample_from_real_frames(train_set, tmp_path):
    from dastsiam.training.trainer import Trainer

    trainer = Trainer(smoke_config(train_set, tmp_path))
    g = trainer.geometry
    sample = trainer.dataset[7]
    assert sample["z_i"].shape == sample["z_a"].shape == sample["z_c"].shape == (3, 127, 127)
    assert sample["x"].shape == (3, g.instance_size, g.instance_size) and sample["x"].dtype == torch.uint8
    assert sample["cls"].shape == (g.score_size, g.score_size) and sample["reg"].shape == (4, g.score_size, g.score_size)
    # positives sit around the target centre the crop reports, through the model's own geometry
    box = sample["box"].numpy()
    xs, ys = g.cell_centers()
    pos = sample["cls"].numpy() == 1
    assert pos.any()
    dist = np.hypot(xs[pos] - (box[0] + box[2] / 2), ys[pos] - (box[1] + box[3] / 2))
    assert dist.max() <= trainer.cfg.labels.radius * g.stride + 1e-6
    again = trainer.dataset[7]
    assert all(torch.equal(sample[k], again[k]) for k in ("z_i", "x", "cls"))  # a pure function of the index


@pytest.mark.slow
def test_train_interrupt_resume_matches_uninterrupted_run(train_set, tmp_path):
    from dastsiam.models.registry import load_model
    from dastsiam.training.trainer import Trainer

    # 3 epochs x 2 steps, backbone frozen in epoch 1, same 4 samples every epoch (the loss must fall)
    reference_cfg = smoke_config(train_set, tmp_path / "reference")
    backbone_after_epoch_1 = {}

    def remember_backbone(trainer, step, values):
        if step == 2:
            backbone_after_epoch_1.update({k: v.clone() for k, v in trainer.model.backbone.state_dict().items()})

    reference = Trainer(reference_cfg, on_step=remember_backbone)
    initial_backbone = {k: v.clone() for k, v in reference.model.backbone.state_dict().items()}
    result = reference.fit()
    assert not result.interrupted and result.global_step == 6 and result.epoch == 3
    losses = result.losses
    assert np.mean(losses[-2:]) < 0.8 * np.mean(losses[:2]), losses
    assert all(torch.equal(initial_backbone[k], backbone_after_epoch_1[k]) for k in initial_backbone)
    assert any(not torch.equal(initial_backbone[k], v) for k, v in reference.model.backbone.state_dict().items())
    out = tmp_path / "reference"
    assert {"last.pt", "config.yaml", "model.safetensors"} <= {p.name for p in out.iterdir()}
    assert load_train_config(out / "config.yaml") == reference_cfg  # the resolved config round-trips
    ckpt = torch.load(out / "last.pt", weights_only=True)
    assert ckpt["global_step"] == 6 and ckpt["epoch"] == 3
    # both exports load through the model registry and hold the trained weights
    for path in (out / "last.pt", out / "model.safetensors"):
        model, model_cfg = load_model(path)
        assert model_cfg == reference_cfg.model
        assert all(torch.equal(v, reference.model.state_dict()[k]) for k, v in model.state_dict().items())

    # the same run, stopped by a real SIGINT after step 3 (mid epoch 2), then resumed
    interrupted_cfg = smoke_config(train_set, tmp_path / "interrupted")

    def ctrl_c(trainer, step, values):
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)

    first = Trainer(interrupted_cfg, on_step=ctrl_c).fit()
    assert first.interrupted and first.global_step == 3 and first.exported is None
    saved = torch.load(tmp_path / "interrupted" / "last.pt", weights_only=True)
    assert (saved["epoch"], saved["step_in_epoch"], saved["global_step"]) == (1, 1, 3)

    resumed = Trainer(interrupted_cfg, resume=True)
    assert resumed.global_step == 3
    second = resumed.fit()
    assert second.global_step == 6 and not second.interrupted
    np.testing.assert_allclose(first.losses + second.losses, losses, rtol=1e-5)
    final = resumed.model.state_dict()
    for key, value in reference.model.state_dict().items():
        torch.testing.assert_close(final[key], value, rtol=1e-5, atol=1e-6)


def test_cli_train_and_resume(train_set, tmp_path, capsys):
    from dastsiam.cli.main import main

    out = tmp_path / "cli"
    args = ["train", str(SMOKE), "--data", str(train_set), "--out-dir", str(out), "--set", "runtime.tensorboard=false"]
    assert main(args + ["--set", "runtime.max_steps=1"]) == 0
    assert torch.load(out / "last.pt", weights_only=True)["global_step"] == 1
    assert main(args + ["--resume", "--set", "runtime.max_steps=2"]) == 0
    ckpt = torch.load(out / "last.pt", weights_only=True)
    assert ckpt["global_step"] == 2 and ckpt["epoch"] == 1
    assert (out / "model.safetensors").is_file()


def write_uav_layout(root: Path, rows: int, frames: int = 4):
    import cv2

    seq = root / "data_seq" / "bike1"
    seq.mkdir(parents=True)
    for i in range(frames):
        cv2.imwrite(str(seq / f"{i + 1:06d}.jpg"), np.full((60, 80, 3), 100, np.uint8))
    (root / "anno").mkdir()
    (root / "anno" / "bike1.txt").write_text("".join("10,10,20,20\n" for _ in range(rows)))


@pytest.mark.parametrize("problem", ["missing", "empty", "row_count"])
def test_bad_dataset_fails_before_training_naming_the_place(tmp_path, capsys, problem):
    from dastsiam.cli.main import main

    root = tmp_path / "UAV"
    if problem == "empty":
        root.mkdir()
    elif problem == "row_count":
        write_uav_layout(root, rows=6, frames=4)  # more annotation rows than frames
    out = tmp_path / "out"
    code = main(["train", str(SMOKE), "--data", f"uav123={root}", "--out-dir", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("dastsiam: error:") and len(err.strip().splitlines()) == 1
    assert str(root) in err or (problem == "row_count" and "bike1" in err), err
    assert not out.exists()  # nothing was started


@pytest.mark.parametrize("text,key", [
    ("optim:\n  epochs: 3\n  learning_rate: 0.1\n", "learning_rate"),
    ("optim:\n  batch_size: twelve\n", "optim.batch_size"),
    ("labels:\n  rule: nearest\n", "labels.rule"),
    ("optim:\n  lr_end: 0.1\n", "optim.lr_end"),
])
def test_bad_config_fails_naming_the_key(tmp_path, capsys, text, key):
    from dastsiam.cli.main import main

    cfg = tmp_path / "bad.yaml"
    cfg.write_text("model: {arch: nano}\ndata:\n  - {kind: uav123, root: nowhere}\n" + text)
    assert main(["train", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert str(cfg) in err and key in err, err


def test_trainer_threads_default_to_cores_minus_loader_workers(train_set, tmp_path, monkeypatch):
    from dastsiam import runtime
    from dastsiam.training.trainer import Trainer

    before = torch.get_num_threads()
    monkeypatch.setattr(runtime, "cpu_count", lambda: 6)
    try:
        assert Trainer(smoke_config(train_set, tmp_path, runtime__threads=0, runtime__workers=2)).threads == 4
        assert torch.get_num_threads() == 4
        assert Trainer(smoke_config(train_set, tmp_path, runtime__threads=0, runtime__workers=8)).threads == 1
        assert Trainer(smoke_config(train_set, tmp_path, runtime__threads=3, runtime__workers=2)).threads == 3
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


def test_training_entry_points_set_passive_openmp_before_torch_starts():
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "KMP_BLOCKTIME")}
    for code in ("import dastsiam.training.trainer, os, sys; print(os.environ.get('OMP_WAIT_POLICY'))",
                 "import runpy, sys, os; sys.argv = ['train_speed.py', '--help']; "
                 f"runpy.run_path({str(REPO / 'benchmarks' / 'train_speed.py')!r}, run_name='x'); "
                 "print(os.environ.get('OMP_WAIT_POLICY'))"):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split()[-1] == "PASSIVE", out.stdout


def test_train_speed_benchmark_runs(shared_data):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "train_speed.py"), "--archs", "nano", "--steps", "1",
                          "--warmup", "1", "--batch", "2", "--workers", "1",
                          "--data", str(shared_data / "train")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    row = out.stdout.strip().splitlines()[-1].split()
    assert row[0] == "nano" and all(float(v) > 0 for v in row[3:6] + row[7:8]), out.stdout
    from dastsiam.runtime import default_threads

    assert f"threads: {default_threads(1)}" in out.stdout  # cores minus the 1 loader worker
