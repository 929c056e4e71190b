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
