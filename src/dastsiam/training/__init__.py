"""Training: sampling, augmentation, label assignment, losses and the trainer (docs/training.md).

Importing this package before torch sets passive OpenMP waiting (:func:`dastsiam.runtime.prepare_environment`):
with OpenMP's default busy-waiting, torch's threads take the cores from the DataLoader workers and training
on a small CPU runs 10x slower. Entry points (``dastsiam train``, ``benchmarks/train_speed.py``) do the same
before anything imports torch.
"""

import sys as _sys

if "torch" not in _sys.modules:
    from dastsiam.runtime import prepare_environment as _prepare_environment

    _prepare_environment()
