"""OTB's SRE and TRE protocols against hand-computed start frames, perturbed boxes and pooling (the toolkit's
splitSeqTRE.m, shiftInitBB.m and genPerfMat.m, see docs/evaluation.md)."""

import json

import numpy as np
import pytest

from dastsiam.cli.main import main
from dastsiam.errors import InputError
from dastsiam.evaluation import Conventions
from dastsiam.evaluation.protocols import SRE_SHIFTS, matlab_round, plan_runs, shift_init_box, tre_start_frames
from dastsiam.evaluation.report import GroundTruth, score_results
from dastsiam.evaluation.results import protocol_result_path, write_protocol_result
from dastsiam.evaluation.runner import run_protocol


def test_matlab_rounding_goes_away_from_zero():
    assert list(matlab_round([0.5, 1.5, 2.5, -0.5, -1.5, 6.5])) == [1, 2, 3, -1, -2, 7]


def test_sre_boxes_by_hand():
    # box x=10, y=20, w=30, h=40 (1-based); 10 % = 3 px across, 4 px down
    box = [10, 20, 30, 40]
    expected = {
        "left": [7, 20, 30, 40], "right": [13, 20, 30, 40], "up": [10, 16, 30, 40], "down": [10, 24, 30, 40],
        # a corner moves outwards, the opposite corner (x+w-1, y+h-1) = (39, 59) stays
        "topLeft": [7, 16, 33, 44], "topRight": [10, 16, 33, 44],
        "bottomLeft": [7, 20, 33, 44], "bottomRight": [10, 20, 33, 44],
        # about the centre (x + w/2, y + h/2) = (25, 40): 0.9 -> 27 x 36 at (11.5 -> 12, 22)
        "scale_8": [13, 24, 24, 32], "scale_9": [12, 22, 27, 36], "scale_11": [9, 18, 33, 44],
        "scale_12": [7, 16, 36, 48],
    }
    assert list(expected) == list(SRE_SHIFTS)  # the toolkit's order
    for shift, want in expected.items():
        assert list(shift_init_box(box, shift, (100, 100))) == want, shift


def test_sre_shift_uses_ceil_and_matlab_round():
    # w = 25: centre shifts move ceil(2.5) = 3 px; a corner moves to round(9 - 2.5) = round(6.5) = 7 (MATLAB)
    assert list(shift_init_box([9, 20, 25, 35], "left", (100, 100))) == [6, 20, 25, 35]
    assert list(shift_init_box([9, 20, 25, 35], "topLeft", (100, 100))) == [7, 17, 27, 38]


def test_sre_box_is_clipped_to_the_image():
    assert list(shift_init_box([2, 3, 30, 40], "left", (100, 100))) == [1, 3, 30, 40]
    assert list(shift_init_box([80, 20, 30, 40], "right", (100, 100))) == [83, 20, 18, 40]  # right edge at 100
    assert list(shift_init_box([10, 70, 30, 30], "down", (100, 100))) == [10, 73, 30, 28]


def test_tre_start_frames_by_hand():
    gt = np.tile([10.0, 10.0, 20.0, 20.0], (100, 1))
    # endSegIdx = 81 (frames 81..100 are the last 20); floor(1 : 81/19 : 81) and 81
    starts = [s + 1 for s in tre_start_frames(gt)]
    assert starts == [1, 5, 9, 13, 18, 22, 26, 30, 35, 39, 43, 47, 52, 56, 60, 64, 69, 73, 77, 81]


def test_tre_skips_invalid_and_omitted_start_frames():
    gt = np.tile([10.0, 10.0, 20.0, 20.0], (100, 1))
    gt[:3, 2] = 0  # frames 1-3: invalid ground truth, no run may start there
    starts = [s + 1 for s in tre_start_frames(gt)]
    assert starts[0] == 4 and starts[-1] == 81 and len(starts) == 20
    # positions floor(1 : 78/19 : 78) among the 97 valid frames 4..100
    assert starts == [4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 45, 49, 53, 57, 61, 65, 69, 73, 77, 81]
    gt[50, 0] = np.nan
    assert 51 not in [s + 1 for s in tre_start_frames(gt)]
    omitted = [s + 1 for s in tre_start_frames(np.tile([10.0, 10.0, 20.0, 20.0], (100, 1)), omit=[(1, 10)])]
    assert omitted[0] == 11 and min(omitted) == 11


