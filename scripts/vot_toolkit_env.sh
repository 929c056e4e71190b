#!/usr/bin/env bash
# Creates .vot-env: the official VOT toolkit (vot-toolkit 0.9.0 with attributee 0.1.8, on Python 3.11) with dastsiam
# (this checkout, editable, torch-free: it tracks on onnxruntime) and the TraX library, for `vot test` / `vot evaluate`
# and tests/evaluation/test_vot_toolkit.py. Its own environment, because the toolkit requires opencv-python, which
# clashes with the opencv-python-headless of .venv; the lock pins opencv-python to the headless version of
# requirements/lock.txt, so both environments decode frames identically. Idempotent (~2 min the first time).
# Usage: bash scripts/vot_toolkit_env.sh [ENV_DIR]     (default .vot-env; PYTHON_VOT=python3.11 picks the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
ENV=${1:-.vot-env}
find_python311() {  # on PATH, else a pyenv install
  local candidate
  for candidate in "${PYTHON_VOT:-python3.11}" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.11*/bin/python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "" >/dev/null 2>&1; then echo "$candidate"; return 0; fi
  done
  return 1
}
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
pip_install() {  # pip's chatter goes to a log that is shown when it fails
  "$ENV/bin/python" -m pip install -q "$@" >"$LOG" 2>&1 || { cat "$LOG" >&2; echo "vot_toolkit_env: pip install $* failed" >&2; exit 1; }
}
if [ ! -x "$ENV/bin/python" ]; then
  PY=$(find_python311) || { echo "vot_toolkit_env: no Python 3.11 found (vot-toolkit 0.9.0 is tested on 3.11); set PYTHON_VOT" >&2; exit 1; }
  "$PY" -m venv "$ENV"
fi
# every run, so the environment follows the locks (a few seconds when nothing changed)
OPENCV=$(sed -n 's/^opencv-python-headless==//p' requirements/lock.txt)
pip_install -c requirements/lock.txt -c requirements/vot-lock.txt \
  vot-toolkit==0.9.0 attributee==0.1.8 "opencv-python==$OPENCV" safetensors onnxruntime
# dastsiam without its declared dependencies (no torch, no opencv-python-headless beside the toolkit's opencv-python)
pip_install --no-deps -e .
"$ENV/bin/python" -c "import vot, trax, cv2, dastsiam.vot_toolkit; print('vot_toolkit_env: vot-toolkit', vot.__version__, 'OpenCV', cv2.__version__)"
