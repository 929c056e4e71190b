"""``dastsiam eval`` end to end: published OTB-100 numbers from the real CLI, and bad input handled file by file."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from dastsiam.cli.main import main


@pytest.fixture(scope="module")
def otb_scores(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("otb") / "scores.json"
    otb = shared_data / "OTB100"
    code = main(["eval", "--dataset", "otb", "--anno", str(otb / "anno"), "--results", str(otb / "results"),
                 "--json", str(out), "--max-warnings", "0"])
    assert code == 0
    return json.loads(out.read_text())


def test_reproduces_published_otb100_numbers(otb_scores):
    assert set(otb_scores) == {"KCF", "Struck", "SRDCF", "TLD", "DSST", "CSK"}
    assert round(otb_scores["KCF"]["success_auc"], 3) == 0.477
    assert round(otb_scores["SRDCF"]["success_auc"], 3) == 0.598
    assert round(otb_scores["KCF"]["precision"], 3) == 0.695
    assert otb_scores["KCF"]["sequences"] == 100


def test_per_attribute_scores_use_otb_attribute_files(otb_scores):
    attributes = otb_scores["SRDCF"]["attributes"]
    assert list(attributes) == ["IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC", "LR"]
    assert attributes["OV"]["sequences"] == 14  # out-of-view sequences of OTB-100
    assert 0 < attributes["OV"]["success_auc"] < otb_scores["SRDCF"]["success_auc"]


def test_pixel_iou_convention_does_not_reproduce_the_published_auc(shared_data, tmp_path):
    out = tmp_path / "s.json"
    otb = shared_data / "OTB100"
    main(["eval", "--dataset", "otb", "--anno", str(otb / "anno"), "--results", str(otb / "results"),
          "--trackers", "KCF", "--iou", "pixel", "--json", str(out)])
    assert round(json.loads(out.read_text())["KCF"]["success_auc"], 3) != 0.477


def test_bad_input_is_reported_by_file_and_line_and_the_rest_scores(shared_data, tmp_path, capsys):
    otb = shared_data / "OTB100"
    names = ["Basketball", "Biker", "Bird1", "Bird2", "BlurBody"]
    anno = tmp_path / "anno"
    anno.mkdir()
    for n in names:
        shutil.copy(otb / "anno" / f"{n}.txt", anno / f"{n}.txt")
    (anno / "Broken.txt").write_bytes(b"\xff\xfe\x00garbage\x00")  # unreadable annotation
    results = tmp_path / "results" / "KCF"
    results.mkdir(parents=True)
    for n in names[:4]:  # BlurBody has no result file
        shutil.copy(otb / "results" / "KCF" / f"{n}.txt", results / f"{n}.txt")
    lines = (results / "Biker.txt").read_text().splitlines()
    (results / "Biker.txt").write_text("\n".join(lines[:-10]) + "\n")  # too few rows
    lines = (results / "Bird1.txt").read_text().splitlines()
    lines[4] = "nan,nan,nan,nan"
    lines[6] = "10,10,-5,20"
    lines[8] = "1,2,3"
    (results / "Bird1.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "scores.json"
    code = main(["eval", "--dataset", "otb", "--anno", str(anno), "--results", str(tmp_path / "results"),
                 "--json", str(out)])
    assert code == 0
    err = capsys.readouterr().err
    assert f"{anno / 'Broken.txt'}" in err
    assert f"{results / 'Biker.txt'}: " in err and "rows for" in err
    assert f"{results / 'Bird1.txt'}:9: expected 4 numbers, got 3" in err
    assert f"{results / 'Bird1.txt'}:5,7" in err
    assert "no results for 1 of 5 sequences (BlurBody)" in err
    scores = json.loads(out.read_text())["KCF"]
    assert scores["sequences"] == 5  # BlurBody counts, as all failures
    assert scores["sequences_with_results"] == 4
    assert scores["missing"] == ["BlurBody"] and scores["complete"] is False
    assert 0 < scores["success_auc"] < 1


def test_missing_annotation_folder_is_one_clear_error(tmp_path, capsys):
    code = main(["eval", "--dataset", "otb", "--anno", str(tmp_path / "nope"), "--results", str(tmp_path)])
    assert code == 2
    assert f"{tmp_path / 'nope'}: annotation folder not found" in capsys.readouterr().err


def test_plots_are_written(shared_data, tmp_path):
    otb = shared_data / "OTB100"
    plots = tmp_path / "plots"
    code = main(["eval", "--dataset", "otb", "--anno", str(otb / "anno"), "--results", str(otb / "results"),
                 "--trackers", "KCF", "SRDCF", "--plots", str(plots), "--max-warnings", "0"])
    assert code == 0
    for name in ("success.png", "precision.png"):
        data = (plots / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_scores_from_a_full_dataset_folder_and_got10k_layout(tmp_path):
    # a two-sequence custom dataset; one tracker in the OTB layout, one in the GOT-10k layout
    gt_a = np.array([[10.0, 10, 20, 20]] * 4)
    gt_b = np.array([[30.0, 5, 10, 10]] * 3)
    for name, gt in (("a", gt_a), ("b", gt_b)):
        folder = tmp_path / "data" / name
        folder.mkdir(parents=True)
        for i in range(len(gt)):
            (folder / f"{i + 1:04d}.jpg").write_bytes(b"")
        np.savetxt(folder / "groundtruth.txt", gt, delimiter=",")
    otb_layout = tmp_path / "res" / "Perfect"
    otb_layout.mkdir(parents=True)
    np.savetxt(otb_layout / "a.txt", gt_a, delimiter=",")
    np.savetxt(otb_layout / "b.txt", gt_b, delimiter=",")
    got = tmp_path / "res" / "Half"
    for name, gt in (("a", gt_a), ("b", gt_b)):
        (got / name).mkdir(parents=True)
        shifted = gt + [gt[0, 2] / 2, 0, 0, 0]  # IoU 1/3 on every frame
        np.savetxt(got / name / f"{name}_001.txt", shifted, delimiter=",")
    out = tmp_path / "s.json"
    assert main(["eval", "--dataset", "custom", "--root", str(tmp_path / "data"), "--results",
                 str(tmp_path / "res"), "--first-frame", "as_is", "--json", str(out), "--per-sequence"]) == 0
    scores = json.loads(out.read_text())
    assert scores["Half"]["per_sequence"]["b"]["frames"] == 3
    assert scores["Perfect"]["ao"] == 1.0
    assert scores["Half"]["ao"] == pytest.approx(1 / 3, abs=1e-6)
    assert scores["Half"]["sr50"] == 0.0


def test_got10k_root_scoring_drops_frame_1_and_covered_frames(tmp_path):
    seq = tmp_path / "val" / "GOT-10k_Val_000001"
    seq.mkdir(parents=True)
    for i in range(4):
        (seq / f"{i + 1:08d}.jpg").write_bytes(b"")
    gt = np.array([[11.0, 11, 20, 20]] * 4)
    np.savetxt(seq / "groundtruth.txt", gt, delimiter=",")
    (seq / "absence.label").write_text("0\n0\n0\n1\n")
    (seq / "cover.label").write_text("8\n8\n0\n0\n")
    (tmp_path / "val" / "list.txt").write_text("GOT-10k_Val_000001\n")
    res = tmp_path / "res" / "T" / "GOT-10k_Val_000001"
    res.mkdir(parents=True)
    pred = gt.copy()
    pred[0] = [500, 500, 5, 5]  # frame 1 is not scored
    pred[2:] = [500, 500, 5, 5]  # frames 3, 4 are covered / absent: not scored
    np.savetxt(res / "GOT-10k_Val_000001_001.txt", pred, delimiter=",")
    out = tmp_path / "s.json"
    assert main(["eval", "--dataset", "got10k", "--root", str(tmp_path), "--split", "val",
                 "--results", str(tmp_path / "res"), "--json", str(out)]) == 0
    scores = json.loads(out.read_text())["T"]
    assert scores["ao"] == 1.0 and scores["frames"] == 1
