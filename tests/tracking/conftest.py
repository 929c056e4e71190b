import cv2
import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One inference thread per test process: with OpenCV's and torch's pools both spinning on 2 shared cores
    (and pytest-xdist running 2 workers), 2 threads each can be 10-100x slower."""
    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    yield
    torch.set_num_threads(threads)
    cv2.setNumThreads(cv_threads)


@pytest.fixture
def otb_frames(shared_data):
    """``otb_frames(name, n)``: the first ``n`` frames of a shared OTB sequence and their 0-based ground truth."""
    import re

    import numpy as np

    def read(name, frames):
        folder = shared_data / "OTB" / name
        rows = (folder / "groundtruth_rect.txt").read_text().splitlines()
        gt = np.array([[float(v) for v in re.split(r"[,\s]+", r.strip())] for r in rows if r.strip()])
        gt[:, :2] -= 1
        images = [cv2.imread(str(folder / "img" / f"{i:04d}.jpg")) for i in range(1, frames + 1)]
        return images, gt[:frames]

    return read
