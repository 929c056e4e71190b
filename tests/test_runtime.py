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
