#!/usr/bin/env bash
# Installs dastsiam (a built wheel, not editable) into a fresh venv on the oldest and the newest Python it claims
# (3.10 and the newest found here), imports it and tracks a few frames of the sample video on each.
#
# PyTorch is not installed there: PyPI has no CPU build of it for Linux (the CUDA one is several GB), so the
# package goes in with --no-deps plus the torch-free tracking dependencies, and tracks on the onnxruntime back
# end with the shipped ONNX export of `nano`. The full suite runs on the set-up Python (.venv).
# Usage: bash scripts/check_pythons.sh [python3.10 python3.13 ...]     (a Python not found here is skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
unset PYTHONPATH  # the installed wheel must be what is imported, not a checkout
REPO=$PWD
find_python() {  # an interpreter for version $1: on PATH, else a pyenv install (its shims refuse other versions)
  local v=$1 candidate
  for candidate in "python$v" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v"*/bin/"python$v"; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "" >/dev/null 2>&1; then echo "$candidate"; return 0; fi
  done
  return 1
}
PYTHONS=("$@")
if [ ${#PYTHONS[@]} -eq 0 ]; then
  PYTHONS=("$(find_python 3.10 || echo python3.10)")
  for v in 3.14 3.13 3.12; do  # the newest that exists here
    if found=$(find_python "$v"); then PYTHONS+=("$found"); break; fi
  done
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"${REPO}/.venv/bin/python" -m pip wheel -q --no-deps -w "$WORK/wheel" "$REPO" >/dev/null 2>&1 \
  || python3 -m pip wheel -q --no-deps -w "$WORK/wheel" "$REPO"
WHEEL=$(ls "$WORK"/wheel/dastsiam-*.whl)
for py in "${PYTHONS[@]}"; do
  if ! command -v "$py" >/dev/null 2>&1 || ! "$py" -c "" >/dev/null 2>&1; then
    echo "check_pythons: $py not found, skipped"; continue
  fi
  version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  env="$WORK/py$version"
  "$py" -m venv "$env"
  # pip's chatter (and its note that torch, deliberately left out, is missing) goes to a log shown on failure
  { "$env/bin/python" -m pip install -q --no-deps "$WHEEL" \
    && "$env/bin/python" -m pip install -q "numpy>=1.24" "pyyaml>=6" "tqdm>=4.60" "safetensors>=0.4" \
       "onnxruntime>=1.16" "opencv-python-headless>=4.7"; } >"$WORK/pip$version.log" 2>&1 \
    || { cat "$WORK/pip$version.log" >&2; echo "check_pythons: installing on Python $version failed" >&2; exit 1; }
  cd "$WORK"  # not the checkout: the installed package must be the one imported
  "$env/bin/python" -c "import sys, dastsiam; assert 'torch' not in sys.modules and 'cv2' not in sys.modules; print('import ok', dastsiam.__version__)"
  "$env/bin/dastsiam" track "$REPO/assets/bag.mp4" --box "$REPO/assets/bag_init_box.txt" --out "$WORK/out$version" \
    --max-frames 10 --backend onnx --threads 1 --no-progress
  lines=$(wc -l < "$WORK/out$version/boxes.txt")
  [ "$lines" -eq 10 ] || { echo "check_pythons: Python $version wrote $lines boxes, not 10" >&2; exit 1; }
  "$env/bin/python" - "$REPO/assets/bag.mp4" <<'PY'
import sys, cv2, dastsiam
video = cv2.VideoCapture(sys.argv[1])
tracker = dastsiam.load_tracker("nano", backend="onnx", threads=1)
ok, frame = video.read()
tracker.init(frame, (312.64, 146.89, 105.13, 95.41))
for _ in range(5):
    ok, frame = video.read()
    ok, box = tracker.update(frame)
assert "torch" not in sys.modules, "the onnx path imported torch"
print("api ok", [round(v, 1) for v in box])
PY
  cd "$REPO"
  echo "check_pythons: Python $version ok"
done
