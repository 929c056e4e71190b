"""The VOT toolkit as a client of dastsiam: the TraX server (``dastsiam vot``), the toolkit's ``python``
protocol class (``dastsiam.vot_toolkit.VotTracker``), and -- where ``scripts/vot_toolkit_env.sh`` has created
``.vot-env`` -- the real ``vot test`` / ``vot evaluate`` / ``vot analysis`` (vot-toolkit 0.9.0) on the shared
``bag`` sequence, compared with ``dastsiam run`` / ``dastsiam eval --dataset vot2018``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dastsiam.cli.main import main
from dastsiam.evaluation.vot import vot_init_box

REPO = Path(__file__).resolve().parents[2]
VOT_ENV = Path(os.environ.get("DASTSIAM_VOT_ENV", REPO / ".vot-env"))
DASTSIAM = Path(sys.executable).with_name("dastsiam")
# bag's polygons on a 1/16 px grid: exact in the float32 the toolkit keeps regions in and in the 4 decimals TraX
# writes them with, so both sides start from the very same boxes (a 1e-5 px change of the initial box grows to
# pixels over 100 frames of bag)
BOX_GRID = 16


def _reference_boxes(root: Path, count: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Frames 2..count of bag tracked in-process with the TraX server's settings (nano, onnx, 1 thread), from
    pysot's box of the first polygon."""
    import dastsiam
    from dastsiam.evaluation.runner import read_frame

    polygon = np.loadtxt(root / "bag" / "groundtruth.txt", delimiter=",")[0]
    tracker = dastsiam.load_tracker("nano", backend="onnx", threads=1)
    frames = sorted((root / "bag").glob("*.jpg"))[:count]
    init = vot_init_box(polygon, "pysot")
    tracker.init(read_frame(frames[0]), init)
    return init, [np.asarray(tracker.track(read_frame(f))[0]) for f in frames[1:]]


