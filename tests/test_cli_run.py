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
