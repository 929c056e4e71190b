"""Same install, same boxes, bit for bit (issue 14.3): a tracker's boxes depend only on the frames, the box, the
model and the settings, not on the process, earlier runs, or the order of work. Different OpenCV versions can
give different boxes (docs/tracking.md, "OpenCV versions"): requirements/lock.txt pins the tested one.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "assets" / "bag.mp4"
FRAMES = 40

_RUN = """
import hashlib, sys
import cv2, numpy as np, dastsiam
backend, threads, frames = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
video = cv2.VideoCapture(sys.argv[4])
tracker = dastsiam.load_tracker("nano", backend=backend, threads=threads)
ok, frame = video.read()
tracker.init(frame, (312.64, 146.89, 105.13, 95.41))
boxes = []
for _ in range(frames - 1):
    ok, frame = video.read()
    box, score = tracker.track(frame)
    boxes.append(np.append(box, score))
print(hashlib.sha256(np.asarray(boxes, dtype=np.float64).tobytes()).hexdigest())
"""


def _digest_in_new_process(backend: str, threads: int) -> str:
    result = subprocess.run([sys.executable, "-c", _RUN, backend, str(threads), str(FRAMES), str(SAMPLE)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


# torch keeps to 1 thread, the library's choice on 2-core machines (docs/runtime.md): 2 OpenMP threads on a
# busy 2-core CI machine take minutes
@pytest.mark.parametrize("backend,threads", [("onnx", 1), ("onnx", 2), ("torch", 1)])
def test_same_boxes_in_two_processes(backend, threads):
    first = _digest_in_new_process(backend, threads)
    assert len(first) == 64
    assert _digest_in_new_process(backend, threads) == first


def test_restarted_tracker_repeats_itself():
    """init() resets everything: a second run of the same tracker object gives the first run's boxes exactly."""
    import cv2

    import dastsiam

    video = cv2.VideoCapture(str(SAMPLE))
    frames = [video.read()[1] for _ in range(40)]
    tracker = dastsiam.load_tracker("nano", threads=1)
    runs = []
    for _ in range(2):
        tracker.init(frames[0], (312.64, 146.89, 105.13, 95.41))
        runs.append(np.array([np.append(*tracker.track(f)) for f in frames[1:]]))
    assert hashlib.sha256(runs[0].tobytes()).digest() == hashlib.sha256(runs[1].tobytes()).digest()
    assert not np.array_equal(runs[0][0], runs[0][-1])  # it did track (the box moved)
