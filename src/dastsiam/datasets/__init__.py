"""Dataset readers for the benchmarks' own folder layouts, all returning :class:`dastsiam.sequence.Sequence`.

Every reader converts the benchmark's boxes to dastsiam's convention (0-based ``x, y, w, h``, NaN = absent,
see :mod:`dastsiam.boxes`), lists each folder once and opens no image. A missing or empty dataset folder, a
missing frame folder or an annotation whose row count does not fit the frames raises
:class:`dastsiam.errors.InputError` naming the path. Conventions per format are in each module's docstring
and in ``docs/evaluation.md``.
"""

from __future__ import annotations

import importlib

from dastsiam.datasets.custom import load_custom
from dastsiam.datasets.got10k import load_got10k
from dastsiam.datasets.lasot import load_lasot
from dastsiam.datasets.otb import load_otb, load_otb_attributes
from dastsiam.datasets.uav123 import load_uav123
from dastsiam.datasets.vot import load_vot2018
from dastsiam.errors import InputError
from dastsiam.sequence import Sequence

__all__ = [
    "DATASET_KINDS",
    "load_dataset",
    "load_otb",
    "load_otb_attributes",
    "load_uav123",
    "load_lasot",
    "load_got10k",
    "load_vot2018",
    "load_custom",
    "load_imagenet_vid",
]

DATASET_KINDS = ("otb", "uav123", "lasot", "got10k", "vot2018", "custom", "imagenet_vid")


def load_imagenet_vid(root, split=None, names=None) -> list[Sequence]:
    """ImageNet VID, read by :mod:`dastsiam.datasets.imagenet_vid` (owned by the training code)."""
    try:
        module = importlib.import_module("dastsiam.datasets.imagenet_vid")
    except ModuleNotFoundError as exc:
        if exc.name == "dastsiam.datasets.imagenet_vid":
            raise InputError("the ImageNet VID reader (dastsiam.datasets.imagenet_vid) is not installed") from None
        raise
    return module.load(root, split, names)


def load_dataset(kind: str, root, split: str | None = None, names=None) -> list[Sequence]:
    """Load the sequences of a benchmark stored in its native layout under ``root``.

    ``kind`` is one of :data:`DATASET_KINDS`; ``split`` matters for ``got10k`` (train/val/test), ``lasot``
    (train/test list files), ``uav123`` (nested ``UAV123``/``UAV20L`` folder) and ``imagenet_vid``;
    ``names`` selects and orders sequences.
    """
    key = kind.lower().replace("-", "").replace("_", "")
    if key in ("otb", "otb100", "otb50", "otb2015", "otb2013"):
        return load_otb(root, names)
    if key in ("uav123", "uav", "uav20l", "uav12310fps"):
        return load_uav123(root, names, split=split)
    if key == "lasot":
        return load_lasot(root, split, names)
    if key == "got10k":
        return load_got10k(root, split, names)
    if key in ("vot2018", "vot", "vot2016", "vot2017"):
        return load_vot2018(root, names)
    if key == "custom":
        return load_custom(root, names)
    if key == "imagenetvid":
        return load_imagenet_vid(root, split, names)
    raise InputError(f"unknown dataset kind {kind!r}; expected one of {', '.join(DATASET_KINDS)}")
