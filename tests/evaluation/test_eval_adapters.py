"""Adapters for the toolkits researchers run (issue 11.2): a got10k ``Tracker`` (PIL RGB frames, 1-based
boxes), the pysot/pytracking/got10k results writer, and the pixel base of ``track --box``."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from dastsiam.cli.main import main
from dastsiam.evaluation.results import read_boxes, write_results

got10k = pytest.importorskip("got10k")
from dastsiam.evaluation.got10k_adapter import Got10kTracker, pil_to_bgr  # noqa: E402


class Recorder:
    """Stands in for a dastsiam tracker: remembers what it was given, answers a fixed 0-based box."""

    def __init__(self):
        self.frames, self.boxes = [], []

    def init(self, frame, box):
        self.frames.append(frame)
        self.boxes.append(np.array(box))

    def track(self, frame):
        self.frames.append(frame)
        return np.array([10.0, 20.0, 30.0, 40.0]), 0.9


def test_adapter_converts_pil_rgb_to_bgr_and_one_based_boxes():
    from PIL import Image

    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 7  # R, G, B
    inner = Recorder()
    tracker = Got10kTracker(tracker=inner, name="probe")
    assert isinstance(tracker, got10k.trackers.Tracker) and tracker.name == "probe" and tracker.is_deterministic
    tracker.init(Image.fromarray(rgb), [11.0, 21.0, 30.0, 40.0])  # 1-based, as got10k passes anno[0]
    np.testing.assert_array_equal(inner.boxes[0], [10.0, 20.0, 30.0, 40.0])
    assert inner.frames[0].shape == (4, 5, 3) and inner.frames[0].flags["C_CONTIGUOUS"]
    assert tuple(inner.frames[0][0, 0]) == (7, 100, 200)  # B, G, R
    np.testing.assert_array_equal(tracker.update(Image.fromarray(rgb).convert("L")), [11.0, 21.0, 30.0, 40.0])
    assert inner.frames[1].shape == (4, 5, 3)
    zero_based = Got10kTracker(tracker=Recorder(), one_based=False)
    zero_based.init(Image.fromarray(rgb), [11.0, 21.0, 30.0, 40.0])
    np.testing.assert_array_equal(zero_based.tracker.boxes[0], [11.0, 21.0, 30.0, 40.0])
    assert tuple(pil_to_bgr(rgb)[0, 0]) == (7, 100, 200)


def test_adapter_runs_in_got10k_experiment_otb_and_scores_like_dastsiam_eval(shared_data, tmp_path, monkeypatch):
    from got10k.datasets import otb as got10k_otb
    from got10k.experiments import ExperimentOTB

    from dastsiam.evaluation.got10k_adapter import offline_datasets

    def no_network(url, filename, *args, **kwargs):
        raise AssertionError(f"got10k tried to download {url}")

    monkeypatch.setattr(got10k_otb, "download", no_network)
    root = tmp_path / "otb"
    root.mkdir()
    (root / "Crossing").symlink_to(shared_data / "OTB" / "Crossing")
    tracker = Got10kTracker("nano")
    assert tracker.name == "dastsiam-nano"
    with pytest.raises(AssertionError, match="tried to download"):  # a subset: got10k fetches the other 99
        ExperimentOTB(str(root), version=2015, result_dir=str(tmp_path / "results"))
    with offline_datasets():
        experiment = ExperimentOTB(str(root), version=2015, result_dir=str(tmp_path / "results"),
                                   report_dir=str(tmp_path / "reports"))
    assert got10k_otb.OTB._download.__name__ == "_download"  # restored afterwards
    experiment.run(tracker)
    performance = experiment.report([tracker.name])[tracker.name]["overall"]
    result = tmp_path / "results" / "OTB2015" / tracker.name / "Crossing.txt"
    boxes = np.loadtxt(result, delimiter=",")
    anno = read_boxes(shared_data / "OTB" / "Crossing" / "groundtruth_rect.txt")
    assert boxes.shape == anno.shape and np.array_equal(boxes[0], anno[0])
    assert performance["success_score"] > 0.5  # the trained nano model follows the pedestrian
    out = tmp_path / "s.json"
    assert main(["eval", "--dataset", "otb", "--root", str(root), "--results", str(result.parent.parent),
                 "--json", str(out)]) == 0
    ours = json.loads(out.read_text())[tracker.name]
    assert ours["success_auc"] == pytest.approx(performance["success_score"], abs=1e-6)
    # the same tracker through dastsiam run (cv2 frames, 0-based) gives the same boxes, one pixel apart
    assert main(["run", "--dataset", "otb", "--root", str(root), "--results", str(tmp_path / "run"),
                 "--name", "nano", "--model", "nano"]) == 0
    ran = np.loadtxt(tmp_path / "run" / "nano" / "Crossing.txt", delimiter=",")
    assert np.abs(ran - boxes).max() < 1.0


@pytest.mark.parametrize("style", ["pysot", "pytracking", "got10k"])
def test_results_writer_styles_are_scored_unchanged(shared_data, tmp_path, style):
    names = ["Basketball", "Bird1", "Tiger1"]
    otb = shared_data / "OTB100"
    anno = tmp_path / "anno"
    anno.mkdir()
    for n in names:
        shutil.copy(otb / "anno" / f"{n}.txt", anno / f"{n}.txt")
        native = np.loadtxt(otb / "results" / "KCF" / f"{n}.txt", delimiter=",")
        zero_based = native - [1, 1, 0, 0]
        path = write_results(tmp_path / "res", "KCF", n, zero_based, np.full(len(native), 0.01), dataset="otb",
                             style=style, parameter="default")
        assert path.is_file()
    root = tmp_path / "res" / ("KCF" if style == "pytracking" else "")
    out = tmp_path / "s.json"
    assert main(["eval", "--dataset", "otb", "--anno", str(anno), "--results", str(root), "--json", str(out)]) == 0
    written = json.loads(out.read_text())
    (tmp_path / "orig" / "KCF").mkdir(parents=True)
    for n in names:
        shutil.copy(otb / "results" / "KCF" / f"{n}.txt", tmp_path / "orig" / "KCF" / f"{n}.txt")
    assert main(["eval", "--dataset", "otb", "--anno", str(anno), "--results", str(tmp_path / "orig"),
                 "--json", str(out)]) == 0
    original = json.loads(out.read_text())["KCF"]
    scored = written["default" if style == "pytracking" else "KCF"]
    assert scored["success_auc"] == pytest.approx(original["success_auc"], abs=1e-9)
    assert scored["complete"] and scored["fps"] == pytest.approx(100.0)


def test_track_box_file_pixel_base_is_explicit(shared_data, tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(1, 4):
        (frames / f"{i:04d}.jpg").symlink_to(shared_data / "OTB" / "Crossing" / "img" / f"{i:04d}.jpg")
    gt = shared_data / "OTB" / "Crossing" / "groundtruth_rect.txt"  # 1-based, as every OTB file
    first = read_boxes(gt)[0]
    for base, expected in ((0, first), (1, first - [1, 1, 0, 0])):
        out = tmp_path / f"out{base}"
        assert main(["track", str(frames), "--box", str(gt), "--box-base", str(base), "--out", str(out),
                     "--no-progress"]) == 0
        written = np.loadtxt(out / "boxes.txt", delimiter=",")
        np.testing.assert_allclose(written[0], expected, atol=1e-3)
    with pytest.raises(SystemExit) as exc:
        main(["track", str(frames), "--box", str(gt), "--box-base", "2", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
