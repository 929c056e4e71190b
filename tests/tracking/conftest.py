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
