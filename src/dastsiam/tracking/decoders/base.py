"""What every decoder implements, and what the :class:`~dastsiam.tracking.Tracker` hands it.

The tracker owns the template memory, the update gate's threshold and the crop loop: it cuts one search crop
per factor of :meth:`Decoder.scales` around the target's last centre, runs the model once on the batch, and
passes the head's maps (as NumPy) with the :class:`SearchRegion` to :meth:`Decoder.decode`. The decoder turns
them into a :class:`Step`: the target's new centre and size in image pixels, the score the tracker reports,
the chosen cell and the gate value the template update compares with ``TrackerConfig.update_threshold``.
The tracker then clips the box to the frame and stores it.

A decoder reads its hyper-parameters from the ``TrackerConfig`` passed to each call (a tracker's config may be
replaced between frames, e.g. by ``benchmarks/validate.py``'s overrides), and keeps only caches that depend on
the map size (windows, cell points), dropped by :meth:`Decoder.reset` when a new target is set.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, NamedTuple, Optional

import numpy as np

from dastsiam.models.geometry import OutputGeometry

__all__ = ["HeadMaps", "SearchRegion", "Step", "Decoder"]


class HeadMaps(NamedTuple):
    """The head's maps as ``float32`` NumPy arrays with the batch axis (one item per search scale), the same
    fields as :class:`dastsiam.models.HeadOutput`."""

    cls: np.ndarray
    loc: Optional[np.ndarray] = None
    conf: Optional[np.ndarray] = None


@dataclass(frozen=True)
class SearchRegion:
    """Where this frame's search crops were cut (image pixels)."""

    center: np.ndarray  # the target's last centre (x, y) = the crops' centre
    size: np.ndarray  # the target's last (w, h)
    s_z: float  # exemplar crop side (context included)
    s_x: float  # search crop side at scale factor 1
    scales: tuple[float, ...]  # one search crop of side s_x * f per factor f, in this order


@dataclass(frozen=True)
class Step:
    """A decoder's answer for one frame (before the tracker clips the box to the frame)."""

    center: np.ndarray  # new target centre (x, y), image pixels
    size: np.ndarray  # new target (w, h), image pixels
    score: float  # confidence 0..1 the tracker reports
    cell: tuple[int, int]  # (row, col) of the chosen cell in the decoder's map
    gate: float  # the value compared with TrackerConfig.update_threshold


class Decoder(ABC):
    """One reference tracker's decoding of the head's maps into the next box (see :mod:`.base`)."""

    name: ClassVar[str]

    def __init__(self, geometry: OutputGeometry):
        self.geometry = geometry

    def scales(self, config) -> tuple[float, ...]:
        """Scale factors of this frame's search crops (one crop each); ``(1.0,)``: a single crop."""
        return (1.0,)

    def reset(self) -> None:
        """A new target: drop what was cached for the last one."""

    @abstractmethod
    def decode(self, maps: HeadMaps, region: SearchRegion, config) -> Step:
        """The new target state from the head's ``maps`` over ``region``'s crops."""
