"""Siamese tracking models: tensor in, tensor out (see :mod:`dastsiam.models.base`).

Names are imported lazily so that light users (``dastsiam.models.config`` for YAML validation, the CLI's
start-up) do not pay for importing torch.
"""

import importlib

_EXPORTS = {
    "HeadOutput": "dastsiam.models.base",
    "SiameseModel": "dastsiam.models.base",
    "ModelConfig": "dastsiam.models.config",
    "STConfig": "dastsiam.models.config",
    "DAConfig": "dastsiam.models.config",
    "OutputGeometry": "dastsiam.models.geometry",
    "BUILTIN_MODELS": "dastsiam.models.registry",
    "DEFAULT_MODEL": "dastsiam.models.registry",
    "build_model": "dastsiam.models.registry",
    "load_model": "dastsiam.models.registry",
    "save_weights": "dastsiam.models.registry",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'dastsiam.models' has no attribute {name!r}")
