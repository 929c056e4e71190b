"""Two DDP processes on CPU (gloo) train a few steps across the backbone-unfreezing boundary; replicas equal.

Robust under load (it once failed on a 2-core machine running several suites): the run normally takes ~7 s, but
three Python processes (the torchrun agent and two ranks) that must meet in every collective can take minutes
when the cores are shared 8 ways, so the bound is generous; the rendezvous store's own read timeout (60 s by
default) is raised likewise; on a time-out the whole process group is killed (``subprocess.run`` would kill only
the agent and leave both ranks running, slowing every later test) and its output reported. Ports cannot clash
with tests running in parallel: ``--standalone`` binds the rendezvous store to port 0 (the OS picks a free one)
and the ranks reuse that store (no second, guessed port).
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 900  # ~7 s on an idle machine


@pytest.mark.slow
def test_two_process_ddp_keeps_replicas_equal(shared_data, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("TORCH_DISABLE_SHARE_RDZV_TCP_STORE", None)  # keep the ranks on the rendezvous store's free port
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "--rdzv-conf", f"read_timeout={TIMEOUT_S}",
           str(REPO / "scripts" / "train_ddp_check.py"),
           "--data", str(shared_data / "train"), "--out-dir", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the agent and both ranks
        stdout, stderr = proc.communicate()
        pytest.fail(f"torchrun did not finish in {TIMEOUT_S} s:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    assert proc.returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert "DDP check passed: 2 replicas equal after 4 steps" in stdout
    assert (tmp_path / "last.pt").is_file() and (tmp_path / "model.safetensors").is_file()
