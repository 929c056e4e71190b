"""`dastsiam track` and `dastsiam models` through the command line (file contract, errors, back ends)."""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from dastsiam.boxes import iou
from dastsiam.cli.main import main

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "assets"


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    yield
    torch.set_num_threads(threads)
    cv2.setNumThreads(cv_threads)


def _boxes(path):
    return np.array([[float(v) for v in line.split(",")] for line in path.read_text().splitlines()])


def _otb_gt(shared_data, name):
    import re

    rows = (shared_data / "OTB" / name / "groundtruth_rect.txt").read_text().splitlines()
    gt = np.array([[float(v) for v in re.split(r"[,\s]+", r.strip())] for r in rows if r.strip()])
    gt[:, :2] -= 1
    return gt


def test_track_sequence_folder(shared_data, tmp_path, capsys):
    gt = _otb_gt(shared_data, "Couple")
    box = ",".join(f"{v:g}" for v in gt[0])
    code = main(["track", str(shared_data / "OTB" / "Couple" / "img"), "--box", box, "--out", str(tmp_path),
                 "--max-frames", "20", "--threads", "1", "--no-progress"])
    assert code == 0
    lines = (tmp_path / "boxes.txt").read_text().splitlines()
    assert len(lines) == 20 and lines[0] == box  # the first line is the given box, verbatim for integer input
    boxes = _boxes(tmp_path / "boxes.txt")
    assert iou(boxes, gt[:20]).mean() > 0.6
    assert "fps" in capsys.readouterr().out


def test_track_sample_video_with_annotated_output(shared_data, tmp_path):
    from dastsiam.tracking import area_preserving_box

    code = main(["track", str(ASSETS / "bag.mp4"), "--box", str(ASSETS / "bag_init_box.txt"), "--out", str(tmp_path),
                 "--max-frames", "12", "--save-video", "--threads", "1", "--no-progress"])
    assert code == 0
    boxes = _boxes(tmp_path / "boxes.txt")
    init = np.array([float(v) for v in (ASSETS / "bag_init_box.txt").read_text().strip().split(",")])
    assert boxes.shape == (12, 4)
    np.testing.assert_allclose(boxes[0], init)
    polygons = np.loadtxt(shared_data / "VOT" / "bag" / "groundtruth.txt", delimiter=",")[:12]
    gt = np.array([area_preserving_box(p) for p in polygons])
    assert iou(boxes, gt).mean() > 0.6
    video = cv2.VideoCapture(str(tmp_path / "tracked.mp4"))
    assert video.isOpened() and int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 12


def test_sample_init_box_matches_vot_annotation(shared_data):
    """assets/bag_init_box.txt is the area-preserving box of the first VOT polygon (docs/tracking.md)."""
    from dastsiam.tracking import area_preserving_box

    polygon = [float(v) for v in (shared_data / "VOT" / "bag" / "groundtruth.txt").read_text().splitlines()[0].split(",")]
    init = np.array([float(v) for v in (ASSETS / "bag_init_box.txt").read_text().strip().split(",")])
    np.testing.assert_allclose(init, area_preserving_box(polygon), atol=0.01)


def test_onnx_backend_matches_torch(shared_data, tmp_path):
    pytest.importorskip("dastsiam.export")
    folder = shared_data / "OTB" / "Crossing" / "img"
    common = ["--box", "204,150,17,50", "--max-frames", "15", "--threads", "1", "--no-progress"]
    assert main(["track", str(folder), "--out", str(tmp_path / "t"), *common]) == 0
    assert main(["track", str(folder), "--out", str(tmp_path / "o"), "--backend", "onnx", *common]) == 0
    np.testing.assert_allclose(_boxes(tmp_path / "o" / "boxes.txt"), _boxes(tmp_path / "t" / "boxes.txt"), atol=0.05)


