"""Copying an ImageNet state dict into one of our backbones by parameter name (ResNet-50, MobileNetV2)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import nn

from dastsiam.errors import ModelError


def copy_state_by_name(backbone: nn.Module, state: dict, path: str | Path, kind: str,
                       source_key: Callable[[str], str] = lambda key: key) -> int:
    """Load ``state`` into ``backbone``: every entry of the backbone's own state dict must be in ``state`` under
    ``source_key(key)`` with the same shape (``num_batches_tracked``, which some exports drop, may be absent).
    Returns the number of tensors loaded; raises :class:`ModelError` naming ``path`` and the first bad key
    (``kind`` says what the file should have been, e.g. ``torchvision mobilenet_v2``)."""
    own = backbone.state_dict()
    mapped = {}
    for key, value in own.items():
        source = source_key(key)
        if source not in state:
            if key.endswith("num_batches_tracked"):
                mapped[key] = value
                continue
            raise ModelError(f"{path}: no {source!r} (not a {kind} state dict?)")
        if tuple(state[source].shape) != tuple(value.shape):
            raise ModelError(f"{path}: {source} has shape {tuple(state[source].shape)}, expected {tuple(value.shape)}")
        mapped[key] = state[source].to(value.dtype)
    backbone.load_state_dict(mapped)
    return len(mapped)
