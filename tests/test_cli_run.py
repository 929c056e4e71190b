"""`dastsiam run` (OPE with our tracker) feeding `dastsiam eval`, on real OTB frames."""

import json

import numpy as np

from dastsiam.cli.main import main


def test_run_then_eval_on_real_otb_sequence(shared_data, tmp_path, capsys):
    results = tmp_path / "results"
    argv = ["run", "--dataset", "otb", "--root", str(shared_data / "OTB"), "--sequences", "Football1",
            "--results", str(results), "--name", "ours"]
    assert main(argv) == 0
    rows = np.loadtxt(results / "ours" / "Football1.txt", delimiter=",")
    assert rows.shape == (74, 4)  # Football1: 81 frames, 74 annotated -> 74 result rows
    first = (results / "ours" / "Football1.txt").stat().st_mtime_ns

    assert main(argv) == 0  # resumable: the finished sequence is skipped, not rewritten
    assert (results / "ours" / "Football1.txt").stat().st_mtime_ns == first

    scores = tmp_path / "scores.json"
    assert main(["eval", "--dataset", "otb", "--root", str(shared_data / "OTB"), "--results", str(results),
                 "--sequences", "Football1", "--json", str(scores)]) == 0
    ours = json.loads(scores.read_text())["ours"]
    assert ours["success_auc"] > 0.5  # the trained nano tracker follows the player


def test_run_unknown_model_is_one_line_error(shared_data, tmp_path, capsys):
    code = main(["run", "--dataset", "otb", "--root", str(shared_data / "OTB"), "--sequences", "Couple",
                 "--model", "no-such-model", "--results", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-model" in err[0]


def _custom_benchmark(shared_data, root, count=7, frames=3):
    """``count`` short custom sequences made of real OTB Couple frames (linked), each with its ground truth."""
    src = shared_data / "OTB" / "Couple"
    rows = np.loadtxt(src / "groundtruth_rect.txt")[:frames]  # tab-separated
    rows[:, :2] -= 1  # the custom format is 0-based
    for k in range(count):
        seq = root / f"seq{k:02d}"
        seq.mkdir(parents=True)
        for i in range(frames):
            (seq / f"{i + 1:04d}.jpg").symlink_to(src / "img" / f"{i + 1:04d}.jpg")
        np.savetxt(seq / "groundtruth.txt", rows, delimiter=",")
    return [f"seq{k:02d}" for k in range(count)]


def test_shards_are_disjoint_and_cover_the_benchmark(shared_data, tmp_path, capsys):
    names = _custom_benchmark(shared_data, tmp_path / "data")
    results = tmp_path / "results"
    seen: list[set] = []
    for k in (1, 2, 3):
        before = set((results / "nano").glob("seq*.txt")) if (results / "nano").is_dir() else set()
        assert main(["run", "--dataset", "custom", "--root", str(tmp_path / "data"), "--results", str(results),
                     "--name", "nano", "--model", "nano", "--shard", f"{k}/3"]) == 0
        seen.append({p.stem for p in set((results / "nano").glob("seq*.txt")) - before})
    assert [len(s) for s in seen] == [3, 2, 2]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])
    assert set().union(*seen) == set(names)
    out = tmp_path / "s.json"
    assert main(["eval", "--dataset", "custom", "--root", str(tmp_path / "data"), "--results", str(results),
                 "--json", str(out)]) == 0
    scores = json.loads(out.read_text())["nano"]
    assert scores["complete"] and scores["sequences"] == 7


def test_sequences_take_the_same_syntax_in_run_and_eval(shared_data, tmp_path):
    _custom_benchmark(shared_data, tmp_path / "data", count=4, frames=2)
    results = tmp_path / "results"
    assert main(["run", "--dataset", "custom", "--root", str(tmp_path / "data"), "--results", str(results),
                 "--name", "nano", "--model", "nano", "--sequences", "seq00,seq01", "seq03"]) == 0
    assert sorted(p.stem for p in (results / "nano").glob("seq*.txt")) == ["seq00", "seq01", "seq03"]
    out = tmp_path / "s.json"
    assert main(["eval", "--dataset", "custom", "--root", str(tmp_path / "data"), "--results", str(results),
                 "--sequences", "seq00,seq01", "seq03", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["nano"]["complete"]


def test_bad_shard_is_one_line_error(shared_data, tmp_path, capsys):
    for spec in ("0/3", "4/3", "x", "1/0"):
        code = main(["run", "--dataset", "custom", "--root", str(tmp_path), "--results", str(tmp_path / "r"),
                     "--shard", spec])
        assert code == 2 and "--shard" in capsys.readouterr().err


def test_run_device_threads_and_preset_go_through_the_tracker_factory(shared_data, tmp_path, capsys):
    """``run --device cuda`` without CUDA is one line (it was a 40-line traceback), as ``track``'s; bad
    ``--threads`` / ``--preset`` too; ``--preset`` changes the tracker, ``--threads`` is accepted."""
    import torch

    base = ["run", "--dataset", "otb", "--root", str(shared_data / "OTB"), "--sequences", "Football1", "--model", "nano"]
    if not torch.cuda.is_available():
        assert main([*base, "--device", "cuda", "--backend", "torch", "--results", str(tmp_path / "c")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("dastsiam: error: ") and "cuda" in err[0]
        assert not (tmp_path / "c").exists() or not any((tmp_path / "c").rglob("*.txt"))
    for bad, word in ((["--threads", "0"], "--threads 0"), (["--preset", "no-such-preset"], "no-such-preset")):
        assert main([*base, *bad, "--results", str(tmp_path / "bad")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and word in err[0]
    assert main([*base, "--threads", "2", "--results", str(tmp_path / "r"), "--name", "default"]) == 0
    assert main([*base, "--preset", "opencv-nano", "--results", str(tmp_path / "r"), "--name", "opencv"]) == 0
    default = np.loadtxt(tmp_path / "r" / "default" / "Football1.txt", delimiter=",")
    opencv = np.loadtxt(tmp_path / "r" / "opencv" / "Football1.txt", delimiter=",")
    assert default.shape == opencv.shape == (74, 4) and np.abs(default - opencv).max() > 0.1  # integer crops
