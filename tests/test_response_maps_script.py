"""scripts/response_maps.py (the paper's Fig. 8): two models' classification response maps on the same search
crop of a real frame, written as an image."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def load_script():
    spec = importlib.util.spec_from_file_location("response_maps", REPO / "scripts" / "response_maps.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["response_maps"] = module
    spec.loader.exec_module(module)
    return module


def test_writes_the_figure_with_each_models_own_map(shared_data, tmp_path, capsys):
    import cv2

    script = load_script()
    out = tmp_path / "fig8.png"
    code = script.main(["--dataset", "otb", "--root", str(shared_data / "OTB"), "--sequence", "Crossing",
                        "--frames", "4", "--models", "NanoTrack=nano", "trained=dastsiam-nano", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 3 * 200  # frame + 2 maps in a row

    from dastsiam.datasets import load_dataset

    seq = load_dataset("otb", shared_data / "OTB", names=["Crossing"])[0]
    nano, trained = (script.model_panels(label, spec, seq.frames, seq.ground_truth, [4], "track")[0]
                     for label, spec in (("a", "nano"), ("b", "dastsiam-nano")))
    assert np.array_equal(nano.crop, trained.crop)  # the same search crop for both models
    assert nano.response.shape == nano.points[0].shape == (16, 16) and 0 <= nano.response.min() and nano.response.max() <= 1
    assert not np.allclose(nano.response, trained.response)  # each model's own map
    # the crop is cut around the ground truth: the box is centred and both maps peak near it
    cx, cy = nano.box[0] + nano.box[2] / 2, nano.box[1] + nano.box[3] / 2
    assert abs(cx - nano.crop.shape[1] / 2) < 1 and abs(cy - nano.crop.shape[0] / 2) < 1
    for panel in (nano, trained):
        xs, ys = panel.points
        i, j = np.unravel_index(int(np.argmax(panel.response)), panel.response.shape)
        assert np.hypot(xs[i, j] - cx, ys[i, j] - cy) <= 2 * 16


def test_a_frame_without_ground_truth_is_one_error_line(shared_data, tmp_path, capsys):
    script = load_script()
    code = script.main(["--dataset", "otb", "--root", str(shared_data / "OTB"), "--sequence", "Crossing",
                        "--frames", "9999", "--models", "nano", "nano", "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("response_maps: error: Crossing: frames [9999]") and len(err.splitlines()) == 1
    assert not (tmp_path / "x.png").exists()
