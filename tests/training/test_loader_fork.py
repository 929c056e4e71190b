"""DataLoader workers must not hang when the training process used OpenCV's thread pool before forking them
(the validation hook tracks with OpenCV between epochs; a process may have tracked before training)."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import types
    import cv2
    import numpy as np
    import torch
    from torch.utils.data import Dataset
    from dastsiam.training.data import make_loader

    cv2.setNumThreads(2)  # a live multi-threaded pool in the parent, as after tracking
    image = np.random.default_rng(0).integers(0, 255, (1500, 1500, 3), dtype=np.uint8)

    def busy():
        for _ in range(10):
            cv2.GaussianBlur(image, (15, 15), 3)

    class Crops(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return torch.tensor(float(cv2.resize(image, (64, 64)).mean()))

    cfg = types.SimpleNamespace(runtime=types.SimpleNamespace(workers=1, seed=0),
                                optim=types.SimpleNamespace(batch_size=2))
    for epoch in range(3):  # a new loader (new forked workers) per epoch, as the trainer does
        busy()
        batches = list(make_loader(Crops(), range(4), cfg, pin_memory=False))
        assert len(batches) == 2
    print("done")
""")


def test_loader_workers_start_after_opencv_thread_pool_was_used():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "done"
