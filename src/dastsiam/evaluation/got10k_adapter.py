"""A `got10k <https://github.com/got-10k/toolkit>`_ ``Tracker`` that runs a dastsiam model, so the toolkit's
experiments (``ExperimentOTB``, ``ExperimentGOT10k``, ``ExperimentUAV123``, ``ExperimentLaSOT``, ...) can run it::

    from got10k.experiments import ExperimentOTB
    from dastsiam.evaluation.got10k_adapter import Got10kTracker

    tracker = Got10kTracker("nano")                      # any name/file dastsiam.load_tracker takes
    with offline_datasets():                             # use the sequences on disk, download nothing
        experiment = ExperimentOTB("OTB100", version=2015)
    experiment.run(tracker)
    experiment.report([tracker.name])

**Downloads.** got10k's experiments build their datasets with ``download=True`` hard-wired: ``OTB``, ``VOT``
and ``TColor128`` fetch every sequence missing from the root (all of OTB-100 for a 5-sequence subset, or fail
after a long wait offline) before anything runs. :func:`offline_datasets` turns those downloads off while the
experiment is built: the toolkit then runs and reports on the sequences that are on disk (it prints a warning
per missing one).

Conventions of the toolkit, read from its source (got10k 0.1.3):

* ``init(image, box)`` / ``update(image)`` get ``PIL.Image`` frames in RGB (``Tracker.track`` opens each file
  with PIL and converts to RGB); dastsiam works on BGR ``uint8`` arrays as OpenCV reads them, so the channels
  are reversed here.
* ``box`` is the first row of the dataset's annotation file, **unshifted** (``anno[0, :]``), and the boxes
  ``update`` returns are written and compared with the annotation unshifted. OTB, UAV123, LaSOT, GOT-10k,
  DTB70, NfS and TColor128 files are 1-based, so the adapter subtracts 1 from ``x, y`` on the way in and adds
  it back on the way out (``one_based=True``, the default); pass ``one_based=False`` for 0-based data.
  (Scores do not change with a common shift; where the tracker looks does: one pixel.)
"""

from __future__ import annotations

import contextlib

import numpy as np

try:
    from got10k.trackers import Tracker as _Got10kTracker
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "dastsiam.evaluation.got10k_adapter needs the GOT-10k toolkit: pip install got10k six"
    ) from exc

__all__ = ["Got10kTracker", "pil_to_bgr", "offline_datasets"]


@contextlib.contextmanager
def offline_datasets():
    """While active, got10k's ``OTB``, ``VOT`` and ``TColor128`` datasets (and so ``ExperimentOTB``,
    ``ExperimentVOT``, ``ExperimentTColor128``) use the sequences on disk instead of downloading missing ones."""
    import importlib

    patched = []
    for module_name, class_name in (("otb", "OTB"), ("vot", "VOT"), ("tcolor128", "TColor128")):
        cls = getattr(importlib.import_module(f"got10k.datasets.{module_name}"), class_name)
        patched.append((cls, cls.__dict__["_download"]))
        cls._download = lambda self, root_dir, *args, **kwargs: root_dir
    try:
        yield
    finally:
        for cls, original in patched:
            cls._download = original


def pil_to_bgr(image) -> np.ndarray:
    """A ``PIL.Image`` (any mode) or an RGB ``uint8`` array as a contiguous BGR ``uint8`` array."""
    if hasattr(image, "convert"):
        if image.mode != "RGB":
            image = image.convert("RGB")
        array = np.asarray(image)
    else:
        array = np.asarray(image)
        if array.ndim == 2:
            array = np.repeat(array[:, :, None], 3, axis=2)
    return np.ascontiguousarray(array[:, :, 2::-1])


class Got10kTracker(_Got10kTracker):
    """got10k's ``Tracker`` interface around :func:`dastsiam.load_tracker`.

    Args:
        model: built-in model name, ``.safetensors`` file or checkpoint (as ``dastsiam.load_tracker``).
        name: the tracker's name in the toolkit's result and report folders (default ``dastsiam-<model>``).
        one_based: the experiment's annotation files are 1-based (default; see the module docstring).
        tracker: an already built tracker (``init(frame, box)``, ``track(frame) -> (box, score)``) to use
            instead of loading ``model``.
        **load_kwargs: passed to :func:`dastsiam.load_tracker` (``backend``, ``device``, ``threads``, ...).
    """

    def __init__(self, model: str | None = None, name: str | None = None, one_based: bool = True,
                 tracker=None, **load_kwargs):
        if tracker is None:
            from dastsiam import load_tracker

            tracker = load_tracker(model, **load_kwargs)
        label = name or f"dastsiam-{getattr(tracker, 'model', None) or model or 'default'}"
        super().__init__(name=str(label).replace("/", "_"), is_deterministic=True)
        self.tracker = tracker
        self.offset = 1.0 if one_based else 0.0

    def init(self, image, box) -> None:
        box = np.asarray(box, dtype=np.float64).reshape(4).copy()
        box[:2] -= self.offset
        self.tracker.init(pil_to_bgr(image), box)

    def update(self, image) -> np.ndarray:
        box, _score = self.tracker.track(pil_to_bgr(image))
        out = np.asarray(box, dtype=np.float64).reshape(4).copy()
        out[:2] += self.offset
        return out
