"""The trainer's validation hook (tracking AUC on benchmark sequences every N steps, best.safetensors, early
stop), step checkpoints, and SIGTERM through the real ``dastsiam train`` entry point (a checkpoint is written
and the run resumes exactly where an uninterrupted one would be)."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from dastsiam.config import replace_path
from dastsiam.training.config import DataSourceConfig, load_train_config

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke.yaml"


def smoke(shared_data, out_dir, **overrides):
    cfg = load_train_config(SMOKE)
    cfg = dataclasses.replace(cfg, data=[DataSourceConfig(kind="got10k", root=shared_data / "train")])
    cfg = replace_path(cfg, "runtime.out_dir", str(out_dir))
    cfg = replace_path(cfg, "runtime.tensorboard", False)
    for key, value in overrides.items():
        cfg = replace_path(cfg, key.replace("__", "."), value)
    return cfg


def otb(shared_data, *names):
    return [DataSourceConfig(kind="otb", root=shared_data / "OTB", names=list(names))]


def test_validation_keeps_the_best_model_and_stops_after_patience(shared_data, tmp_path, monkeypatch):
    from dastsiam.models.registry import load_model
    from dastsiam.training import validation
    from dastsiam.training.trainer import Trainer

    scripted = iter([0.30, 0.50, 0.45, 0.50, 0.90])  # best at step 2; steps 3 and 4 are no better
    weights_at = {}

    def fake_validate(model, model_config, vset):
        assert [seq.name for _, seq in vset.sequences] == ["Couple"] and len(vset.sequences[0][1]) == 6
        return validation.ValidationResult(next(scripted), {"otb/Couple": 0.0}, 6, 0.0)

    def remember(trainer, step, values):
        weights_at[step] = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    monkeypatch.setattr(validation, "validate_model", fake_validate)
    cfg = smoke(shared_data, tmp_path, validation__data=otb(shared_data, "Couple"), validation__every=1,
                validation__patience=2, validation__max_frames=6, optim__epochs=10)
    result = Trainer(cfg, on_step=remember).fit()
    assert result.early_stopped and not result.interrupted and result.global_step == 4
    assert result.best_auc == pytest.approx(0.5) and result.best == tmp_path / "best.safetensors"
    model, model_cfg = load_model(tmp_path / "best.safetensors")
    assert model_cfg == cfg.model
    assert all(torch.equal(v, weights_at[2][k]) for k, v in model.state_dict().items())
    from safetensors import safe_open

    with safe_open(str(tmp_path / "best.safetensors"), "pt") as f:
        meta = f.metadata()
    assert meta["global_step"] == "2" and float(meta["val_auc"]) == pytest.approx(0.5)
    import yaml

    from dastsiam.config import from_dict
    from dastsiam.training.config import TrainConfig

    assert from_dict(TrainConfig, yaml.safe_load(meta["dastsiam_train_config"])) == cfg  # the resolved config
    # the exported final model and the checkpoint exist; the checkpoint remembers the validation state
    assert (tmp_path / "model.safetensors").is_file()
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    assert state["validation"]["best_step"] == 2 and state["validation"]["bad_validations"] == 2


def test_validation_tracks_real_sequences_and_logs_to_tensorboard(shared_data, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from dastsiam.training.trainer import Trainer

    cfg = smoke(shared_data, tmp_path, validation__data=otb(shared_data, "Couple", "Crossing"),
                validation__every=1, validation__max_frames=15, runtime__max_steps=1, runtime__tensorboard=True)
    trainer = Trainer(cfg)
    result = trainer.fit()
    assert trainer.model.training  # validation ran on a copy; the training model is untouched
    assert 0.3 < result.best_auc <= 1.0  # NanoTrack's weights follow these targets for 15 frames
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    logged = {s.step: s.value for s in events.Scalars("val/auc")}
    assert logged == {1: pytest.approx(result.best_auc)}
    assert {"val/auc/otb/Couple", "val/auc/otb/Crossing"} <= set(events.Tags()["scalars"])


def test_checkpoint_every_n_steps(shared_data, tmp_path):
    from dastsiam.training.trainer import Trainer

    seen = {}

    def look(trainer, step, values):
        path = tmp_path / "last.pt"
        seen[step] = torch.load(path, weights_only=True)["global_step"] if path.exists() else None

    cfg = smoke(shared_data, tmp_path, runtime__checkpoint_every=2, optim__samples_per_epoch=10,
                runtime__max_steps=5, optim__epochs=1)
    Trainer(cfg, on_step=look).fit()
    assert seen == {1: None, 2: None, 3: 2, 4: 2, 5: 4}  # mid-epoch (5 steps per epoch), every 2 steps


def test_bad_validation_config_is_one_line_error(shared_data, tmp_path, capsys):
    from dastsiam.cli.main import main

    assert main(["train", str(SMOKE), "--out-dir", str(tmp_path), "--set", "validation.every=5"]) == 2
    assert "validation.data" in capsys.readouterr().err
    code = main(["train", str(SMOKE), "--data", str(shared_data / "train"),
                 "--out-dir", str(tmp_path), "--set", "validation.every=5",
                 "--set", f"validation.data=[{{kind: otb, root: {tmp_path / 'nowhere'}}}]"])
    err = capsys.readouterr().err
    assert code == 2 and "validation.data[0]" in err and "nowhere" in err and len(err.strip().splitlines()) == 1


def test_sigterm_through_the_cli_checkpoints_and_resumes_exactly(shared_data, tmp_path):
    """``dastsiam train`` gets SIGTERM mid-epoch: it finishes the step, writes last.pt and exits 143; --resume
    then ends exactly where an uninterrupted run of the same length ends."""
    from dastsiam.training.trainer import Trainer

    out = tmp_path / "cli"
    data = shared_data / "train"
    # ST + DA: their dropout draws from torch's global RNG, which the checkpoint must restore exactly
    modules = {"model.st.enabled": True, "model.da.enabled": True, "model.st.dim": 32, "model.da.dim": 32,
               "model.st.heads": 2, "model.da.heads": 2, "model.st.ffn_dim": 64, "model.da.ffn_dim": 64}
    common = ["--data", str(data), "--set", "runtime.tensorboard=false", "--set", "optim.samples_per_epoch=400",
              "--set", "optim.epochs=1", "--set", "sampling.reseed_each_epoch=true"]
    for key, value in modules.items():
        common += ["--set", f"{key}={str(value).lower()}"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "dastsiam.cli.main", "train", str(SMOKE), "--out-dir", str(out),
                             "--set", "runtime.checkpoint_every=1", *common],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 120
        while not (out / "last.pt").exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, stderr
    assert "SIGTERM" in stdout and "--resume" in stdout, stdout
    stopped = torch.load(out / "last.pt", weights_only=True)["global_step"]
    assert 1 <= stopped < 200

    # resume (in process) for two more steps, and compare with a run that was never interrupted
    target = stopped + 2
    resumed_cfg = smoke(shared_data, out, optim__samples_per_epoch=400, optim__epochs=1,
                        sampling__reseed_each_epoch=True, runtime__max_steps=target, runtime__checkpoint_every=1,
                        **{key.replace(".", "__"): value for key, value in modules.items()})
    resumed = Trainer(resumed_cfg, resume=True)
    assert resumed.global_step == stopped
    resumed.fit()
    reference = Trainer(dataclasses.replace(resumed_cfg, runtime=dataclasses.replace(
        resumed_cfg.runtime, out_dir=tmp_path / "reference")))
    reference.fit()
    assert resumed.global_step == reference.global_step == target
    for key, value in reference.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[key], value), key


def test_validation_from_the_command_line(shared_data, tmp_path, capsys):
    from dastsiam.cli.main import main

    out = tmp_path / "cli"
    code = main(["train", str(SMOKE), "--data", str(shared_data / "train"),
                 "--out-dir", str(out), "--set", "runtime.tensorboard=false", "--set", "runtime.max_steps=1",
                 "--val", f"otb={shared_data / 'OTB'}:Couple,Crossing", "--val-every", "1",
                 "--set", "validation.max_frames=5"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "best validation AUC" in captured.out and (out / "best.safetensors").is_file()
    saved = load_train_config(out / "config.yaml").validation
    assert saved.every == 1 and saved.data == otb(shared_data, "Couple", "Crossing")
    assert main(["train", str(SMOKE), "--val", "otb"]) == 2
    assert "--val 'otb'" in capsys.readouterr().err
