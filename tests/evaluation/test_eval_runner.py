"""Runners on small synthetic videos: OPE result layout and convention round trip, resume, parallel workers,
VOT's reset protocol and GOT-10k packing."""

from __future__ import annotations

import functools
import zipfile

import cv2
import numpy as np
import pytest

from dastsiam.errors import InputError
from dastsiam.evaluation import results as R
from dastsiam.evaluation.conventions import preset
from dastsiam.evaluation.report import ground_truth_from_sequences, score_results
from dastsiam.evaluation.runner import pack_got10k_submission, run_ope, run_vot, run_vot_baseline
from dastsiam.sequence import Sequence


def synthetic_sequence(folder, n=6, dataset="otb", name="blob"):
    """A white 12x10 square moving 3 px per frame on black 64x48 frames; ground truth is exact."""
    folder.mkdir(parents=True, exist_ok=True)
    frames, boxes = [], []
    for i in range(n):
        image = np.zeros((48, 64, 3), np.uint8)
        x, y = 5 + 3 * i, 10
        image[y : y + 10, x : x + 12] = 255
        path = folder / f"{i + 1:04d}.jpg"
        cv2.imwrite(str(path), image)
        frames.append(path)
        boxes.append([x, y, 12, 10])
    return Sequence(name, frames, np.array(boxes, float), dataset=dataset)


class CentroidTracker:
    """Finds the bright blob: a deterministic tracker that reads the frame it is given."""

    def __init__(self):
        self.calls = 0

    def init(self, frame, box):
        assert frame.dtype == np.uint8 and frame.ndim == 3
        self.calls += 1

    def track(self, frame):
        self.calls += 1
        ys, xs = np.nonzero(frame[..., 0] > 128)
        return np.array([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1], float), 1.0


class LostTracker(CentroidTracker):
    """Loses the target on the given frame numbers (0-based), reporting a box far away."""

    def __init__(self, lost_on=()):
        super().__init__()
        self.frame = 0
        self.lost_on = set(lost_on)

    def init(self, frame, box):
        super().init(frame, box)

    def track(self, frame):
        box, score = super().track(frame)
        return (np.array([50.0, 40.0, 5.0, 5.0]) if self.calls - 1 in self.lost_on else box), score


def test_ope_writes_native_convention_and_resumes(tmp_path):
    seq = synthetic_sequence(tmp_path / "frames")
    tracker = CentroidTracker()
    written = run_ope(tracker, [seq], tmp_path / "results", "Blob")
    assert written == [tmp_path / "results" / "Blob" / "blob.txt"]
    rows = np.loadtxt(written[0], delimiter=",")
    # OTB is 1-based: the file holds ground truth + 1 in x and y, directly comparable with the benchmark's file
    np.testing.assert_allclose(rows, seq.ground_truth + [1, 1, 0, 0])
    assert len(R.read_times(tmp_path / "results" / "Blob" / "times" / "blob_time.txt")) == len(seq)
    # scoring against the dataset's own (1-based) convention: perfect
    report = score_results(ground_truth_from_sequences([seq], "otb"), [tmp_path / "results"], preset("otb"))
    assert report.trackers["Blob"].summary["ao"] == 1.0 and not report.warnings.messages
    assert report.trackers["Blob"].summary["fps"] > 0
    calls = tracker.calls
    assert run_ope(tracker, [seq], tmp_path / "results", "Blob") == []  # finished: skipped
    assert tracker.calls == calls


def test_parallel_workers_with_a_factory_and_got10k_layout(tmp_path):
    seqs = [synthetic_sequence(tmp_path / f"f{i}", n=4, name=f"s{i}", dataset="got10k") for i in range(3)]
    written = run_ope(functools.partial(CentroidTracker), seqs, tmp_path / "res", "Blob", layout="got10k",
                      repetitions=2, workers=2)
    assert len(written) == 6
    for s in seqs:
        assert (tmp_path / "res" / "Blob" / s.name / f"{s.name}_002.txt").is_file()
        times = np.loadtxt(tmp_path / "res" / "Blob" / s.name / f"{s.name}_time.txt", delimiter=",")
        assert times.shape == (4, 2)
    archive = pack_got10k_submission(tmp_path / "res", "Blob", seqs, tmp_path / "Blob.zip")
    names = set(zipfile.ZipFile(archive).namelist())
    assert {"s0/s0_001.txt", "s0/s0_002.txt", "s0/s0_time.txt"} <= names
    with pytest.raises(InputError, match="s9_001.txt: missing"):
        pack_got10k_submission(tmp_path / "res", "Blob", ["s9"], tmp_path / "x.zip")


def test_unreadable_frame_names_the_file_and_keeps_other_sequences(tmp_path):
    good = synthetic_sequence(tmp_path / "good", n=3, name="good")
    bad = synthetic_sequence(tmp_path / "bad", n=3, name="bad")
    bad.frames[1].write_bytes(b"not a jpeg")
    with pytest.raises(InputError, match=r"bad/0002.jpg: frame missing or unreadable"):
        run_ope(CentroidTracker(), [bad, good], tmp_path / "res", "T")
    assert (tmp_path / "res" / "T" / "good.txt").is_file()
    assert not (tmp_path / "res" / "T" / "bad.txt").exists()


