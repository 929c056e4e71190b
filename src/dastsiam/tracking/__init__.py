"""Tracking: crops, decoding, the :class:`Tracker`, frame sources and tracking I/O (see docs/tracking.md).

Names are imported lazily, so that ``dastsiam.tracking.track_io`` (box text, the box/video writer) and
``dastsiam.tracking.config`` do not pay for OpenCV.
"""

import importlib

_EXPORTS = {
    "Tracker": "dastsiam.tracking.tracker",
    "TrackResult": "dastsiam.tracking.tracker",
    "area_preserving_box": "dastsiam.tracking.tracker",
    "TrackerConfig": "dastsiam.tracking.config",
    "PRESETS": "dastsiam.tracking.config",
    "preset": "dastsiam.tracking.config",
    "tracker_config_for": "dastsiam.tracking.config",
    "FrameSource": "dastsiam.tracking.video",
    "open_source": "dastsiam.tracking.video",
    "to_bgr": "dastsiam.tracking.video",
    "TrackOutputs": "dastsiam.tracking.track_io",
    "parse_box": "dastsiam.tracking.track_io",
    "format_box": "dastsiam.tracking.track_io",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dastsiam.tracking' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
