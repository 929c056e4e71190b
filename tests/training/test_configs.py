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
    assert {d.kind for d in cfg.data} == {"lasot", "imagenet_vid"}  # Sec. 3.1 (GOT-10k is only an option)
    assert cfg.sampling.time_order  # T_i, then T_a / T_c, then the search frame
    noise = cfg.augmentation.noisy_template  # image noise on T_a / T_c, not only box jitter
    assert noise.blur > 0 and noise.noise > 0 and noise.colour > 0 and cfg.augmentation.template.noise == 0
    # paper silent; pysot's: weight decay 1e-4, gradient norm clipped at 10, backbone lr x 0.1 from layer2 up
    assert (o.weight_decay, o.grad_clip, o.backbone_lr_scale) == (0.0001, 10.0, 0.1)
    assert o.frozen == ["backbone.conv1", "backbone.bn1", "backbone.layer1"]


def without(cfg, *keys):
    from dastsiam.config import to_dict

    d = to_dict(cfg)
    for key in keys + ("name",):
        d.pop(key)
    d["runtime"].pop("out_dir")
    return d


def test_ablations_change_one_thing():
    # Table 3: the bare modified SiamRPN (no ST, no DA) with IoU vs centre-distance labels, nothing else different
    iou, base = load("ablation_iou_labels"), load("ablation_baseline")
    assert iou.labels.rule == "iou" and base.labels.rule == "centre"
    assert not iou.model.st.enabled and not iou.model.da.enabled and iou.model == base.model
    assert without(iou, "labels") == without(base, "labels")
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


@pytest.mark.parametrize("name", ["dastsiam_r50", "ablation_baseline", "ablation_iou_labels", "ablation_st",
                                  "ablation_da", "siamfc", "siamfc_st"])
def test_one_frame_window_and_the_papers_data_for_every_ablation(name):
    cfg = load(name)
    assert cfg.sampling.window == 50 and cfg.sampling.pair_gap is None  # pairs are drawn within the window too
    assert cfg.sampling.time_order
    assert {d.kind for d in cfg.data} == {"lasot", "imagenet_vid"}
