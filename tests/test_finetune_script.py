"""scripts/finetune_validated.py: validation every N steps, best kept, early stop, frozen BatchNorm statistics.

Validation itself is faked here (benchmarks/validate.py has its own tests); the training is real (3-4 steps
on the shared training set).
"""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "train"


def load_script(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not DATA.is_dir(), reason="shared training data not available")
def test_early_stop_keeps_the_best_and_bn_statistics_stay_frozen(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the recipe's data roots are relative to the checkout
    script = load_script("finetune_validated_script", REPO / "scripts" / "finetune_validated.py")
    validate = importlib.import_module("validate")  # the script put benchmarks/ on the path
    aucs = iter([0.70, 0.72, 0.71, 0.69, 0.68, 0.67])
    monkeypatch.setattr(validate, "run_arm", lambda *a, **k: 0.0)

    def fake_scores(arm, results, data):
        return {"Couple": {"auc": next(aucs), "precision": 1.0}}

    monkeypatch.setattr(validate, "score_arm", fake_scores)
    # --rgb / --bn-eval patch these module functions for the process: restore them after the test
    from dastsiam.training import data as data_module
    from dastsiam.training import trainer as trainer_module

    monkeypatch.setattr(data_module, "augmented_crop", data_module.augmented_crop)
    monkeypatch.setattr(trainer_module, "set_train_mode", trainer_module.set_train_mode)
    out = tmp_path / "run"
    code = script.main(["configs/nano_ft.yaml", "--out", str(out), "--bn-eval", "--rgb", "--val-every", "1",
                        "--patience", "2", "--set", "runtime.max_steps=6", "--set", "optim.batch_size=2",
                        "--set", "model.st={enabled: false}", "--set", "model.da={enabled: false}",
                        "--set", "runtime.tensorboard=false"])
    assert code == 0
    history = json.loads((out / "validation.json").read_text())
    assert [h["step"] for h in history] == [0, 1, 2, 3]  # 0.72 at step 1, then two worse: stop
    best = out / "best.safetensors"
    assert best.read_bytes() == (out / "step_00001.safetensors").read_bytes()

    from dastsiam.models import load_model

    trained, _ = load_model(best)
    nano, _ = load_model("nano")
    t, n = trained.state_dict(), nano.state_dict()
    assert any(not torch.equal(t[k], n[k]) for k in n if k.startswith("head.cls_tower"))  # it trained
    for key in n:
        if key.endswith(("running_mean", "running_var")):
            assert torch.equal(t[key], n[key]), key  # --bn-eval: statistics untouched
