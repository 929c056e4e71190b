"""Peer check: the `nano` model (torch, no ST/DA) with preset "opencv-nano" reproduces OpenCV's cv2.TrackerNano.

OpenCV returns integer boxes (``int(cx - w/2), int(cy - h/2), int(w), int(h)``, C truncation), so our float
boxes are truncated the same way before the per-frame IoU is taken; docs/tracking.md has the details.
"""

import re

import cv2
import numpy as np
import pytest

from dastsiam.boxes import iou
from dastsiam.tracking import Tracker, preset



SEQUENCES = ["Couple", "Crossing", "Football1", "MotorRolling", "Surfer"]


def _read(folder):
    rows = [line for line in (folder / "groundtruth_rect.txt").read_text().splitlines() if line.strip()]
    gt = np.array([[float(v) for v in re.split(r"[,\s]+", row.strip())] for row in rows])
    gt[:, :2] -= 1
    files = sorted((folder / "img").glob("*.jpg"))[: len(gt)]
    return [cv2.imread(str(f)) for f in files], gt


def _truncate(box):
    return np.array([int(v) for v in box], dtype=np.float64)


@pytest.fixture(scope="module")
def nano_torch():
    from dastsiam.models import load_model

    model, _ = load_model("nano")
    return model.fuse_for_inference() if hasattr(model, "fuse_for_inference") else model


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(cv2, "TrackerNano"), reason="OpenCV without TrackerNano (needs >= 4.7)")
@pytest.mark.parametrize("name", SEQUENCES)
def test_nano_reproduces_opencv_tracker_nano(shared_data, nano_torch, name):
    weights = shared_data / "weights" / "nanotrack" / "nanotrackv2"
    folder = shared_data / "OTB" / name
    if not folder.is_dir() or not weights.is_dir():
        pytest.skip(f"{folder} or {weights} missing")
    frames, gt = _read(folder)
    params = cv2.TrackerNano_Params()
    params.backbone = str(weights / "nanotrack_backbone_sim.onnx")
    params.neckhead = str(weights / "nanotrack_head_sim.onnx")
    peer = cv2.TrackerNano_create(params)
    init = tuple(int(v) for v in gt[0])  # OTB boxes are integers: both trackers start from the same box
    peer.init(frames[0], init)
    ours = Tracker(nano_torch, preset("opencv-nano"))
    ours.init(frames[0], np.array(init, dtype=np.float64))
    overlaps = []
    for frame in frames[1:]:
        _, peer_box = peer.update(frame)
        box, _ = ours.track(frame)
        overlaps.append(float(iou(np.array(peer_box, dtype=np.float64), _truncate(box))))
    overlaps = np.array(overlaps)
    assert overlaps.mean() >= 0.9, f"{name}: mean IoU with cv2.TrackerNano {overlaps.mean():.3f}"
