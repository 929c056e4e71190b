"""dastsiam: Siamese single-object tracking with spatio-temporal fusion (ST) and discriminative augmentation (DA).

Box convention everywhere: ``x, y, w, h`` float, 0-based pixels (see :mod:`dastsiam.boxes`).

Start here::

    import dastsiam
    tracker = dastsiam.load_tracker("nano")   # see dastsiam.api
    tracker.init(frame, (x, y, w, h))
    ok, box = tracker.update(next_frame)

Names are exported lazily: ``import dastsiam`` imports neither torch nor OpenCV.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "load_tracker": "dastsiam.api",
    "SingleObjectTracker": "dastsiam.api",
    "DastsiamError": "dastsiam.errors",
    "InputError": "dastsiam.errors",
    "ModelError": "dastsiam.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dastsiam' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
