"""Thread set-up: passive OpenMP waiting must be in place before torch starts (dastsiam/runtime.py)."""

import os
import subprocess
import sys

from dastsiam import runtime


def test_default_threads_leave_cores_to_loader_workers(monkeypatch):
    monkeypatch.setattr(runtime, "cpu_count", lambda: 8)
    assert runtime.default_threads(0) == 8
    assert runtime.default_threads(3) == 5
    assert runtime.default_threads(20) == 1


def test_prepare_environment_sets_passive_wait_without_overriding_the_user():
    code = ("import os; from dastsiam import runtime; runtime.prepare_environment(3); "
            "print(os.environ['OMP_WAIT_POLICY'], os.environ['OMP_NUM_THREADS'])")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["PASSIVE", "3"]
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == "ACTIVE"


def test_configure_torch_threads_sets_torch():
    import torch

    before = torch.get_num_threads()
    try:
        assert runtime.configure_torch_threads(1) == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_inference_threads_rule(monkeypatch):
    """docs/runtime.md: 1 thread up to 2 cores (measured), half the cores, at most 4, above."""
    for cores, expected in [(1, 1), (2, 1), (4, 2), (8, 4), (64, 4)]:
        monkeypatch.setattr(runtime, "cpu_count", lambda cores=cores: cores)
        assert runtime.inference_threads() == expected


def test_track_torch_backend_uses_passive_waiting_and_inference_threads(tmp_path):
    """The torch back end of `dastsiam track` (what untrained models get) starts with passive OpenMP waiting
    and the measured thread count, with no flags (it ran at 0.9-3.4 fps with busy-waiting threads)."""
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    code = ("import os, sys; from dastsiam.cli.main import main; "
            f"code = main(['track', {str(repo / 'assets' / 'bag.mp4')!r}, '--box', "
            f"{str(repo / 'assets' / 'bag_init_box.txt')!r}, '--backend', 'torch', '--max-frames', '2', "
            f"'--no-progress', '--out', {str(tmp_path)!r}]); "
            "import torch; from dastsiam.runtime import inference_threads; "
            "print(code, os.environ['OMP_WAIT_POLICY'], torch.get_num_threads() == inference_threads())")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(repo / "src"), env.get("PYTHONPATH", "")] if p)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-1000:]
    assert out.stdout.split()[-3:] == ["0", "PASSIVE", "True"]


def test_load_tracker_starts_torch_with_passive_waiting():
    """The Python API's torch back end gets what the command line sets up (passive OpenMP waiting before torch
    starts), and an exported OMP_WAIT_POLICY still wins; stderr stays quiet."""
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    code = ("import os, dastsiam; t = dastsiam.load_tracker('nano', backend='torch', threads=1); "
            "import sys; print('torch' in sys.modules, os.environ.get('OMP_WAIT_POLICY'))")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "KMP_BLOCKTIME")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(repo / "src"), env.get("PYTHONPATH", "")] if p)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-1000:]
    assert out.stdout.split() == ["True", "PASSIVE"] and "note" not in out.stderr
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["True", "ACTIVE"]
