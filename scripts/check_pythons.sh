#!/usr/bin/env bash
# Installs dastsiam (a built wheel, not editable) into a fresh venv on the oldest and the newest Python it claims
# (3.10 and the newest found here), imports it and tracks a few frames of the sample video on each.
#
# The wheel goes in as a user's `pip install "dastsiam[headless]"` would, with its dependencies resolved by pip
# and no lock: the core has no PyTorch (it is the [torch] extra), so the check asserts that nothing of torch,
# CUDA or triton was installed, tracks on the onnxruntime back end with the shipped ONNX export of `nano`, and
# checks that a path that needs torch (--backend torch) says so in one line naming the extra (issue 18.2).
# The full suite runs on the set-up Python (.venv).
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
  # pip's chatter goes to a log shown on failure
  "$env/bin/python" -m pip install -q "dastsiam[headless] @ file://$WHEEL" >"$WORK/pip$version.log" 2>&1 \
    || { cat "$WORK/pip$version.log" >&2; echo "check_pythons: installing on Python $version failed" >&2; exit 1; }
  heavy=$("$env/bin/python" -m pip list --format=freeze 2>/dev/null | grep -iE '^(torch|triton|nvidia-|cuda-)' || true)
  [ -z "$heavy" ] || { echo "check_pythons: dastsiam[headless] pulled in $heavy" >&2; exit 1; }
  cd "$WORK"  # not the checkout: the installed package must be the one imported
  "$env/bin/python" -c "import sys, dastsiam; assert 'torch' not in sys.modules and 'cv2' not in sys.modules; print('import ok', dastsiam.__version__)"
  "$env/bin/dastsiam" track "$REPO/assets/bag.mp4" --box "$REPO/assets/bag_init_box.txt" --out "$WORK/out$version" \
    --max-frames 10 --backend onnx --threads 1 --no-progress
  lines=$(wc -l < "$WORK/out$version/boxes.txt")
  [ "$lines" -eq 10 ] || { echo "check_pythons: Python $version wrote $lines boxes, not 10" >&2; exit 1; }
  # a path that needs torch: exit status 2 and one line naming the [torch] extra, no traceback
  status=0
  "$env/bin/dastsiam" track "$REPO/assets/bag.mp4" --box "$REPO/assets/bag_init_box.txt" --out "$WORK/t$version" \
    --max-frames 2 --backend torch --no-progress 2>"$WORK/torch$version.err" || status=$?
  if [ "$status" -ne 2 ] || [ "$(wc -l < "$WORK/torch$version.err")" -ne 1 ] \
     || ! grep -q "dastsiam\[torch\]" "$WORK/torch$version.err"; then
    cat "$WORK/torch$version.err" >&2
    echo "check_pythons: --backend torch without torch did not give one line naming dastsiam[torch] (exit $status)" >&2
    exit 1
  fi
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
