"""``dastsiam eval`` never inflates a score: short, empty and missing result files (issue 9.1), other
spellings of split OTB sequences (issue 11.2), and output paths checked before scoring (issue 9.3)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from dastsiam.cli.main import main

FIVE = ["Basketball", "Biker", "Bird1", "Bird2", "BlurBody"]


def _copy(shared_data, tmp_path, trackers=("KCF",), names=FIVE):
    otb = shared_data / "OTB100"
    anno = tmp_path / "anno"
    anno.mkdir(exist_ok=True)
    for n in names:
        shutil.copy(otb / "anno" / f"{n}.txt", anno / f"{n}.txt")
    for t in trackers:
        (tmp_path / "results" / t).mkdir(parents=True, exist_ok=True)
        for n in names:
            shutil.copy(otb / "results" / t / f"{n}.txt", tmp_path / "results" / t / f"{n}.txt")
    return anno, tmp_path / "results"


def _eval(anno, results, out, *extra, dataset="otb"):
    code = main(["eval", "--dataset", dataset, "--anno", str(anno), "--results", str(results), "--json", str(out),
                 "--per-sequence", "--max-warnings", "0", *extra])
    assert code == 0
    return json.loads(out.read_text())


def test_short_or_empty_result_never_lifts_the_mean(shared_data, tmp_path):
    anno, results = _copy(shared_data, tmp_path)
    full = _eval(anno, results, tmp_path / "full.json")["KCF"]
    biker = results / "KCF" / "Biker.txt"
    biker.write_text(biker.read_text().splitlines()[0] + "\n")  # Biker cut to its first row
    cut = _eval(anno, results, tmp_path / "cut.json")["KCF"]
    frames = len((anno / "Biker.txt").read_text().split())
    assert cut["per_sequence"]["Biker"]["success_auc"] <= 1 / frames + 1e-6  # only frame 1 (set to the truth)
    assert cut["success_auc"] <= full["success_auc"]  # was 0.519 > 0.379 when the cut row was scored alone
    assert cut["sequences"] == 5
    biker.write_text("")  # empty: no result at all, all frames failed, still counted
    empty = _eval(anno, results, tmp_path / "empty.json")["KCF"]
    assert empty["sequences"] == 5 and empty["missing"] == ["Biker"] and not empty["complete"]
    assert empty["per_sequence"]["Biker"]["success_auc"] == 0.0
    assert empty["success_auc"] <= cut["success_auc"]


def test_missing_sequence_counts_as_failures_or_trackers_share_sequences(shared_data, tmp_path, capsys):
    anno, results = _copy(shared_data, tmp_path, trackers=("KCF", "SRDCF"))
    full = _eval(anno, results, tmp_path / "full.json")
    (results / "KCF" / "Bird2.txt").unlink()
    failing = _eval(anno, results, tmp_path / "fail.json")
    out = capsys.readouterr().out
    assert "KCF*" in out and "4/5" in out and "incomplete: KCF has no results for 1 sequence(s) (Bird2)" in out
    assert failing["KCF"]["sequences"] == 5 and failing["KCF"]["per_sequence"]["Bird2"]["success_auc"] == 0
    assert failing["KCF"]["success_auc"] < full["KCF"]["success_auc"]
    assert failing["SRDCF"] == full["SRDCF"]
    shared = _eval(anno, results, tmp_path / "shared.json", "--missing", "shared")
    out = capsys.readouterr().out
    assert "4 of 5 sequences" in out
    assert shared["KCF"]["sequences"] == shared["SRDCF"]["sequences"] == 4
    assert "Bird2" not in shared["SRDCF"]["per_sequence"]
    four = [n for n in FIVE if n != "Bird2"]
    alone = _eval(anno, results, tmp_path / "four.json", "--sequences", ",".join(four))
    assert shared["SRDCF"]["success_auc"] == alone["SRDCF"]["success_auc"]


@pytest.mark.parametrize("layout", ["empty_root", "unmatched_files", "empty_files"])
def test_a_results_folder_with_nothing_to_score_is_an_error(shared_data, tmp_path, capsys, layout):
    anno, _ = _copy(shared_data, tmp_path, trackers=())
    results = tmp_path / "res"
    results.mkdir()
    if layout != "empty_root":
        (results / "KCF").mkdir()
        for n in FIVE:
            name = f"{n}.txt" if layout == "empty_files" else f"other_{n}.txt"
            (results / "KCF" / name).write_text("")
    code = main(["eval", "--dataset", "otb", "--anno", str(anno), "--results", str(results)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("dastsiam: error: ") and str(results) in err[-1]


@pytest.mark.parametrize("sep", [".", "_", "-"])
def test_split_sequences_in_every_spelling(shared_data, tmp_path, sep):
    names = ["Jogging-1", "Jogging-2", "Skating2-1", "Human4-2", "Bird1"]
    anno, _ = _copy(shared_data, tmp_path, trackers=(), names=names)
    src = shared_data / "OTB100" / "results" / "KCF"
    (tmp_path / "res" / "KCF").mkdir(parents=True)
    for n in names:
        # got10k calls Human4-2 plain "Human4" (the only annotated target of Human4)
        spelled = "Human4" if (n == "Human4-2" and sep == ".") else n.replace("-", sep)
        shutil.copy(src / f"{n}.txt", tmp_path / "res" / "KCF" / f"{spelled}.txt")
    scores = _eval(anno, tmp_path / "res", tmp_path / "s.json", "--sequences", "Jogging.1 Jogging_2,Skating2-1",
                   "Human4-2", "Bird1")
    assert scores["KCF"]["sequences_with_results"] == 5 and scores["KCF"]["complete"]


def test_got10k_named_results_reproduce_the_published_auc(shared_data, tmp_path):
    src = shared_data / "OTB100" / "results" / "KCF"
    dst = tmp_path / "res" / "KCF"
    dst.mkdir(parents=True)
    got10k = {"Jogging-1": "Jogging.1", "Jogging-2": "Jogging.2", "Skating2-1": "Skating2.1",
              "Skating2-2": "Skating2.2", "Human4-2": "Human4"}
    for f in src.glob("*.txt"):
        shutil.copy(f, dst / f"{got10k.get(f.stem, f.stem)}.txt")
    scores = _eval(shared_data / "OTB100" / "anno", tmp_path / "res", tmp_path / "s.json")["KCF"]
    assert scores["sequences_with_results"] == 100
    assert round(scores["success_auc"], 3) == 0.477 and round(scores["precision"], 3) == 0.695


@pytest.mark.parametrize("flag,target", [("--json", "dir"), ("--json", "under_file"), ("--plots", "file")])
def test_unwritable_outputs_fail_before_scoring(shared_data, tmp_path, flag, target):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    path = {"dir": tmp_path, "under_file": blocker / "scores.json", "file": blocker}[target]
    otb = shared_data / "OTB100"
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from dastsiam.cli.main import main; sys.exit(main())", "eval",
         "--dataset", "otb", "--anno", str(otb / "anno"), "--results", str(otb / "results"), flag, str(path)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""  # checked before the work: no table printed, then lost
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"dastsiam: error: {flag} ")
    assert blocker.read_text() == "x"


def test_lasot_per_attribute_success_from_toolkit_attribute_files(shared_data, tmp_path, capsys):
    # LaSOT-named sequences (annotations and KCF results borrowed from OTB-100) with LaSOT's 14 attribute flags
    pairs = {"bird-1": "Bird1", "bird-2": "Bird2", "car-1": "Car1", "person-1": "Basketball"}
    otb = shared_data / "OTB100"
    anno, att, res = tmp_path / "anno", tmp_path / "att", tmp_path / "res" / "KCF"
    for d in (anno, att, res):
        d.mkdir(parents=True)
    flags = {"bird-1": 0b10000000000000, "bird-2": 0b10000000000001, "car-1": 0b00000000000001, "person-1": 0}
    for lasot, name in pairs.items():
        shutil.copy(otb / "anno" / f"{name}.txt", anno / f"{lasot}.txt")
        shutil.copy(otb / "results" / "KCF" / f"{name}.txt", res / f"{lasot}.txt")
        bits = [(flags[lasot] >> (13 - i)) & 1 for i in range(14)]  # IV first ... ARC last
        (att / f"{lasot}.txt").write_text(",".join(map(str, bits)) + "\n")
    all_scores = _eval(anno, tmp_path / "res", tmp_path / "a.json", "--att", str(att), "--attributes",
                       dataset="lasot")["KCF"]
    printed = capsys.readouterr().out
    assert "IV" in printed and "ARC" in printed
    attributes = all_scores["attributes"]
    assert set(attributes) == {"IV", "ARC"}  # only flags some sequence carries
    assert attributes["IV"]["sequences"] == 2 and attributes["ARC"]["sequences"] == 2
    iv = _eval(anno, tmp_path / "res", tmp_path / "b.json", "--sequences", "bird-1,bird-2", dataset="lasot")["KCF"]
    assert attributes["IV"]["success_auc"] == iv["success_auc"]
    assert len(attributes["IV"]["success_curve"]) == 21


def test_a_write_failure_after_scoring_is_one_line(shared_data, tmp_path, capsys, monkeypatch):
    from dastsiam.evaluation import report as report_module

    def full_disk(self, path, per_sequence=False, extra=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_module.Report, "write_json", full_disk)
    otb = shared_data / "OTB100"
    code = main(["eval", "--dataset", "otb", "--anno", str(otb / "anno"), "--results", str(otb / "results"),
                 "--trackers", "KCF", "--json", str(tmp_path / "s.json"), "--max-warnings", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1] == f"dastsiam: error: --json {tmp_path / 's.json'}: cannot write (No space left on device)"
