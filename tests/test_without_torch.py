"""torch is the ``[torch]`` extra: without it the core tracks (onnxruntime), and every path that needs torch says
in one line which extra installs it, through the real command line (issue 18.2).

The CLI runs in a subprocess whose import system refuses ``torch`` (as an environment without it would);
scripts/check_pythons.sh does the same with a wheel installed into a fresh venv that really lacks torch.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "assets" / "bag.mp4"
BOX = REPO / "assets" / "bag_init_box.txt"

# a meta-path finder that makes `import torch` (and its submodules) fail as in an environment without torch
_NO_TORCH = textwrap.dedent("""
    import sys
    class _NoTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None
    sys.meta_path.insert(0, _NoTorch())
""")


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _NO_TORCH + textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)


def _cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    code = f"""
        from dastsiam.cli.main import main
        code = main({args!r})
        assert "torch" not in sys.modules
        sys.exit(code)
    """
    return _python(code, tmp_path)


def _one_line_naming_the_extra(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dastsiam: error: PyTorch is not installed"), lines[0]
    assert "dastsiam[torch]" in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_track_without_torch_uses_onnxruntime(tmp_path):
    out = tmp_path / "out"
    result = _cli(["track", str(SAMPLE), "--box", str(BOX), "--out", str(out), "--max-frames", "5",
                   "--no-progress", "--threads", "1"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert len((out / "boxes.txt").read_text().splitlines()) == 5


@pytest.mark.parametrize("args", [
    ["track", str(SAMPLE), "--box", str(BOX), "--backend", "torch", "--max-frames", "2", "--no-progress"],
    ["track", str(SAMPLE), "--box", str(BOX), "--device", "cuda", "--max-frames", "2", "--no-progress"],
    ["export", "--model", "nano", "--out", "exported"],
    ["train", str(REPO / "configs" / "smoke.yaml"), "--out-dir", "train_out"],
], ids=["track-backend-torch", "track-device-cuda", "export", "train"])
def test_torch_paths_say_which_extra(tmp_path, args):
    _one_line_naming_the_extra(_cli(args, tmp_path))


def test_track_user_weights_without_torch(tmp_path):
    """A user's .safetensors file is run by torch (or exported to ONNX by torch): one line, not a traceback."""
    user = REPO / "src" / "dastsiam" / "weights" / "dastsiam_nano.safetensors"  # config in its metadata
    result = _cli(["track", str(SAMPLE), "--box", str(BOX), "--model", str(user), "--max-frames", "2",
                   "--no-progress", "--out", "o"], tmp_path)
    _one_line_naming_the_extra(result)


def test_api_names_the_extra(tmp_path):
    result = _python("""
        import dastsiam
        tracker = dastsiam.load_tracker("nano", threads=1)       # onnxruntime: no torch needed
        assert tracker.backend == "onnx"
        try:
            dastsiam.load_tracker("nano", backend="torch")
        except ImportError as exc:
            print(type(exc).__name__, exc)
        else:
            raise SystemExit("load_tracker(backend='torch') worked without torch")
        assert "torch" not in sys.modules
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "dastsiam[torch]" in result.stdout and "ModuleNotFoundError" not in result.stdout, result.stdout