def test_trax_server_answers_the_trax_client_like_the_tracker_in_process(vot_bag, tmp_path):
    """``dastsiam vot`` spoken to by the TraX library's own client (what the toolkit uses): handshake, a polygon
    initialisation (pysot's box applied), rectangles back equal to the in-process tracker's."""
    trax = pytest.importorskip("trax", reason="vot-trax (the [vot] extra) is not installed")
    from trax.client import Client
    from trax.image import FileImage
    from trax.region import Polygon

    root = vot_bag(moved=(), grid=BOX_GRID)
    frames = sorted((root / "bag").glob("*.jpg"))[:8]
    polygon = np.loadtxt(root / "bag" / "groundtruth.txt", delimiter=",")[0]
    init, expected = _reference_boxes(root, len(frames))
    process = subprocess.Popen([str(DASTSIAM), "vot", "--model", "nano", "--backend", "onnx"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env={**os.environ, "TRAX": "1"})
    try:
        client = Client(stream=(process.stdin.fileno(), process.stdout.fileno()), log=lambda text: None)
        assert client.tracker_name == "dastsiam"
        assert "polygon" in client.region_formats or trax.Region.POLYGON in client.region_formats
        points = [(float(polygon[i]), float(polygon[i + 1])) for i in range(0, 8, 2)]
        status, _ = client.initialize({"color": FileImage.create(str(frames[0]))}, [(Polygon.create(points), {})], {})
        np.testing.assert_allclose(status[0][0].bounds(), init, atol=1e-3)  # pysot's box, not the envelope
        for frame, want in zip(frames[1:], expected):
            status, _ = client.frame({"color": FileImage.create(str(frame))}, {}, [])
            np.testing.assert_allclose(status[0][0].bounds(), want, atol=1e-3)
            assert 0.0 <= float(status[0][1]["confidence"]) <= 1.0
        client.quit()
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_python_protocol_tracker_is_the_same_tracker(vot_bag, tmp_path):
    """``VotTracker`` as the toolkit's ``python`` runtime drives it: keyword strings from ``arg_*``, a polygon as a
    list of points, image paths; ``init`` returns pysot's box, ``update`` the in-process tracker's boxes."""
    from dastsiam.vot_toolkit import VotTracker

    root = vot_bag(moved=(), grid=BOX_GRID)
    frames = sorted((root / "bag").glob("*.jpg"))[:6]
    polygon = np.loadtxt(root / "bag" / "groundtruth.txt", delimiter=",")[0]
    init, expected = _reference_boxes(root, len(frames))
    tracker = VotTracker(model="nano", backend="onnx", threads="1")
    assert tracker.multiobject is False and tracker.rule == "pysot"
    points = [(float(polygon[i]), float(polygon[i + 1])) for i in range(0, 8, 2)]
    np.testing.assert_allclose(tracker.init(str(frames[0]), (points, {})), init)
    for frame, want in zip(frames[1:], expected):
        np.testing.assert_allclose(tracker.update(str(frame)), want, atol=1e-6)
    envelope = VotTracker(model="nano", backend="onnx", init="envelope")
    np.testing.assert_allclose(envelope.init(str(frames[0]), points), [292.25, 128.375, 145.9375, 132.4375])  # min/max


def test_vot_ini_is_the_trax_entry_of_this_installation(capsys):
    assert main(["vot", "--ini", "--model", "nano"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("[dastsiam]\n") and "protocol = trax\n" in text
    assert f"command = {DASTSIAM} vot --model nano\n" in text
    assert main(["vot", "--ini", "--model", "my weights.safetensors", "--init", "envelope", "--backend", "onnx"]) == 0
    assert f"command = {DASTSIAM} vot --model 'my weights.safetensors' --backend onnx --init envelope\n" in \
        capsys.readouterr().out


# ---------------------------------------------------------------------------------------------- the real toolkit
needs_toolkit = pytest.mark.skipif(
    not (VOT_ENV / "bin" / "vot").is_file(),
    reason=f"no VOT toolkit environment at {VOT_ENV} (create it with: bash scripts/vot_toolkit_env.sh)")


def _workspace(vot_bag, tmp_path) -> Path:
    root = vot_bag(grid=BOX_GRID)
    workspace = tmp_path / "workspace"
    subprocess.run([str(DASTSIAM), "vot", "--workspace", str(workspace), "--sequences", str(root), "--model", "nano"],
                   check=True, capture_output=True)
    return workspace


def _vot(workspace: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "VOT_RESULTS_BINARY": "0"}  # text trajectories, which dastsiam eval reads as well
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(VOT_ENV / "bin" / "vot"), *args], cwd=workspace, capture_output=True, text=True,
                          timeout=timeout, env=env)


def _same_trajectory(a: list[str], b: list[str]) -> list:
    """Same length and flags (init 1, failure 2, skipped 0) on the same frames; boxes equal up to the 4 decimals
    TraX carries them with. Returns the flags."""
    assert len(a) == len(b) == 196
    flags = [(i, x) for i, x in enumerate(a) if "," not in x]
    assert flags == [(i, y) for i, y in enumerate(b) if "," not in y]
    for x, y in zip(a, b):
        if "," in x:
            np.testing.assert_allclose(np.array(x.split(","), float), np.array(y.split(","), float), atol=1e-3)
    return flags


def _analysis(workspace: Path, tracker: str) -> dict:
    """Accuracy, failures and EAO of ``vot analysis --format json`` (vot-toolkit 0.9.0: per analysis of the
    experiment, in the stack's order -- A-R, EAO score, EAO curve -- one entry per tracker)."""
    done = _vot(workspace, "analysis", tracker, "--experiments", "baseline", "--format", "json", "--name", tracker)
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    results = json.loads((workspace / "analysis" / f"{tracker}.json").read_text())["results"]["baseline"]["results"]
    (accuracy, failures, _curve, _length), = results[0][0:1]
    return {"accuracy": accuracy, "failures": failures, "eao": results[1][0][0], "curve": results[2][0][0]}


@needs_toolkit
@pytest.mark.slow
def test_vot_toolkit_runs_dastsiam_and_agrees_with_dastsiam_eval(vot_bag, tmp_path, capsys):
    """``vot test`` on both protocols, then ``vot evaluate --experiments baseline`` (the reset protocol, through
    the workspace's fixed supervised experiment) on bag with a forced failure at frame 99: the toolkit's
    trajectory equals ``dastsiam run``'s (same failure, re-initialisation 5 frames later, same boxes), and the
    toolkit's accuracy, failures and EAO equal ``dastsiam eval``'s."""
    workspace = _workspace(vot_bag, tmp_path)
    with open(workspace / "trackers.ini", "a") as ini:  # the toolkit's python protocol, beside the TraX entry
        ini.write("\n[dastsiam_py]\nprotocol = python\ncommand = dastsiam.vot_toolkit:VotTracker\narg_model = nano\n"
                  "arg_backend = onnx\n")
    done = _vot(workspace, "test", "dastsiam")  # `vot test` logs tracker errors and still exits 0: read the log
    log = done.stdout + done.stderr
    assert done.returncode == 0 and "Test concluded successfuly" in log and "rror" not in log, log[-2000:]

    for tracker in ("dastsiam", "dastsiam_py"):
        done = _vot(workspace, "evaluate", tracker, "--experiments", "baseline")
        assert done.returncode == 0 and "Evaluation concluded successfuly" in done.stdout + done.stderr, \
            (done.stdout + done.stderr)[-2000:]
    python_runs = sorted((workspace / "results" / "dastsiam_py" / "baseline" / "bag").glob("bag_[0-9][0-9][0-9].txt"))
    toolkit_runs = sorted((workspace / "results" / "dastsiam" / "baseline" / "bag").glob("bag_[0-9][0-9][0-9].txt"))
    assert len(toolkit_runs) == len(python_runs) == 3  # 15 repetitions, stopped after 3 identical runs (deterministic)
    _same_trajectory(toolkit_runs[0].read_text().split(), python_runs[0].read_text().split())  # both protocols

    # dastsiam's own reset protocol on the same sequence: same failure, same re-initialisation, same boxes
    ours = tmp_path / "ours"
    assert main(["run", "--dataset", "vot2018", "--root", str(workspace.parent / "sequences"), "--results", str(ours),
                 "--name", "nano", "--model", "nano", "--backend", "onnx"]) == 0
    mine = (ours / "nano" / "baseline" / "bag" / "bag_001.txt").read_text().split()
    flags = _same_trajectory(mine, toolkit_runs[0].read_text().split())
    assert flags[:3] == [(0, "1"), (99, "2"), (100, "0")] and (104, "1") in flags

    toolkit = _analysis(workspace, "dastsiam")
    capsys.readouterr()
    scores = {}
    for name, results, tracker in (("toolkit_run", workspace / "results", "dastsiam"), ("our_run", ours, "nano")):
        out = tmp_path / f"{name}.json"
        assert main(["eval", "--dataset", "vot2018", "--root", str(workspace.parent / "sequences"),
                     "--results", str(results), "--trackers", tracker, "--json", str(out)]) == 0
        scores[name] = json.loads(out.read_text())[tracker]
    assert scores["toolkit_run"]["failures"] == scores["our_run"]["failures"] == toolkit["failures"] == 1
    assert scores["toolkit_run"]["accuracy"] == pytest.approx(toolkit["accuracy"], abs=1e-5)
    assert scores["our_run"]["accuracy"] == pytest.approx(toolkit["accuracy"], abs=1e-3)
    # the same expected-overlap curve; the toolkit averages it over lengths 101-357, one later than VOT2018's
    # MATLAB toolkit and pysot (docs/evaluation.md)
    curve = np.array(scores["toolkit_run"]["curves"]["expected_overlap"]["values"], float)
    theirs = np.array(toolkit["curve"], float)  # the toolkit's curve analysis stops earlier: compare what both have
    n = min(len(curve), len(theirs))
    assert n > 90
    np.testing.assert_allclose(curve[1:n], theirs[1:n], atol=1e-5)
    # the toolkit pads a failed fragment only to the longest *fragment* (here 99 frames), so no curve point
    # reaches its window and its EAO is undefined (NaN) on this one short sequence; ours pads to the longest
    # sequence, as VOT2018's MATLAB toolkit and pysot do (on bag without the forced failure both give 0.7235)
    assert len(theirs) == 99 and np.isnan(toolkit["eao"])
    assert scores["toolkit_run"]["eao"] == pytest.approx(float(np.mean(curve[99:356])), abs=1e-6)
    assert scores["our_run"]["eao"] == pytest.approx(scores["toolkit_run"]["eao"], abs=1e-3)


@needs_toolkit
def test_the_toolkits_own_supervised_experiment_rejects_single_object_trax_trackers(vot_bag, tmp_path):
    """The diagnosis, kept honest: vot-toolkit 0.9.0's stock ``supervised`` experiment (stack
    ``vot2018/shortterm``) stops with "multiple objects" for the toolkit's *own* dummy TraX tracker too, so
    neither the workspace nor the integration is at fault. When a toolkit release fixes it, this test fails:
    then the workaround stack can go (docs/evaluation.md, "VOT toolkit")."""
    workspace = _workspace(vot_bag, tmp_path)
    (workspace / "config.yaml").write_text(
        (workspace / "config.yaml").read_text().replace("dastsiam_vot2018.yaml", "vot2018/shortterm"))
    with open(workspace / "trackers.ini", "a") as ini:
        ini.write("\n[toolkit_dummy]\nprotocol = traxpython\ncommand = vot.tracker.dummy\nenv_VOT_MODE = trax\n")
    for tracker in ("toolkit_dummy", "dastsiam"):
        done = _vot(workspace, "evaluate", tracker, "--experiments", "baseline")
        assert ("Tracker does not support multiple objects, but multiple objects were provided for initialization"
                in done.stdout + done.stderr), (done.stdout + done.stderr)[-2000:]