def test_gray_and_bgra_frames_and_size_change_keeps_written_lines(tmp_path, capsys):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "0000.png"), base)
    cv2.imwrite(str(frames / "0001.png"), cv2.cvtColor(base, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(frames / "0002.png"), cv2.cvtColor(base, cv2.COLOR_BGR2BGRA))
    cv2.imwrite(str(frames / "0003.png"), base[:100])
    cv2.imwrite(str(frames / "0004.png"), base)
    code = main(["track", str(frames), "--box", "40,30,30,20", "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "frame 3" in err and "160x100" in err and len(err.strip().splitlines()) == 1
    assert len((tmp_path / "out" / "boxes.txt").read_text().splitlines()) == 3  # frames 0..2 stay written


@pytest.mark.parametrize(
    "args, message",
    [
        (["{missing}", "--box", "1,1,10,10"], "no such video file"),
        (["{broken}", "--box", "1,1,10,10"], "broken.mp4"),
        (["{video}", "--box", "1,1,0,10"], "width and height"),
        (["{video}", "--box", "1,1,-5,10"], "width and height"),
        (["{video}", "--box", "1,1,nan,10"], "width and height"),
        (["{video}", "--box", "1,2,3"], "four numbers"),
        (["{video}", "--box", "900,10,20,20"], "outside"),
        (["{video}", "--box", "10,10,20,20", "--model", "no-such-model"], "unknown model"),
        (["{video}", "--box", "10,10,20,20", "--model", "{truncated}"], "truncated.safetensors"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys, args, message):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 64)
    from dastsiam.models.registry import WEIGHTS_DIR

    weights = (WEIGHTS_DIR / "nanotrack_v2.safetensors").read_bytes()
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(weights[: len(weights) // 2])
    names = {"missing": str(tmp_path / "missing.mp4"), "broken": str(broken), "video": str(ASSETS / "bag.mp4"),
             "truncated": str(truncated)}
    argv = ["track"] + [a.format(**names) for a in args] + ["--out", str(tmp_path / "out"), "--no-progress"]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("dastsiam: error:") and message in err, err


@pytest.mark.parametrize("kind", ["missing", "broken"])
def test_error_through_the_real_entry_point_is_one_line(tmp_path, kind):
    """Run as a user would: stderr is exactly one line (no traceback, no OpenCV/FFmpeg chatter), status 2."""
    video = tmp_path / ("nope.avi" if kind == "missing" else "broken.mp4")
    if kind == "broken":
        video.write_bytes(b"\x00" * 64)
    proc = subprocess.run([sys.executable, "-m", "dastsiam.cli.main", "track", str(video),
                           "--box", "1,1,10,10", "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    expected = "no such video file or frame folder" if kind == "missing" else "not a readable video file"
    assert proc.stderr.strip().splitlines() == [f"dastsiam: error: {video}: {expected}"]


def test_models_lists_builtins(capsys):
    from dastsiam.models import BUILTIN_MODELS, DEFAULT_MODEL

    assert main(["models"]) == 0
    out = capsys.readouterr().out.splitlines()
    for name, entry in BUILTIN_MODELS.items():
        line = next(line for line in out if line[2:].split()[0] == name)
        status = line[2:].split(None, 2)[2]  # after the name and the arch
        if entry.weights is None:
            assert status.startswith("untrained")
        elif entry.modules_untrained:  # the base model's weights, ST / DA / confidence branch at zero
            assert status.startswith("modules untrained")
        else:
            assert status.startswith("trained")
        assert line.startswith("*") == (name == DEFAULT_MODEL)


def test_auto_backend_picks_onnx_only_for_trained_weights_on_cpu():
    from dastsiam.api import TrackerSpec, resolve_backend

    assert resolve_backend(TrackerSpec(backend="auto", model=None, device="cpu")) == "onnx"
    assert resolve_backend(TrackerSpec(backend="auto", model="nano", device="cuda")) == "torch"
    assert resolve_backend(TrackerSpec(backend="auto", model="dastsiam-r50", device="cpu")) == "torch"
    assert resolve_backend(TrackerSpec(backend="torch", model="nano", device="cpu")) == "torch"
