"""Issue 10.1: `dastsiam track` on a trained built-in model runs on onnxruntime without importing torch
(torch's import was 3.2 s of a 3.4 s start-up), and nothing is exported on first use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "assets"


def _env(tmp_path) -> dict:
    env = dict(os.environ, DASTSIAM_CACHE=str(tmp_path / "cache"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO / "src"), env.get("PYTHONPATH", "")] if p)
    return env


@pytest.mark.parametrize("model", ["nano", "nano-st-da"])
def test_onnx_track_never_imports_torch(tmp_path, model):
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dastsiam.cli.main", "track", str(ASSETS / "bag.mp4"),
         "--box", str(ASSETS / "bag_init_box.txt"), "--model", model, "--out", str(tmp_path / "out"),
         "--max-frames", "5"],
        env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "onnxruntime" in imported
    assert not {m for m in imported if m == "torch" or m.startswith("torch.")}, "torch was imported"
    assert len((tmp_path / "out" / "boxes.txt").read_text().splitlines()) == 5
    assert not (tmp_path / "cache").exists()  # the shipped export was used: nothing exported on first use


def test_torch_backend_still_works(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "dastsiam.cli.main", "track", str(ASSETS / "bag.mp4"), "--box",
         str(ASSETS / "bag_init_box.txt"), "--backend", "torch", "--out", str(tmp_path / "out"), "--max-frames", "3",
         "--no-progress"],
        env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len((tmp_path / "out" / "boxes.txt").read_text().splitlines()) == 3
