"""Command-line consistency (issue 11.4, 11.6): untrained models, help texts, where the outputs went."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import dastsiam
from dastsiam.cli.main import build_parser

REPO = Path(__file__).resolve().parent.parent
VIDEO = REPO / "assets" / "bag.mp4"
BOX = "312.64,146.89,105.13,95.41"


def dastsiam_cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "dastsiam.cli.main", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


# ---------------------------------------------------------------- 11.4 untrained models
def test_untrained_model_is_refused_without_the_flag(tmp_path):
    proc = dastsiam_cli("track", VIDEO, "--box", BOX, "--model", "siamfc", "--out", tmp_path / "o", "--max-frames", 2)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "dastsiam: error: --model siamfc: has no trained weights (random initialisation, its boxes would mean "
        "nothing); train it (dastsiam train) and pass the weights file, or add --allow-untrained"]
    assert not (tmp_path / "o").exists()


def test_untrained_model_runs_with_the_flag_and_a_loud_warning(tmp_path):
    proc = dastsiam_cli("track", VIDEO, "--box", BOX, "--model", "siamfc", "--allow-untrained", "--out",
                        tmp_path / "o", "--max-frames", 3, "--threads", 1, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "dastsiam: warning: --model siamfc is UNTRAINED (random weights): the boxes are not a tracking result"]
    assert len((tmp_path / "o" / "boxes.txt").read_text().splitlines()) == 3


def test_trained_models_need_no_flag(tmp_path):
    proc = dastsiam_cli("track", VIDEO, "--box", BOX, "--model", "nano-v3", "--out", tmp_path / "o",
                        "--max-frames", 2, "--threads", 1, "--no-progress")
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr


def test_untrained_model_from_python():
    with pytest.raises(dastsiam.ModelError, match="allow_untrained=True"):
        dastsiam.load_tracker("siamfc")
    with pytest.warns(dastsiam.errors.DastsiamWarning, match="UNTRAINED"):
        tracker = dastsiam.load_tracker("siamfc", allow_untrained=True)
    assert tracker.backend == "torch"


# ---------------------------------------------------------------- 11.6 help texts
def _subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return action.choices


@pytest.mark.parametrize("command", ["track", "models", "export", "run", "eval", "train"])
def test_every_option_has_a_help_line_and_no_rest_markup(command):
    sub = _subparsers()[command]
    missing = [a.option_strings or a.dest for a in sub._actions if not a.help]
    assert not missing, f"{command}: options without help: {missing}"
    text = sub.format_help()
    assert not re.search(r"``|:(func|class|mod|meth|attr):`", text), text


def test_top_level_help_lists_every_command():
    proc = dastsiam_cli("--help")
    assert proc.returncode == 0
    for command in ("track", "models", "export", "run", "eval", "train"):
        assert re.search(rf"^\s+{command}\s+\S", proc.stdout, flags=re.M), proc.stdout


def test_save_video_final_message_says_where_the_video_went(tmp_path):
    proc = dastsiam_cli("track", VIDEO, "--box", BOX, "--out", tmp_path / "o", "--max-frames", 3,
                        "--save-video", "--threads", 1, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert f"boxes in {tmp_path / 'o' / 'boxes.txt'}" in proc.stdout
    assert f"annotated video in {tmp_path / 'o' / 'tracked.mp4'}" in proc.stdout
    assert (tmp_path / "o" / "tracked.mp4").stat().st_size > 0