def test_tre_short_sequences_as_the_toolkit():
    gt = np.tile([10.0, 10.0, 20.0, 20.0], (30, 1))
    # endSegIdx = 11: floor(1 : 11/19 : 11) has 18 values (repeats), then 11: 19 runs
    starts = [s + 1 for s in tre_start_frames(gt)]
    assert starts == [1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 7, 7, 8, 9, 9, 10, 10, 11]
    assert tre_start_frames(gt[:12]) == [0]  # shorter than 20 frames: one run (the toolkit errors)
    with pytest.raises(InputError):
        tre_start_frames(np.zeros((30, 4)))


def test_plan_runs_work_in_zero_based_pixels():
    gt = np.tile([9.0, 19.0, 30.0, 40.0], (50, 1))  # 0-based: the 1-based box (10, 20, 30, 40)
    sre = plan_runs("sre", gt, image_size=(100, 100))
    assert [r.run_id for r in sre] == list(SRE_SHIFTS)
    assert all(r.start == 0 for r in sre)
    assert sre[0].init_box == (6.0, 19.0, 30.0, 40.0)  # left: 1-based 7 -> 0-based 6
    assert sre[8].init_box == (12.0, 23.0, 24.0, 32.0)  # scale_8
    tre = plan_runs("tre", gt)
    assert tre[0].run_id == "f00001" and tre[-1].run_id == "f00031" and len(tre) == 20
    assert plan_runs("ope", gt)[0].start == 0
    with pytest.raises(InputError):
        plan_runs("sre", gt)  # the image size is needed for clipping


def _scored(tmp_path, protocol, runs, n=40):
    """Write ``runs`` (run id -> 1-based boxes from the run's start) for one 40-frame sequence and score them."""
    box = np.array([11.0, 11.0, 20.0, 20.0])
    gt = GroundTruth("Seq", np.tile(box, (n, 1)))
    for run_id, boxes in runs.items():
        write_protocol_result(tmp_path, "T", protocol, "Seq", run_id, np.asarray(boxes) - [1, 1, 0, 0])
    return score_results([gt], [tmp_path], Conventions(), "otb", protocol=protocol)


def test_tre_pools_runs_by_frames_as_the_toolkit(tmp_path):
    box = np.array([11.0, 11.0, 20.0, 20.0])
    away = np.array([200.0, 200.0, 20.0, 20.0])
    n = 40
    starts = [s + 1 for s in tre_start_frames(np.tile(box, (n, 1)))]
    assert starts == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]
    # the run from frame 1 is perfect; every other run is lost after its first frame (set to the ground truth)
    runs = {f"f{s:05d}": np.vstack([box] + [box if s == 1 else away] * (n - s)) for s in starts}
    report = _scored(tmp_path, "tre", runs)
    t = report.trackers["T"]
    # success counts pooled over all runs' frames: (40 + 19 first frames) of 600 frames pass 20 of 21 thresholds
    assert sum(n - s + 1 for s in starts) == 600
    assert t.summary["success_auc"] == pytest.approx(20 / 21 * 59 / 600)
    assert t.summary["frames"] == 600
    runs_auc = [sc.success_auc for _, sc in t.runs["Seq"]]
    assert runs_auc[0] == pytest.approx(20 / 21)
    assert runs_auc[1] == pytest.approx(20 / 21 / 39)
    assert np.mean(runs_auc) != pytest.approx(t.summary["success_auc"])  # not the mean of the runs


def test_sre_pools_and_reports_the_spread(tmp_path):
    box = np.array([11.0, 11.0, 20.0, 20.0])
    away = np.array([200.0, 200.0, 20.0, 20.0])
    runs = {s: np.vstack([box] + [box if s == "left" else away] * 39) for s in SRE_SHIFTS}
    report = _scored(tmp_path, "sre", runs)
    t = report.trackers["T"]
    assert t.summary["success_auc"] == pytest.approx(20 / 21 * (40 + 11) / 480)
    slots = np.array([20 / 21] + [20 / 21 / 40] * 11)
    assert t.summary["run_auc_std"] == pytest.approx(np.std(slots))
    assert t.summary["run_auc_max"] == pytest.approx(20 / 21)
    assert t.summary["run_auc_min"] == pytest.approx(20 / 21 / 40)
    assert t.complete


