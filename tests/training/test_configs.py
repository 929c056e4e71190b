"""Every experiment YAML loads strictly, says what its name promises, and builds its model."""

from pathlib import Path

import pytest

from dastsiam.training.config import load_train_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def load(name):
    return load_train_config(CONFIGS / f"{name}.yaml")


def test_all_configs_load():
    names = sorted(p.stem for p in CONFIGS.glob("*.yaml"))
    assert {"dastsiam_r50", "ablation_iou_labels", "ablation_baseline", "ablation_st", "ablation_da", "siamfc",
            "siamfc_st", "nano_st_da", "smoke"} <= set(names)
    for name in names:
        cfg = load(name)
        assert cfg.name == name and cfg.runtime.out_dir.name == name


def test_paper_recipe():
    cfg = load("dastsiam_r50")
    assert cfg.model.arch == "r50" and cfg.model.st.enabled and cfg.model.da.enabled
    o = cfg.optim
    assert (o.lr_start, o.lr_end, o.momentum, o.epochs, o.freeze_backbone_epochs, o.batch_size) == (
        0.005, 0.0005, 0.9, 50, 10, 12)
    assert cfg.labels.rule == "centre" and cfg.sampling.mode == "triplet" and cfg.sampling.window == 50
    assert {d.kind for d in cfg.data} == {"got10k", "lasot", "imagenet_vid"}


def test_ablations_change_one_thing():
    full = load("dastsiam_r50")
    assert load("ablation_iou_labels").labels.rule == "iou"
    assert load("ablation_iou_labels").model == full.model
    st = load("ablation_st").model
    assert st.st.enabled and not st.da.enabled
    da = load("ablation_da").model
    assert da.da.enabled and not da.st.enabled
    base = load("ablation_baseline")
    assert not base.model.st.enabled and not base.model.da.enabled and base.sampling.mode == "pair"
    assert not load("siamfc").model.st.enabled and load("siamfc_st").model.st.enabled
    assert load("siamfc_st").sampling.mode == "triplet"


def test_light_model_matches_the_builtin_and_starts_from_nano_weights():
    from dastsiam.models import BUILTIN_MODELS

    cfg = load("nano_st_da")
    assert cfg.model == BUILTIN_MODELS["nano-st-da"].config
    assert cfg.init.weights == "nano"


@pytest.mark.parametrize("name", ["smoke", "siamfc_st", "nano_st_da"])
def test_config_model_builds(name):
    from dastsiam.models import build_model

    model = build_model(load(name).model)
    assert hasattr(model, "backbone") and model.geometry.score_size > 0
