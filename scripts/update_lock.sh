#!/usr/bin/env bash
# Regenerates requirements/lock.txt, the exact versions that scripts/setup.sh and CI install (`pip -c`):
# scripts/check_latest.sh builds a venv from the newest releases (holding back what --hold names) and runs the
# test suite there; only when the suite passes is that venv's `pip freeze` written as the new lock. Commit the
# lock together with whatever the new versions needed, and say in the commit what moved.
#
# Usage: bash scripts/update_lock.sh [--hold "pkg==version ..."] [--why "reason"] [pytest arguments...]
#   e.g. bash scripts/update_lock.sh --hold "opencv-python-headless==4.14.0.94" --why "5.1 changes cv2.TrackerNano"
#   The held specs and the reason are written into the lock's header, so they stay visible.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=runs/venv-lock
HOLD=""
WHY=""
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --hold) HOLD=$2; shift 2 ;;
    --why) WHY=$2; shift 2 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
bash scripts/check_latest.sh --venv "$VENV" --hold "$HOLD" ${ARGS[@]+"${ARGS[@]}"}
{
  echo "# Exact versions tested by CI and installed by scripts/setup.sh (pip's -c constraints: they pin what gets installed"
  echo "# without adding anything). The package's own ranges in pyproject.toml stay loose for users."
  echo "# Regenerate with scripts/update_lock.sh (it runs the suite first); test the newest with scripts/check_latest.sh."
  if [ -n "$HOLD" ]; then echo "# Held back when this lock was made: $HOLD${WHY:+ ($WHY)}"; fi
  cat "$VENV/freeze.txt"
} > requirements/lock.txt.new
mv requirements/lock.txt.new requirements/lock.txt
echo "update_lock: requirements/lock.txt written ($(grep -vc '^#' requirements/lock.txt) packages)"