def test_missing_runs_count_as_failures_and_mark_the_tracker_incomplete(tmp_path):
    box = np.array([11.0, 11.0, 20.0, 20.0])
    runs = {s: np.tile(box, (40, 1)) for s in SRE_SHIFTS[:6]}
    report = _scored(tmp_path, "sre", runs)
    t = report.trackers["T"]
    assert not t.complete and t.missing == ["Seq"]
    # 6 perfect runs, 6 absent ones: 240 of 480 frames pass
    assert t.summary["success_auc"] == pytest.approx(20 / 21 * 240 / 480)
    assert any("6 of 12 SRE runs" in w for w in report.warnings)


class _StillTracker:
    """Reports its initial box on every frame (so the result file shows the box it was given)."""

    def init(self, frame, box):
        self.box = np.asarray(box, dtype=float)
        self.shape = frame.shape

    def track(self, frame):
        assert frame.shape == self.shape
        return self.box.copy(), 1.0


def test_run_protocol_writes_resumable_run_files(shared_data, tmp_path):
    from dastsiam.datasets import load_dataset

    seq = load_dataset("otb", shared_data / "OTB", names=["Football1"])[0]
    written = run_protocol(_StillTracker(), [seq], tmp_path, "still", "sre")
    assert len(written) == 12
    left = np.loadtxt(protocol_result_path(tmp_path, "still", "sre", "Football1", "left"), delimiter=",")
    assert left.shape == (74, 4)
    gt1 = np.loadtxt(shared_data / "OTB" / "Football1" / "groundtruth_rect.txt", delimiter=",")[0]
    want = shift_init_box(gt1, "left", (624, 352))
    assert np.allclose(left[0], want) and np.allclose(left[-1], want)  # 1-based like the annotation
    assert run_protocol(_StillTracker(), [seq], tmp_path, "still", "sre") == []  # resumed: nothing left
    tre = run_protocol(_StillTracker(), [seq], tmp_path, "still", "tre")
    assert len(tre) == 20
    last = tre[-1]
    assert last.name == "Football1_f00055.txt" and len(np.loadtxt(last, delimiter=",")) == 20


def test_cli_sre_run_and_eval_on_a_vot_sequence_one_pass(shared_data, tmp_path, capsys):
    """VOT sequences one-pass (their polygons' envelope), the real tracker, 2 shards, scored with --compare."""
    results = tmp_path / "r"
    common = ["--dataset", "vot2018", "--root", str(shared_data / "VOT"), "--sequences", "bag"]
    for k in (1, 2):  # one sequence: shard 2/2 is empty
        assert main(["run", *common, "--results", str(results), "--name", "nano", "--protocol", "tre",
                     "--shard", f"{k}/2"]) == 0
    files = sorted((results / "nano" / "tre" / "bag").glob("bag_f*[0-9].txt"))
    assert len(files) == 20
    # a second "tracker": the same files with one run replaced by a lost track
    import shutil

    shutil.copytree(results / "nano", results / "lost")
    lost = results / "lost" / "tre" / "bag" / files[0].name
    rows = np.loadtxt(lost, delimiter=",")
    rows[1:] = [900, 900, 10, 10]
    np.savetxt(lost, rows, delimiter=",")
    out = tmp_path / "s.json"
    assert main(["eval", *common, "--results", str(results), "--protocol", "tre", "--compare", "nano",
                 "--json", str(out), "--per-sequence", "--bootstrap", "500"]) == 0
    text = capsys.readouterr().out
    assert "TRE" in text and "Paired comparison against nano" in text
    data = json.loads(out.read_text())
    assert data["nano"]["success_auc"] > 0.5
    assert data["lost"]["success_auc"] < data["nano"]["success_auc"]
    cmp = data["lost"]["compare"]
    assert cmp["base"] == "nano" and cmp["sequences"] == 1 and cmp["runs_per_sequence"] == 20
    assert cmp["success_auc"]["mean"] < 0 and cmp["verdict"] == "cannot tell"  # one sequence decides nothing
    assert len(data["nano"]["per_sequence"]["bag"]["runs"]) == 20
