"""Two DDP processes on CPU (gloo) train a few steps across the backbone-unfreezing boundary; replicas equal."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_process_ddp_keeps_replicas_equal(shared_data, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(REPO / "scripts" / "train_ddp_check.py"),
           "--data", str(shared_data / "train_extra" / "UAV123_10fps_half"), "--out-dir", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "DDP check passed: 2 replicas equal after 4 steps" in proc.stdout
    assert (tmp_path / "last.pt").is_file() and (tmp_path / "model.safetensors").is_file()