def test_vot_reset_protocol(tmp_path):
    seq = synthetic_sequence(tmp_path / "v", n=12, dataset="vot2018", name="v")
    trajectory, times = run_vot_baseline(LostTracker(lost_on={3}), seq)
    # frame 3 fails -> frames 4..7 skipped, re-initialised on frame 8 (5 frames after the failure)
    flags = [t if isinstance(t, int) else "box" for t in trajectory]
    assert flags == [1, "box", "box", 2, 0, 0, 0, 0, 1, "box", "box", "box"]
    run_vot(functools.partial(LostTracker, lost_on={3}), [seq], tmp_path / "res", "L")
    path = R.vot_result_path(tmp_path / "res", "L", "v")
    assert R.read_vot_result(path)[3] == 2 and R.read_vot_result(path)[8] == 1


def test_vot_results_scored_by_the_cli(tmp_path):
    import json

    from dastsiam.cli.main import main
    from dastsiam.datasets import load_vot2018

    seq = synthetic_sequence(tmp_path / "vot" / "v", n=12, dataset="vot2018", name="v")
    np.savetxt(tmp_path / "vot" / "v" / "groundtruth.txt", seq.ground_truth, delimiter=",")
    for i, frame in enumerate(seq.frames):  # VOT names frames 00000001.jpg
        frame.rename(frame.with_name(f"{i + 1:08d}.jpg"))
    (tmp_path / "vot" / "list.txt").write_text("v\n")
    sequences = load_vot2018(tmp_path / "vot")
    run_vot(functools.partial(LostTracker, lost_on={3}), sequences, tmp_path / "res", "Lost")
    run_vot(CentroidTracker, sequences, tmp_path / "res", "Exact")
    out = tmp_path / "vot.json"
    assert main(["eval", "--dataset", "vot2018", "--root", str(tmp_path / "vot"), "--results", str(tmp_path / "res"),
                 "--json", str(out), "--vot-burn-in", "0"]) == 0
    scores = json.loads(out.read_text())
    assert scores["Exact"]["failures"] == 0 and scores["Exact"]["accuracy"] == pytest.approx(1.0)
    assert scores["Lost"]["failures"] == 1
    assert scores["Lost"]["robustness"] == pytest.approx(100 / 12)


def test_pack_got10k_cli_zips_one_trackers_test_split_results(tmp_path, capsys):
    """``dastsiam run`` on a GOT-10k-layout test split (first box only), then ``dastsiam eval --pack-got10k``:
    the server's zip; two trackers need --trackers, a missing sequence is named, other datasets refused."""
    from dastsiam.cli.main import main

    split = tmp_path / "GOT10k" / "test"
    names = ["GOT-10k_Test_000001", "GOT-10k_Test_000002"]
    for name in names:
        synthetic_sequence(split / name, n=5, name=name)
        for i, frame in enumerate(sorted((split / name).glob("*.jpg"))):
            frame.rename(split / name / f"{i + 1:08d}.jpg")
        (split / name / "groundtruth.txt").write_text("6,11,12,10\n")  # GOT-10k test: the first box only
    (split / "list.txt").write_text("\n".join(names) + "\n")
    results = tmp_path / "results"
    for tracker in ("nano", "other"):
        assert main(["run", "--dataset", "got10k", "--root", str(tmp_path / "GOT10k"), "--split", "test",
                     "--results", str(results), "--name", tracker, "--model", "nano"]) == 0
    capsys.readouterr()
    base = ["eval", "--dataset", "got10k", "--root", str(tmp_path / "GOT10k"), "--split", "test", "--results", str(results)]
    assert main([*base, "--pack-got10k", str(tmp_path / "sub.zip")]) == 2
    assert "packs one tracker; found 2 (nano, other): choose one with --trackers" in capsys.readouterr().err
    assert main([*base, "--trackers", "nano", "--pack-got10k", str(tmp_path / "sub.zip")]) == 0
    assert "GOT-10k submission of nano: 2 sequences packed into" in capsys.readouterr().out
    members = sorted(zipfile.ZipFile(tmp_path / "sub.zip").namelist())
    assert members == sorted(f"{n}/{n}_{kind}.txt" for n in names for kind in ("001", "time"))
    rows = zipfile.ZipFile(tmp_path / "sub.zip").read(f"{names[0]}/{names[0]}_001.txt").decode().splitlines()
    assert len(rows) == 5 and rows[0] == "6.0000,11.0000,12.0000,10.0000"  # GOT-10k 1-based; frame 1 = the given box
    (results / "other" / names[1] / f"{names[1]}_001.txt").unlink()
    assert main([*base, "--trackers", "other", "--pack-got10k", str(tmp_path / "o.zip")]) == 2
    assert f"{names[1]}_001.txt: missing" in capsys.readouterr().err and not (tmp_path / "o.zip").exists()
    assert main(["eval", "--dataset", "otb", "--root", str(tmp_path), "--results", str(results),
                 "--pack-got10k", str(tmp_path / "x.zip")]) == 2
    assert "packs GOT-10k results" in capsys.readouterr().err
