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


# ---------------------------------------------------------------- 11.5 packaging
def _without(module: str, *argv: str):
    code = (f"import sys; sys.modules[{module!r}] = None\n"
            "from dastsiam.cli.main import main\n"
            f"sys.exit(main({list(argv)!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module, argv, extra", [
    ("cv2", ["track", str(VIDEO), "--box", BOX, "--out", "{tmp}/o"], "dastsiam[headless]"),
    ("cv2", ["--help"], "dastsiam[headless]"),
    ("matplotlib", ["eval", "--dataset", "otb", "--anno", "{anno}", "--results", "{tmp}", "--plots", "{tmp}/p"],
     "dastsiam[eval]"),
])
def test_missing_optional_dependency_names_the_extra(tmp_path, module, argv, extra):
    anno = tmp_path / "anno"
    (tmp_path / "T").mkdir()
    anno.mkdir()
    rng = [f"{10 + i},{10 + i},20,20" for i in range(5)]
    (anno / "Seq.txt").write_text("\n".join(rng) + "\n")
    (tmp_path / "T" / "Seq.txt").write_text("\n".join(rng) + "\n")
    proc = _without(module, *[a.format(tmp=tmp_path, anno=anno) for a in argv])
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[-1].startswith("dastsiam: error: ") and extra in lines[-1], proc.stderr


def test_load_tracker_without_opencv_names_the_extra():
    code = "import sys; sys.modules['cv2'] = None\nimport dastsiam\ndastsiam.load_tracker('nano')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "MissingDependency: OpenCV is not installed" in proc.stderr and "dastsiam[headless]" in proc.stderr


def test_tracking_dependencies_leave_out_tensorboard_matplotlib_onnx_and_opencv():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    for heavy in ("tensorboard", "matplotlib", "onnx>", "opencv"):
        assert heavy not in core, heavy
    extras = project["optional-dependencies"]
    assert {"train", "eval", "export", "headless", "gui", "dev"} <= set(extras)
    assert any("tensorboard" in d for d in extras["train"]) and any("matplotlib" in d for d in extras["eval"])
    assert any(d.startswith("onnx") for d in extras["export"])
    assert (REPO / "LICENSE").read_text().split()[:3] == ["Apache", "License", "Version"]
    assert project["license"] == "Apache-2.0" and (REPO / "CHANGELOG.md").is_file()


# ---------------------------------------------------------------- 11.3 --select and --show
def _env(**changes):
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(changes)
    return env


@pytest.mark.parametrize("flag", ["--select", "--show"])
def test_window_flags_without_a_display_are_one_clear_line(tmp_path, flag):
    args = ["track", str(VIDEO), "--out", str(tmp_path / "o")] + ([flag] if flag == "--select" else ["--box", BOX, flag])
    proc = subprocess.run([sys.executable, "-m", "dastsiam.cli.main", *args], capture_output=True, text=True,
                          env=_env(), timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"dastsiam: error: {flag}: cannot open a window: no display here (DISPLAY / WAYLAND_DISPLAY not set); "
        "give --box x,y,w,h, or pick the box in a browser with `dastsiam app`"]
    assert not (tmp_path / "o").exists()


def test_select_with_headless_opencv_says_which_wheel(tmp_path):
    import cv2

    if re.search(r"^\s*GUI:\s*NONE", cv2.getBuildInformation(), flags=re.M) is None:
        pytest.skip("this OpenCV has window support")
    proc = subprocess.run([sys.executable, "-m", "dastsiam.cli.main", "track", str(VIDEO), "--select", "--out",
                           str(tmp_path / "o")], capture_output=True, text=True, env=_env(DISPLAY=":99"), timeout=120)
    assert proc.returncode == 2 and "no window support" in proc.stderr and "dastsiam[gui]" in proc.stderr


def test_box_and_select_exclude_each_other(tmp_path):
    proc = dastsiam_cli("track", VIDEO, "--box", BOX, "--select", "--out", tmp_path / "o")
    assert proc.returncode == 2 and "not allowed with argument" in proc.stderr


def test_select_uses_the_dragged_box_and_show_previews_every_frame(tmp_path, monkeypatch, capsys):
    """The window calls themselves (OpenCV's selectROI / imshow / waitKey) are stand-ins: no display in CI."""
    import cv2

    from dastsiam.cli import track
    from dastsiam.cli.main import main

    shown = []
    monkeypatch.setattr(track, "gui_problem", lambda: None)
    monkeypatch.setattr(cv2, "selectROI", lambda title, frame, **kw: (313, 147, 105, 95))
    monkeypatch.setattr(cv2, "imshow", lambda title, image: shown.append(image.shape))
    monkeypatch.setattr(cv2, "waitKey", lambda delay: ord("q") if len(shown) == 4 else -1)
    monkeypatch.setattr(cv2, "destroyWindow", lambda title: None)
    code = main(["track", str(VIDEO), "--select", "--show", "--out", str(tmp_path / "o"), "--threads", "1",
                 "--no-progress", "--max-frames", "10"])
    assert code == 0
    lines = (tmp_path / "o" / "boxes.txt").read_text().splitlines()
    assert lines[0] == "313,147,105,95"
    assert len(lines) == 4 and shown == [(360, 480, 3)] * 4  # q in the 4th frame's window stops there
    assert "stopped from the preview window at frame 3" in capsys.readouterr().err


def test_select_cancelled_is_an_error(tmp_path, monkeypatch, capsys):
    import cv2

    from dastsiam.cli import track
    from dastsiam.cli.main import main

    monkeypatch.setattr(track, "gui_problem", lambda: None)
    monkeypatch.setattr(cv2, "selectROI", lambda title, frame, **kw: (0, 0, 0, 0))
    monkeypatch.setattr(cv2, "destroyWindow", lambda title: None)
    assert main(["track", str(VIDEO), "--select", "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "no box was drawn" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
