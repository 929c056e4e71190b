"""TrackerConfig: presets, strict loading, model -> preset mapping, boxes.txt formatting."""

import pytest

from dastsiam.config import ConfigError, from_dict, to_dict
from dastsiam.models import BUILTIN_MODELS, ModelConfig
from dastsiam.tracking import PRESETS, TrackerConfig, preset, tracker_config_for


def test_opencv_nano_preset_mirrors_opencv_tracker_nano():
    p = PRESETS["opencv-nano"]
    assert (p.window_influence, p.penalty_k, p.lr, p.context_amount) == (0.455, 0.055, 0.37, 0.5)
    assert (p.search_ratio, p.rounding, p.swap_rb, p.grid, p.window) == (2.0, "opencv", True, "opencv", "sqrt")
    assert p.scale_penalty_reference == "position" and p.min_size == 10 and p.gate_confidence == "cls"


def test_nano_preset_is_opencv_nano_with_centred_crops():
    """Issue 8.6: the default nano preset differs from OpenCV's only in the crop placement."""
    import dataclasses

    assert PRESETS["nano"].rounding == "subpixel"
    assert dataclasses.replace(PRESETS["nano"], rounding="opencv") == PRESETS["opencv-nano"]
    # fear-xs keeps FEAR's reference integer boxes (its own rounding, docs/tracking.md "fear-xs")
    assert {PRESETS[name].rounding for name in PRESETS if name not in ("opencv-nano", "fear-xs")} == {"subpixel"}
    assert PRESETS["fear-xs"].rounding == "fear"


def test_siamfc_preset_values():
    p = PRESETS["siamfc"]
    assert (p.scale_num, p.scale_step, p.scale_penalty, p.scale_lr, p.response_upsample, p.siamfc_window_influence) \
        == (3, 1.0375, 0.9745, 0.59, 16, 0.176)


def test_preset_copies_and_rejects_bad_values():
    a = preset("nano", lr=0.5)
    assert a.lr == 0.5 and PRESETS["nano"].lr == 0.37
    with pytest.raises(ConfigError, match="unknown tracker preset"):
        preset("nope")
    with pytest.raises(ConfigError, match="window_influence"):
        TrackerConfig(window_influence=1.5)
    with pytest.raises(ConfigError, match="update_interval"):
        TrackerConfig(update_interval=0)
    with pytest.raises(ConfigError, match="scale_num"):
        TrackerConfig(scale_num=2)


def test_yaml_round_trip_is_strict():
    cfg = preset("siamrpn", update_threshold=0.7)
    assert from_dict(TrackerConfig, to_dict(cfg)) == cfg
    with pytest.raises(ConfigError):
        from_dict(TrackerConfig, {"gate_confidence": "max"})
    with pytest.raises(ConfigError):
        from_dict(TrackerConfig, {"no_such_key": 1})


def test_tracker_config_for_models():
    from dataclasses import replace

    # the published NanoTrack models: exactly OpenCV's TrackerNano
    assert tracker_config_for(ModelConfig(arch="nano", confidence="cls")) == PRESETS["nano"]
    assert tracker_config_for(BUILTIN_MODELS["nano"].config) == PRESETS["nano"]
    # nano with ST + the confidence branch: OpenCV's decoding with the paper's sum gate
    light = tracker_config_for(BUILTIN_MODELS["nano-st-da"].config)
    assert light == replace(PRESETS["nano"], gate_confidence="sum", update_threshold=1.18)
    assert tracker_config_for(BUILTIN_MODELS["nano-v3"].config) == PRESETS["nano-v3"]  # NanoTrack v3's own
    assert tracker_config_for(ModelConfig(arch="alexnet")) == PRESETS["siamfc"]
    r50 = tracker_config_for(ModelConfig(arch="r50", confidence="cls_conf"))
    assert r50 == PRESETS["siamrpn"] and (r50.gate_confidence, r50.update_threshold) == ("sum", 1.18)
    conf_only = tracker_config_for(ModelConfig(arch="r50", confidence="conf"))
    assert (conf_only.gate_confidence, conf_only.update_threshold) == ("conf", 0.59)
    cls_only = tracker_config_for(ModelConfig(arch="r50", confidence="cls"))
    assert (cls_only.gate_confidence, cls_only.update_threshold) == ("cls", 0.59)


def test_gate_weights_are_validated():
    assert TrackerConfig().gate_weights == (1.0, 1.0) and TrackerConfig().update_threshold == 1.18
    for bad in [(1.0, -0.5), (0.0, 0.0)]:
        with pytest.raises(ConfigError, match="gate_weights"):
            TrackerConfig(gate_weights=bad)
    assert from_dict(TrackerConfig, {"gate_weights": [2, 0.5]}).gate_weights == (2.0, 0.5)


def test_boxes_file_formatting():
    from dastsiam.tracking.track_io import format_box, parse_box

    assert format_box([10, 20, 30.5, 40.25]) == "10,20,30.5,40.25"
    assert format_box([1.23456, -0.0001, 3, 4]) == "1.235,0,3,4"
    assert list(parse_box("1,2.5, 3,4")) == [1, 2.5, 3, 4]
    assert list(parse_box("1 2 3 4")) == [1, 2, 3, 4]


def test_nano_v3_preset_is_nanotrack_v3s_own_configuration():
    """NanoTrack v3's configv3.yaml TRACK block and nano_tracker.py conventions (issue 8.7), not OpenCV's v2 ones."""
    v3 = PRESETS["nano-v3"]
    assert (v3.window_influence, v3.penalty_k, v3.lr, v3.context_amount) == (0.455, 0.138, 0.348, 0.5)
    assert v3.window == "outer"  # np.outer(np.hanning(15), np.hanning(15))
    assert v3.search_ratio is None  # s_x = s_z * 255 / 127, no integer division
    # v3's own code crops like pysot; every preset but opencv-nano centres its crops exactly (issue 8.6)
    assert (v3.rounding, v3.swap_rb, v3.scale_penalty_reference) == ("subpixel", False, "size")
    assert v3.grid == "opencv" and v3.min_size == 10.0  # points (j - S//2) * 16; clip to 10 px
