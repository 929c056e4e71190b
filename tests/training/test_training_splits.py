"""Training never reads a benchmark's test split, however the command is spelt (issue 17, part 1).

Fake layouts: a LaSOT root with two videos, ``airplane-1`` listed in ``training_set.txt`` and ``airplane-2`` in
``testing_set.txt``; a GOT-10k root with ``train/``, ``val/`` and ``test/``. The frames of every video that must
not be trained on are not images at all, so a run that sampled one would fail reading it; the start-up line
must name the split and count only the train videos.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from dastsiam.config import ConfigError
from dastsiam.training.config import DataSourceConfig, load_train_config

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke.yaml"
FRAMES = 6


def write_video(folder: Path, readable: bool, name_digits: int = 8) -> None:
    import cv2

    folder.mkdir(parents=True)
    for i in range(FRAMES):
        path = folder / f"{i + 1:0{name_digits}d}.jpg"
        if readable:
            image = np.full((120, 120, 3), 90, np.uint8)
            image[40:80, 40:80] = (30, 160, 220)
            cv2.imwrite(str(path), image)
        else:
            path.write_bytes(b"a test-split frame: never decoded by training")


@pytest.fixture()
def fake_lasot(tmp_path) -> Path:
    root = tmp_path / "LaSOT"
    for name, readable in (("airplane-1", True), ("airplane-2", False)):
        seq = root / "airplane" / name
        write_video(seq / "img", readable)
        (seq / "groundtruth.txt").write_text("".join("41,41,40,40\n" for _ in range(FRAMES)))
    (root / "training_set.txt").write_text("airplane-1\n")
    (root / "testing_set.txt").write_text("airplane-2\n")
    return root


@pytest.fixture()
def fake_got10k(tmp_path) -> Path:
    root = tmp_path / "GOT-10k"
    for split, readable in (("train", True), ("val", False), ("test", False)):
        name = f"GOT-10k_{split.capitalize()}_000001"
        write_video(root / split / name, readable)
        rows = FRAMES if split != "test" else 1  # the test split ships only the first box
        (root / split / name / "groundtruth.txt").write_text("".join("41,41,40,40\n" for _ in range(rows)))
        (root / split / "list.txt").write_text(name + "\n")
    return root


def train(tmp_path, capsys, *args: str) -> tuple[int, str, str]:
    from dastsiam.cli.main import main

    code = main(["train", str(SMOKE), "--out-dir", str(tmp_path / "out"), "--set", "runtime.tensorboard=false",
                 "--set", "runtime.progress=false", "--set", "runtime.workers=0",
                 "--set", "optim.samples_per_epoch=8", "--set", "optim.batch_size=4", "--set", "runtime.max_steps=2",
                 *args])
    out, err = capsys.readouterr()
    return code, out, err


LASOT_SPELLINGS = {
    "kind=path": lambda root: ["--data", f"lasot={root}"],
    "config without split": lambda root: ["--set", f"data=[{{kind: lasot, root: '{root}'}}]"],
    "config split train, kind=path": lambda root: [
        "--set", "data=[{kind: lasot, root: /elsewhere, split: train, weight: 2.0}]", "--data", f"lasot={root}"],
    "config split train, plain path": lambda root: [
        "--set", "data=[{kind: lasot, root: /elsewhere, split: train}]", "--data", str(root)],
}


@pytest.mark.parametrize("spelling", list(LASOT_SPELLINGS))
def test_lasot_trains_on_its_train_split_whatever_the_spelling(fake_lasot, tmp_path, capsys, spelling):
    code, out, err = train(tmp_path, capsys, *LASOT_SPELLINGS[spelling](fake_lasot))
    assert code == 0, err  # a sampled test frame (not an image) would have failed the run
    assert f"data[0] lasot (train): 1 video ({fake_lasot})" in out, out


def test_no_sample_plan_draws_a_test_video(fake_lasot):
    from dastsiam.training.data import TrainingSet, load_sources
    from dastsiam.models.geometry import OutputGeometry

    cfg = load_train_config(SMOKE)
    cfg = dataclasses.replace(cfg, data=[DataSourceConfig(kind="lasot", root=fake_lasot)])
    cfg = dataclasses.replace(cfg, sampling=dataclasses.replace(cfg.sampling, negative_prob=0.5))
    sources = load_sources(cfg)
    dataset = TrainingSet(sources, np.ones(1), OutputGeometry(127, 255, 8, 17), cfg, 500)
    plans = [dataset.plan(i)[0] for i in range(500)]
    assert {p.track.name for p in plans} | {p.search_track.name for p in plans} == {"airplane-1"}


@pytest.mark.parametrize("split", ["test", "testing"])
def test_a_test_split_is_refused(fake_lasot, tmp_path, capsys, split):
    code, out, err = train(tmp_path, capsys, "--set", f"data=[{{kind: lasot, root: '{fake_lasot}', split: {split}}}]")
    assert code == 2 and err.startswith("dastsiam: error:") and len(err.strip().splitlines()) == 1, err
    assert "test split" in err and "data[0]" in err
    assert not (tmp_path / "out").exists()


def test_a_lasot_root_without_split_lists_is_refused(fake_lasot, tmp_path, capsys):
    (fake_lasot / "training_set.txt").unlink()
    code, out, err = train(tmp_path, capsys, "--data", f"lasot={fake_lasot}")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert str(fake_lasot / "training_set.txt") in err and "split lists" in err
    assert not (tmp_path / "out").exists()


def test_got10k_root_reads_train_not_val(fake_got10k, tmp_path, capsys):
    code, out, err = train(tmp_path, capsys, "--data", f"got10k={fake_got10k}")
    assert code == 0, err
    assert f"data[0] got10k (train): 1 video ({fake_got10k})" in out, out


def test_got10k_split_folder_is_read_as_given_but_not_its_test_folder(fake_got10k, tmp_path, capsys):
    code, out, err = train(tmp_path, capsys, "--data", f"got10k={fake_got10k / 'train'}")
    assert code == 0, err
    assert "data[0] got10k (train): 1 video" in out, out
    code, out, err = train(tmp_path, capsys, "--data", f"got10k={fake_got10k / 'test'}")
    assert code == 2 and "test split" in err and len(err.strip().splitlines()) == 1, err


def test_kind_path_keeps_the_configs_split_weight_and_names():
    from dastsiam.training.config import apply_data_arguments

    cfg = load_train_config(REPO / "configs" / "dastsiam_r50.yaml")
    out = apply_data_arguments(cfg, ["imagenet_vid=/v", "lasot=/l", "got10k=/g"])
    assert [(s.kind, str(s.root), s.split, s.weight) for s in out.data] == [
        ("imagenet_vid", "/v", "train", 1.0), ("lasot", "/l", "train", 1.0), ("got10k", "/g", None, 1.0)]
    with pytest.raises(ConfigError):
        apply_data_arguments(cfg, ["lasot=/l", "/plain"])
