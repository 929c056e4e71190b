"""Issue 20 (reliability round 3), the bugs outside the web app, as a specification.

Every case goes through the real entry point (``python -m dastsiam.cli.main``, or the Python API in a fresh
interpreter) and reproduces a case of ``../shared/reports/reliability-2026-12-06.md`` (its case names are in
the comments); each failed on the main of 2026-12-06. The index is ``ISSUE_20_RELIABILITY`` in
tests/test_faults.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
VIDEO = REPO / "assets" / "bag.mp4"
BOX = "312.64,146.89,105.13,95.41"
SMOKE = REPO / "configs" / "smoke.yaml"
HAS_DEV_FULL = os.path.exists("/dev/full")


def dastsiam(*args, env=None, timeout=300, **kwargs) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    streams = {"stdout": kwargs.pop("stdout", subprocess.PIPE), "stderr": subprocess.PIPE}
    return subprocess.run([sys.executable, "-m", "dastsiam.cli.main", *map(str, args)], text=True,
                          timeout=timeout, env=full_env, **streams, **kwargs)


def no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr[-3000:]


def one_error_line(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit status 2 and exactly one ``dastsiam: error:`` line on stderr holding every fragment."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("dastsiam: error: "), proc.stderr[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# ---------------------------------------------------------------- onnxruntime telemetry
def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_track_writes_no_onnxruntime_telemetry(tmp_path):
    """onnxruntime 1.32 wrote ~/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db} (a
    device id, the Python path, OS, CPU) on every run, at import; nothing may appear under HOME now."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "DASTSIAM_CACHE": str(tmp_path / "dc")}
    env.pop("ORT_DISABLE_TELEMETRY", None)
    full_env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    proc = subprocess.run([sys.executable, "-m", "dastsiam.cli.main", "track", str(VIDEO), "--box", BOX, "--out",
                           str(tmp_path / "o"), "--max-frames", "3", "--backend", "onnx", "--no-progress"],
                          capture_output=True, text=True, timeout=300, env={**full_env, **env})
    assert proc.returncode == 0, proc.stderr
    assert _files_under(home) == []


