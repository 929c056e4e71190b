"""benchmarks/validate.py: model specs, tracker overrides and the table (the tracking itself is dastsiam run's)."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "validate.py"


@pytest.fixture(scope="module")
def validate():
    spec = importlib.util.spec_from_file_location("validate_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_arm_specs(validate):
    arm = validate.parse_arm("gate-off=runs/x/best.safetensors+update_threshold=-1+swap_rb=false")
    assert (arm.label, arm.model) == ("gate-off", "runs/x/best.safetensors")
    assert arm.overrides == {"update_threshold": -1, "swap_rb": False}
    plain = validate.parse_arm("nano")
    assert (plain.label, plain.model, plain.overrides) == ("nano", "nano", {})
    assert validate.parse_arm("runs/a/best.safetensors").label == "best"
    assert validate.parse_arm("nano+lr=0.3").label == "nano+lr=0.3"
    assert validate.parse_arm("nano+search_ratio=none").overrides == {"search_ratio": None}


def test_overrides_reach_the_tracker_config(validate):
    tracker = validate.build_tracker("nano", "torch", (("update_threshold", -1.0), ("swap_rb", False)))
    assert tracker.config.update_threshold == -1.0 and tracker.config.swap_rb is False
    with pytest.raises(TypeError):
        validate.build_tracker("nano", "torch", (("no_such_field", 1),))


def test_mean_is_over_sequences_and_table_lists_them(validate):
    scores = {"Couple": {"auc": 0.5, "precision": 1.0}, "bag": {"auc": 0.7, "precision": 0.5}}
    table = {"a": validate.with_mean(scores)}
    assert table["a"]["mean"] == pytest.approx({"auc": 0.6, "precision": 0.75})
    text = validate.format_table(table)
    assert "0.600 / 0.750" in text and "Surfer" in text and "-" in text  # unscored sequence shown as '-'


def test_pool_is_every_non_training_sequence(validate):
    pool = validate.SUITE_CHOICES["pool"]
    names = [n for _, _, ns in pool for n in ns]
    assert len(names) == len(set(names)) == 12
    roots = {root for _, root, _ in pool}
    assert roots == {"OTB", "VOT/bag", "UAV123_10fps", "val_extra/OTB", "train_extra/UAV123_10fps_half"}
    assert not any(root.split("/")[0] in ("train", "train_images", "train_coco") for root in roots)


def test_unseen_is_the_pool_minus_what_early_stopping_validates_on(validate):
    """A fine-tune's checkpoint is chosen on its config's validation.data; the unseen suite is what is left."""
    from dastsiam.training.config import load_train_config

    names = lambda suite: {n for _, _, ns in validate.SUITE_CHOICES[suite] for n in ns}  # noqa: E731
    for config in ("fear_ft_st_da", "nano_ft"):
        cfg = load_train_config(validate.ROOT / "configs" / f"{config}.yaml")
        validated = {n for source in cfg.validation.data for n in source.names}
        assert validated == names("val")
    assert names("unseen") == names("pool") - names("val") == {"Woman", "building4", "person12_1", "truck4_1",
                                                               "truck4_2"}


def test_score_only_compare_and_clear(validate, shared_data, tmp_path, capsys):
    """Result files written elsewhere (a sweep) are scored with dastsiam eval and compared paired."""
    import json

    import numpy as np

    from dastsiam.datasets import load_dataset
    from dastsiam.evaluation.results import write_otb_result, write_protocol_result

    results = tmp_path / "r"
    (kind, root, names), = validate.SUITE_CHOICES["extra"]
    for seq in load_dataset(kind, shared_data / root, names=names):
        write_otb_result(results / kind, "exact", seq.name, seq.ground_truth, dataset=kind)
        off = seq.ground_truth + [0.3 * seq.ground_truth[0, 2], 0, 0, 0]  # a tenth-IoU-ish miss on every frame
        write_otb_result(results / kind, "off", seq.name, off, dataset=kind)
        write_protocol_result(results / kind, "off", "sre", seq.name, "left", off, dataset=kind)
    out = tmp_path / "v.json"
    assert validate.main(["exact", "off", "--suite", "extra", "--score-only", "--results", str(results),
                          "--data", str(shared_data), "--compare", "exact", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["off"]["mean"]["auc"] < data["exact"]["mean"]["auc"]
    cmp = data["compare"]["off"]
    assert cmp["base"] == "exact" and cmp["sequences"] == 4 and cmp["success_auc"]["mean"] < 0
    assert cmp["success_auc"]["high"] < 0 and cmp["verdict"] == "worse"  # worse on every sequence
    assert "Paired comparison against exact" in capsys.readouterr().out
    validate.SUITES = validate.SUITE_CHOICES["extra"]
    validate.clear_results(results, "off", "ope")  # OPE files go, the SRE runs stay
    assert not (results / kind / "off" / "truck4_1.txt").exists()
    assert (results / kind / "off" / "sre" / "truck4_1" / "truck4_1_left.txt").exists()
    validate.SUITES = validate.SUITE_CHOICES["val"]


def test_gate_rate_counts_the_frames_the_template_was_updated_on(shared_data, capsys):
    """benchmarks/gate_rate.py: a threshold nothing passes updates on no frame, one everything passes on all."""
    spec = importlib.util.spec_from_file_location("gate_rate_script", SCRIPT.parent / "gate_rate.py")
    gate_rate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gate_rate)
    assert gate_rate.main(["closed=dastsiam-fear+update_threshold=2.5", "open=dastsiam-fear+update_threshold=-1",
                           "--suite", "extra", "--max-frames", "4", "--data", str(shared_data)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("closed: gate open on 0 of 12 frames (0.000); building4 0/3")
    assert out[1].startswith("open: gate open on 12 of 12 frames (1.000); building4 3/3")
