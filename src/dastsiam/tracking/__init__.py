"""Tracking: crops, post-processing, the :class:`Tracker` and frame sources (see docs/tracking.md)."""

from dastsiam.tracking.config import PRESETS, TrackerConfig, preset, tracker_config_for
from dastsiam.tracking.tracker import Tracker, TrackResult, area_preserving_box
from dastsiam.tracking.video import FrameSource, open_source, to_bgr

__all__ = [
    "Tracker", "TrackResult", "TrackerConfig", "PRESETS", "preset", "tracker_config_for",
    "area_preserving_box", "FrameSource", "open_source", "to_bgr",
]