def test_python_api_writes_no_onnxruntime_telemetry(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    script = ("import cv2, dastsiam; t = dastsiam.load_tracker(backend='onnx'); v = cv2.VideoCapture(%r); "
              "t.init(v.read()[1], (%s)); print(t.update(v.read()[1])[0])" % (str(VIDEO), BOX))
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert _files_under(home) == []
    assert "ORT_DISABLE_TELEMETRY" not in subprocess.run(
        [sys.executable, "-c", "import os, dastsiam.runtime as r; r.import_onnxruntime(); print(dict(os.environ))"],
        capture_output=True, text=True, env=env, timeout=120).stdout  # the user's environment is left as it was


# ---------------------------------------------------------------- B20: stdout that cannot be written
@pytest.mark.skipif(not HAS_DEV_FULL, reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("command", ["models", "track", "eval", "help"])
def test_stdout_on_a_full_disk_is_one_line(tmp_path, command, shared_data):
    """TR08_stdout_dev_full: ``> /dev/full`` ended every command with an OSError traceback."""
    args = {
        "models": ["models"],
        "track": ["track", VIDEO, "--box", BOX, "--out", tmp_path / "o", "--max-frames", 2, "--no-progress"],
        "eval": ["eval", "--dataset", "otb", "--anno", shared_data / "OTB100" / "anno", "--results",
                 shared_data / "OTB100" / "results", "--sequences", "Couple,Crossing"],
        "help": ["--help"],
    }[command]
    with open("/dev/full", "w") as full:
        proc = dastsiam(*args, stdout=full)
    one_error_line(proc, "standard output", "No space left")
    if command == "track":  # the work itself was done and kept
        assert len((tmp_path / "o" / "boxes.txt").read_text().splitlines()) == 2


@pytest.mark.parametrize("command", ["models", "eval"])
def test_stdout_closed_by_its_reader_ends_quietly(command, shared_data):
    """TR08b_eval_broken_pipe: ``dastsiam eval ... | head -1`` ended with a BrokenPipeError traceback. Like
    ``yes | head``, the command now ends quietly with 141 (128 + SIGPIPE)."""
    args = {"models": ["models"],
            "eval": ["eval", "--dataset", "otb", "--anno", shared_data / "OTB100" / "anno", "--results",
                     shared_data / "OTB100" / "results", "--sequences", "Couple,Crossing"]}[command]
    proc = subprocess.Popen([sys.executable, "-m", "dastsiam.cli.main", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # the reader is gone before the first line is written
    _, err = proc.communicate(timeout=300)
    assert err == "" and proc.returncode == 141, err


# ---------------------------------------------------------------- B19: export --opset out of range
@pytest.mark.parametrize("opset", ["99", "0"])
def test_export_with_an_unsupported_opset_is_one_line(tmp_path, opset):
    """EX1_export_bad_opset: RuntimeError traceback."""
    proc = dastsiam("export", "--out", tmp_path / "ex", "--opset", opset)
    one_error_line(proc, f"opset {opset}", "7 to")
    assert not (tmp_path / "ex").exists()


# ---------------------------------------------------------------- B12: VOT trajectories with bad flags
def _vot_results(root: Path, shared_data: Path, tracker: str, line60: str | bytes | None) -> Path:
    """A bag trajectory (flag 1, then the ground-truth polygons) with line 60 replaced."""
    gt = (shared_data / "VOT" / "bag" / "groundtruth.txt").read_text().splitlines()
    lines = ["1"] + gt[1:]
    folder = root / tracker / "baseline" / "bag"
    folder.mkdir(parents=True)
    path = folder / "bag_001.txt"
    if isinstance(line60, bytes):
        path.write_bytes(line60)
    else:
        if line60 is not None:
            lines[59] = line60
        path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("case,line60", [("EV22_binary", bytes(range(256)) * 8), ("EV23_nan", "nan"),
                                         ("EV24_inf", "inf"), ("EV20_unknown", "9"), ("fractional", "2.7")])
def test_vot_reader_names_the_bad_file_and_scores_the_rest(tmp_path, shared_data, case, line60):
    """A binary file, a ``nan`` or ``inf`` flag crashed the reader (traceback); an unknown flag ``9`` or a
    fractional ``2.7`` (read as a failure) passed silently. Now: a warning naming file and line, that run is
    skipped, the other tracker is scored."""
    root = tmp_path / "results"
    _vot_results(root, shared_data, "good", None)
    bad = _vot_results(root, shared_data, "bad", line60)
    proc = dastsiam("eval", "--dataset", "vot2018", "--root", shared_data / "VOT", "--results", root)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert "good" in proc.stdout
    where = f"{bad}:" if isinstance(line60, bytes) else f"{bad}:60:"
    warning = [line for line in proc.stderr.splitlines() if where in line]
    assert warning and "run skipped" in warning[0], proc.stderr
    assert ("not a text file" if isinstance(line60, bytes) else "not a VOT flag") in warning[0]


# ---------------------------------------------------------------- B13: eval options out of range
@pytest.mark.parametrize("value", ["-5", "nan", "0", "inf"])
def test_eval_precision_threshold_must_be_positive(shared_data, value):
    """EVO3: ``--precision-threshold -5`` / ``nan`` printed 0.000 under "Prec@20" with exit 0."""
    proc = dastsiam("eval", "--dataset", "otb", "--anno", shared_data / "OTB100" / "anno", "--results",
                    shared_data / "OTB100" / "results", "--sequences", "Couple", "--precision-threshold", value)
    one_error_line(proc, "--precision-threshold")


def test_eval_precision_column_names_its_threshold(shared_data):
    proc = dastsiam("eval", "--dataset", "otb", "--anno", shared_data / "OTB100" / "anno", "--results",
                    shared_data / "OTB100" / "results", "--sequences", "Couple", "--precision-threshold", "10")
    assert proc.returncode == 0, proc.stderr
    assert "Prec@10" in proc.stdout and "Prec@20" not in proc.stdout


def test_eval_negative_vot_burn_in_is_refused(tmp_path, shared_data):
    """EVO6: ``--vot-burn-in -5`` changed the accuracy (0.684 -> 0.674) with exit 0."""
    _vot_results(tmp_path / "r", shared_data, "good", None)
    proc = dastsiam("eval", "--dataset", "vot2018", "--root", shared_data / "VOT", "--results", tmp_path / "r",
                    "--vot-burn-in", "-5")
    one_error_line(proc, "--vot-burn-in -5")


# ---------------------------------------------------------------- B14 / B26: model files with bad contents
def _in_subprocess(code: str) -> None:
    """Run ``code`` in a fresh interpreter: importing torch into the test process would change what in-process
    CLI tests of other files print (dastsiam.runtime's note on a torch imported too early)."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def _weights(path: Path, metadata: dict | None, nan: bool = False) -> Path:
    _in_subprocess(
        "from safetensors.torch import load_file, save_file\n"
        f"state = load_file({str(REPO / 'src' / 'dastsiam' / 'weights' / 'nanotrack_v2.safetensors')!r})\n"
        + ("state = {k: v.float().fill_(float('nan')) if v.is_floating_point() else v for k, v in state.items()}\n"
           if nan else "")
        + f"save_file(state, {str(path)!r}, metadata={metadata!r})\n")
    return path


NANO_CONFIG = "arch: nano\nnano_version: v2\nconfidence: cls\n"


@pytest.mark.parametrize("case", ["MD04_broken_metadata", "MD05_python_tag", "MD06_side_yaml_list",
                                  "MD07_side_yaml_broken"])
def test_broken_model_config_yaml_is_one_line(tmp_path, case):
    """A .safetensors whose config metadata is broken YAML or carries a !!python tag, or whose side .yaml is
    broken or a list: yaml / AttributeError tracebacks."""
    weights = tmp_path / "x.safetensors"
    if case == "MD04_broken_metadata":
        _weights(weights, {"dastsiam_model_config": "arch: [nano"})
    elif case == "MD05_python_tag":
        _weights(weights, {"dastsiam_model_config": "!!python/object/apply:os.system ['touch pwned']"})
    else:
        _weights(weights, None)
        weights.with_suffix(".yaml").write_text("- arch: nano\n" if case == "MD06_side_yaml_list" else "arch: [nano")
    proc = dastsiam("track", VIDEO, "--box", BOX, "--out", tmp_path / "o", "--max-frames", 2, "--model", weights,
                    "--backend", "torch", "--no-progress", cwd=tmp_path)
    line = one_error_line(proc, "model config")
    assert str(weights if case.startswith(("MD04", "MD05")) else weights.with_suffix(".yaml")) in line
    assert not (tmp_path / "pwned").exists()


def test_nan_weights_are_refused(tmp_path):
    """MD12_nan_weights: all-NaN weights tracked a box frozen on the initial box, exit 0, no word."""
    weights = _weights(tmp_path / "nan.safetensors", {"dastsiam_model_config": NANO_CONFIG}, nan=True)
    proc = dastsiam("track", VIDEO, "--box", BOX, "--out", tmp_path / "o", "--max-frames", 3, "--model", weights,
                    "--backend", "torch", "--no-progress")
    one_error_line(proc, str(weights), "NaN")


# ---------------------------------------------------------------- training: B15, B16, B17, B24, B25
def _train_config(tmp_path: Path, shared_data: Path, lr: str = "0.005") -> Path:
    text = SMOKE.read_text().replace("lr_start: 0.005", f"lr_start: {lr}")
    text = text.replace("../shared/data/train", str(shared_data / "train"))
    text = text.replace("epochs: 3", "epochs: 2").replace("samples_per_epoch: 4", "samples_per_epoch: 2")
    path = tmp_path / "tr.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shared_data):
    """One real training run (2 epochs of one step each) to take a checkpoint from."""
    folder = tmp_path_factory.mktemp("trained")
    config = _train_config(folder, shared_data)
    proc = dastsiam("train", config, "--out-dir", folder / "run")
    return folder, config, proc


def test_train_config_reads_5e_minus_3_as_a_number(tmp_path, shared_data):
    """TR03_yaml_scientific_lr: ``lr_start: 5e-3`` (a string to YAML 1.1) was refused as "not a number"."""
    config = _train_config(tmp_path, shared_data, lr="5e-3")
    config.write_text(config.read_text().replace("epochs: 2", "epochs: 1"))
    proc = dastsiam("train", config, "--out-dir", tmp_path / "run", "--set", "optim.lr_end=1e-3")
    assert proc.returncode == 0, proc.stderr[-3000:]
    import yaml

    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["optim"]["lr_start"] == 0.005 and saved["optim"]["lr_end"] == 0.001


def _damaged_checkpoint(folder: Path, tmp_path: Path, case: str) -> Path:
    change = {"TR10d_epoch_negative": "state['epoch'] = -3",
              "epoch_past_config": "state['epoch'] = 99",
              "TR10e_bad_optimizer": "state['optimizer'] = {'state': {}, 'param_groups': []}",
              "TR10f_bad_rng": "state['rng'] = {'torch': torch.zeros(5, dtype=torch.uint8)}"}[case]
    out = tmp_path / "resume"
    out.mkdir()
    _in_subprocess(f"import torch\nstate = torch.load({str(folder / 'run' / 'last.pt')!r}, map_location='cpu', "
                   f"weights_only=True)\n{change}\ntorch.save(state, {str(out / 'last.pt')!r})\n")
    return out


@pytest.mark.parametrize("case,fragment", [("TR10d_epoch_negative", "epoch is -3"),
                                           ("epoch_past_config", "epoch 99"),
                                           ("TR10e_bad_optimizer", "optimizer state"),
                                           ("TR10f_bad_rng", "random generator state")])
def test_resume_from_a_checkpoint_with_bad_values_is_one_line(trained, tmp_path, case, fragment):
    """Only the key names of last.pt were checked: epoch -3 (ZeroDivisionError), an optimizer without param
    groups (ValueError), a 5-byte RNG state (RuntimeError) gave tracebacks; epoch 99 of a 2-epoch config
    was "finished after 99 epochs"."""
    folder, config, proc = trained
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = _damaged_checkpoint(folder, tmp_path, case)
    before = (out / "last.pt").read_bytes()
    proc = dastsiam("train", config, "--out-dir", out, "--resume")
    one_error_line(proc, str(out / "last.pt"), fragment)
    assert (out / "last.pt").read_bytes() == before


@pytest.mark.skipif(not HAS_DEV_FULL, reason="needs /dev/full (Linux) to play a full disk")
def test_train_on_a_full_disk_is_one_line_and_leaves_no_partial_file(tmp_path, shared_data):
    """TR07_train_disk_full: ENOSPC surfaced as "RuntimeError: [enforce fail at inline_container.cc:672]
    unexpected pos" with a traceback, and the partial last.pt.tmp stayed."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "last.pt").write_bytes(b"the previous checkpoint")
    (out / "last.pt.tmp").symlink_to("/dev/full")  # every write of the checkpoint: ENOSPC
    proc = dastsiam("train", _train_config(tmp_path, shared_data), "--out-dir", out)
    one_error_line(proc, str(out / "last.pt"), "No space left", "previous last.pt is kept")
    assert not (out / "last.pt.tmp").exists() and not (out / "last.pt.tmp").is_symlink()
    assert (out / "last.pt").read_bytes() == b"the previous checkpoint"


def test_train_out_dir_that_is_a_file_is_one_line(tmp_path, shared_data):
    """TR16_out_dir_is_file: NotADirectoryError traceback (out/existing_file/tensorboard)."""
    blocker = tmp_path / "existing_file"
    blocker.write_text("keep me\n")
    proc = dastsiam("train", _train_config(tmp_path, shared_data), "--out-dir", blocker)
    one_error_line(proc, str(blocker), "not a folder")
    proc = dastsiam("train", _train_config(tmp_path, shared_data), "--out-dir", blocker / "sub")
    one_error_line(proc, str(blocker / "sub"), "cannot create")
    assert blocker.read_text() == "keep me\n"


def test_train_binary_config_is_one_line(tmp_path):
    """TR12_config_binary: UnicodeDecodeError traceback."""
    config = tmp_path / "binary.yaml"
    config.write_bytes(bytes(range(128, 256)) * 16)
    proc = dastsiam("train", config)
    one_error_line(proc, str(config), "not a YAML text file")


def test_short_annotation_is_a_warning_naming_the_file(tmp_path, shared_data):
    """TR09c_anno_shorter: 50 annotation rows for 193 frames was accepted silently (a longer file is refused)."""
    source = shared_data / "train" / "UAV123_10fps-bike1"  # a training-set video laid out as UAV123
    root = tmp_path / "uav"
    (root / "anno").mkdir(parents=True)
    (root / "data_seq").mkdir()
    (root / "data_seq" / "bike1").symlink_to(source)
    rows = (source / "groundtruth.txt").read_text().splitlines()
    frames = len(list(source.glob("*.jpg")))
    anno = root / "anno" / "bike1.txt"
    anno.write_text("\n".join(rows[:50]) + "\n")
    config = _train_config(tmp_path, shared_data).read_text().replace(
        str(shared_data / "train"), str(root)).replace("kind: got10k", "kind: uav123").replace("epochs: 2", "epochs: 1")
    (tmp_path / "short.yaml").write_text(config)
    proc = dastsiam("train", tmp_path / "short.yaml", "--out-dir", tmp_path / "run")
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("dastsiam: warning:")]
    assert len(warnings) == 1 and str(anno) in warnings[0] and f"50 annotation rows but {frames} frames" in warnings[0]


# ---------------------------------------------------------------- B2: a finite but absurd initial box
@pytest.mark.parametrize("box", ["0,0,1e308,1e308", "0,0,1e200,1e200", "-1e200,-1e200,3e200,3e200"])
def test_absurd_initial_box_tracks_finite_boxes(tmp_path, shared_data, box):
    """T01 / T01c_box_1e200: boxes from about 1e154 px on made every later row ``nan,nan,nan,nan`` (exit 0):
    the context area (w + p)(h + p) overflowed. The box is clipped to the frame as every later box is."""
    proc = dastsiam("track", shared_data / "OTB" / "Couple" / "img", f"--box={box}", "--out", tmp_path / "o",
                    "--max-frames", 5, "--no-progress")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    rows = np.loadtxt(tmp_path / "o" / "boxes.txt", delimiter=",", ndmin=2)
    assert rows.shape == (5, 4) and np.all(np.isfinite(rows))
    assert np.all(rows[1:, 2] <= 320) and np.all(rows[1:, 3] <= 240)  # within the 320x240 frame


def test_absurd_initial_box_through_the_python_api(shared_data):
    """PA24_init_box_1e200_api: ``update()`` said ``ok=True`` with a NaN box."""
    frames = shared_data / "OTB" / "Couple" / "img"
    script = ("import cv2, dastsiam, math; t = dastsiam.load_tracker(); "
              f"t.init(cv2.imread({str(frames / '0001.jpg')!r}), [0, 0, 1e200, 1e200]); "
              f"ok, box = t.update(cv2.imread({str(frames / '0002.jpg')!r})); "
              "print(ok, all(math.isfinite(v) for v in box))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "True", proc.stdout


# ---------------------------------------------------------------- B3 (track): a FIFO as input
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_track_refuses_a_fifo_at_once(tmp_path):
    """C01_track_fifo_uninterruptible: ``dastsiam track FIFO`` blocked inside cv2.VideoCapture, where neither
    Ctrl-C nor SIGTERM reached it (only SIGKILL). Anything that is not a regular file or a folder is refused
    before OpenCV opens it."""
    fifo = tmp_path / "fifo.mp4"
    os.mkfifo(fifo)
    try:
        proc = dastsiam("track", fifo, "--box", "1,1,10,10", "--out", tmp_path / "o", timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("dastsiam track hung on a FIFO")
    one_error_line(proc, str(fifo), "not a regular file")


# ---------------------------------------------------------------- run: B9, B10, B11, B28
def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads /proc (Linux)")
def test_run_workers_end_with_a_killed_parent(tmp_path, shared_data):
    """RS06_kill9_workers2: after ``kill -9`` of ``dastsiam run --workers 2`` its workers (ppid 1) finished
    their sequence and then hung forever on the pool's queue, about 110 MB each."""
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "dastsiam.cli.main", "run", "--dataset", "otb", "--root",
                             str(shared_data / "OTB"), "--results", str(tmp_path / "r"), "--workers", "2",
                             "--sequences", "Surfer,MotorRolling,Couple"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(workers) < 2 and proc.poll() is None:
            workers = _children(proc.pid)
            time.sleep(0.1)
        assert len(workers) >= 2, "the workers did not start"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.2)
        assert not any(_alive(w) for w in workers), "orphaned workers are still running"
    finally:
        for pid in [proc.pid] + workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def test_run_resume_reruns_short_and_empty_results(tmp_path, shared_data):
    """RS07_resume_partial_files: an empty or truncated <Seq>.txt counted as finished ("0 result files
    written"); eval then scored the gap as failures (AUC 0.254 instead of 0.677)."""
    folder = tmp_path / "r" / "nano"
    folder.mkdir(parents=True)
    (folder / "Couple.txt").write_text("")
    (folder / "Crossing.txt").write_text("1,2,3,4\n" * 10)
    proc = dastsiam("run", "--dataset", "otb", "--root", shared_data / "OTB", "--results", tmp_path / "r",
                    "--sequences", "Couple,Crossing")
    assert proc.returncode == 0, proc.stderr
    assert "2 result files written" in proc.stdout
    assert len((folder / "Couple.txt").read_text().splitlines()) == 140
    assert len((folder / "Crossing.txt").read_text().splitlines()) == 120
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("dastsiam: warning:")]
    assert len(warnings) == 2 and "10 lines for 120 frames" in " ".join(warnings), proc.stderr


@pytest.mark.parametrize("protocol", ["sre", "tre"])
def test_run_protocol_resume_reruns_a_truncated_run(tmp_path, shared_data, protocol):
    """B10's resume bug in SRE/TRE: any existing ``<Seq>_<run>.txt`` counted as finished, so an empty or
    truncated run file was scored with its gap as failures. A run is finished only with one line per frame
    from its start frame to the end (Crossing: 120 frames, every box valid, so SRE's runs start on frame 1)."""
    from dastsiam.datasets import load_dataset
    from dastsiam.evaluation.protocols import run_ids

    seq = load_dataset("otb", shared_data / "OTB", names=["Crossing"])[0]
    ids = list(dict.fromkeys(run_ids(protocol, seq.ground_truth)))
    assert len(ids) == (12 if protocol == "sre" else 20)
    # a finished-looking file for every run but the last (TRE: the latest start, the shortest run to redo)
    start = {r: (0 if protocol == "sre" else int(r[1:]) - 1) for r in ids}
    folder = tmp_path / "r" / "nano" / protocol / "Crossing"
    folder.mkdir(parents=True)
    for r in ids[:-1]:
        (folder / f"Crossing_{r}.txt").write_text("1,2,3,4\n" * (120 - start[r]))
    truncated = folder / f"Crossing_{ids[-1]}.txt"
    truncated.write_text("1,2,3,4\n" * 3)
    proc = dastsiam("run", "--dataset", "otb", "--root", shared_data / "OTB", "--results", tmp_path / "r",
                    "--sequences", "Crossing", "--protocol", protocol)
    assert proc.returncode == 0, proc.stderr
    assert "1 result files written" in proc.stdout, proc.stdout
    rows = truncated.read_text().splitlines()
    assert len(rows) == 120 - start[ids[-1]] and rows[-1] != "1,2,3,4"
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("dastsiam: warning:")]
    assert len(warnings) == 1, proc.stderr
    assert truncated.name in warnings[0] and f"3 lines for {120 - start[ids[-1]]} frames" in warnings[0]
    assert (folder / f"Crossing_{ids[0]}.txt").read_text() == "1,2,3,4\n" * (120 - start[ids[0]])  # kept


@pytest.mark.skipif(not HAS_DEV_FULL, reason="needs /dev/full (Linux) to play a full disk")
def test_run_on_a_full_disk_is_one_line(tmp_path, shared_data):
    """RS08_run_disk_full: the OSError was re-raised at the end with a raw traceback."""
    folder = tmp_path / "r" / "nano"
    folder.mkdir(parents=True)
    (folder / "Couple.txt.part").symlink_to("/dev/full")  # writing Couple.txt: ENOSPC
    proc = dastsiam("run", "--dataset", "otb", "--root", shared_data / "OTB", "--results", tmp_path / "r",
                    "--sequences", "Couple,Crossing")
    one_error_line(proc, str(folder / "Couple.txt"), "No space left", "1 finished result file is kept")
    assert len((folder / "Crossing.txt").read_text().splitlines()) == 120
    assert not (folder / "Couple.txt.part").is_symlink() and not (folder / "Couple.txt").exists()


def test_run_draws_no_progress_bar_into_a_log(tmp_path, shared_data):
    """RS05_run_progress_in_logs: tqdm bars went to stderr when it was a file or a pipe."""
    proc = dastsiam("run", "--dataset", "otb", "--root", shared_data / "OTB", "--results", tmp_path / "r",
                    "--sequences", "Couple")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr


def test_absurd_initial_box_with_save_video(tmp_path, shared_data):
    """T01b_box_1e308_save_video: drawing the 1e308 box into frame 0 died with a cv2.error traceback."""
    import cv2

    proc = dastsiam("track", shared_data / "OTB" / "Couple" / "img", "--box=0,0,1e308,1e308", "--out", tmp_path / "o",
                    "--max-frames", 5, "--save-video", "--no-progress")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    video = cv2.VideoCapture(str(tmp_path / "o" / "tracked.mp4"))
    decoded = 0
    while video.read()[0]:
        decoded += 1
    assert decoded == 5


# ---------------------------------------------------------------- B27: load_tracker(backend=...) validated
def test_load_tracker_refuses_an_unknown_backend():
    """PA05_load_bad_backend: ``load_tracker(backend="tensorrt")`` ran eager PyTorch while ``.backend`` said
    "tensorrt"."""
    script = ("import dastsiam\nfrom dastsiam.errors import InputError\ntry:\n"
              "    t = dastsiam.load_tracker(backend='tensorrt'); print('loaded', t.backend)\n"
              "except InputError as exc:\n    print('refused:', exc)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("refused:") and "'tensorrt'" in proc.stdout, proc.stdout


def test_vot_eval_whose_only_run_is_unreadable_says_why(tmp_path, shared_data):
    """The report's EV22-EV24 had one tracker: with its only run skipped, the error said "no VOT baseline
    results" and the warning naming the bad line was never printed."""
    bad = _vot_results(tmp_path / "r", shared_data, "nano", "nan")
    proc = dastsiam("eval", "--dataset", "vot2018", "--root", shared_data / "VOT", "--results", tmp_path / "r")
    one_error_line(proc, "every VOT baseline run was skipped", f"{bad}:60:", "not a VOT flag")


def _can_mount_tmpfs() -> bool:
    import shutil

    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs a private 3 MiB tmpfs (unshare -m, mount: root)")
def test_train_on_a_really_full_disk_is_one_line(tmp_path, shared_data):
    """TR07 as reported, on a real 3 MiB tmpfs: the last write is short and torch's zip writer reports
    "unexpected pos" (a RuntimeError) before Python's ENOSPC; still one line, no last.pt.tmp."""
    mount = tmp_path / "small"
    mount.mkdir()
    config = _train_config(tmp_path, shared_data)
    command = (f"mount -t tmpfs -o size=3m tmpfs {mount} && {sys.executable} -m dastsiam.cli.main train {config} "
               f"--set optim.samples_per_epoch=4 --set runtime.checkpoint_every=1 --out-dir {mount}/tr; "
               f"echo EXIT=$?; ls -a {mount}/tr")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", command], capture_output=True, text=True, timeout=600)
    no_traceback(proc)
    assert "EXIT=2" in proc.stdout and "last.pt.tmp" not in proc.stdout, proc.stdout + proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(f"dastsiam: error: {mount}/tr/last.pt: cannot write"), \
        proc.stderr[-2000:]
    assert "No space left" in proc.stderr
