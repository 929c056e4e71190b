"""benchmarks/speed.py: one run prints the per-frame, start-up and whole-command ratios to OpenCV's
TrackerNano (issue 10.5) and leaves nothing behind in the temp folder (issue 9.7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

REPO = Path(__file__).resolve().parent.parent


def test_speed_benchmark_prints_three_ratio_tables_and_cleans_up(tmp_path, shared_data):
    if not hasattr(cv2, "TrackerNano") or not (shared_data / "weights" / "nanotrack" / "nanotrackv2").is_dir():
        pytest.skip("OpenCV TrackerNano or its weights unavailable")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = dict(os.environ, TMPDIR=str(temp), DASTSIAM_CACHE=str(tmp_path / "cache"), DASTSIAM_DATA=str(shared_data))
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "speed.py"), "--frames", "4", "--rounds", "1",
                           "--cli-rounds", "1", "--no-torch", "--threads", "1"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for title in ("per frame", "per frame by frame size", "start-up: process launch to first box", "whole command"):
        assert title in out
    # per frame (x OpenCV), 320x240 and 3840x2160 (x 320x240), start-up and wall (x OpenCV)
    ratio_rows = [line for line in out.splitlines() if line.startswith("dastsiam")]
    assert len(ratio_rows) == 5 and all(len(row.split()) >= 6 for row in ratio_rows)
    # no dastsiam_speed_* folder left behind (".ses" is onnxruntime's own id file, written once on import)
    assert [p.name for p in temp.iterdir() if p.name != ".ses"] == []
    assert not (tmp_path / "cache").exists()  # the shipped export was used


def test_realtime_benchmark_measures_cpu_time_per_frame(tmp_path, shared_data):
    """benchmarks/realtime.py (issue 14's real-time rule): per-frame CPU time of one core, JSON beside."""
    import json

    out = tmp_path / "rt.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "realtime.py"), "nano", "cv=nano+preset=opencv-nano",
                           "--rounds", "1", "--json", str(out)],
                          env=dict(os.environ, DASTSIAM_DATA=str(shared_data)), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(out.read_text())
    assert set(data) == {"nano", "cv"}
    nano = data["nano"]
    assert nano["frames"] == 119 and 0 < nano["cpu_ms"] < 1000
    assert nano["fps_one_core"] == 1000 / nano["cpu_ms"] and nano["real_time"] == (nano["fps_one_core"] >= 30)
    assert "frames/s on one core" in done.stdout
