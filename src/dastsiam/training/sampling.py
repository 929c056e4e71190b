"""Which frames a training sample is made of (frame indices only; no pixels here).

* :func:`usable_frames`: frames whose target is present, not tiny and not absurdly elongated.
* :func:`sample_triplet`: the paper's triplet (Sec. 2.3) in time order, as at tracking time -- the initial
  template ``T_i``, then the accumulated and current templates ``T_a``, ``T_c`` (two consecutive usable frames),
  then the search frame, all within one ``window``-frame window (50 in the paper).
* :func:`sample_pair`: the SiamFC / SiamRPN pair, template and search at most ``pair_gap`` apart (by default
  the same window as the triplet: ``window - 1``).
* :func:`sample_image`: a sequence with one usable frame (a still photo) as an image pair: every role is
  that frame; the crops differ only by their augmentation (SiamRPN's COCO/DET pairs).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dastsiam.sequence import Sequence


class FrameChoice(NamedTuple):
    initial: int  # T_i (the only template in pair mode)
    accumulated: int | None  # T_a (None in pair mode)
    current: int | None  # T_c (None in pair mode)
    search: int


def usable_frames(sequence: Sequence, min_size: float = 4.0, max_aspect: float = 10.0) -> np.ndarray:
    """Sorted indices of frames whose box is finite, present, at least ``min_size`` px a side and with an
    aspect ratio within ``1/max_aspect .. max_aspect``."""
    boxes = sequence.ground_truth
    finite = np.all(np.isfinite(boxes), axis=1)
    w = np.where(finite, boxes[:, 2], 0.0)
    h = np.where(finite, boxes[:, 3], 0.0)
    ok = finite & ~np.asarray(sequence.absent, dtype=bool) & (w >= min_size) & (h >= min_size)
    with np.errstate(divide="ignore", invalid="ignore"):
        aspect = np.where(ok, w / np.where(h > 0, h, 1.0), 1.0)
    ok &= (aspect <= max_aspect) & (aspect >= 1.0 / max_aspect)
    return np.flatnonzero(ok)


def sample_triplet(usable: np.ndarray, window: int, rng: np.random.Generator, time_order: bool = True) -> FrameChoice:
    """The paper's triplet sampling (Sec. 2.3) over the usable frame indices ``usable`` (sorted, at least 2).

    ``time_order`` (default), as at tracking time: ``T_i <= T_a < T_c < search``, all within ``window``
    consecutive frames. ``T_a``, ``T_c`` are two consecutive usable frames (``T_c`` uniform over the usable frames
    that have a usable predecessor and successor), the search frame a usable frame after ``T_c`` and less than
    ``window`` frames after ``T_a``, and ``T_i`` a usable frame at or before ``T_a`` within ``window`` frames of
    the search frame. A sequence with only 2 usable frames (or a gap wider than the window after ``T_c``) has no
    later search frame: the search frame is then ``T_c`` itself.

    ``time_order=False`` (the old sampling): a window of ``window`` frames containing ``T_a``, ``T_c`` is
    placed at random and ``T_i`` and the search frame are drawn from the usable frames inside it, in any order.
    """
    if len(usable) < 2:
        raise ValueError("triplet sampling needs at least 2 usable frames")
    if not time_order:
        return _sample_triplet_unordered(usable, window, rng)
    n = len(usable)
    pos = int(rng.integers(1, n - 1)) if n >= 3 else 1
    accumulated, current = int(usable[pos - 1]), int(usable[pos])
    later = usable[(usable > current) & (usable <= accumulated + window - 1)]
    search = int(rng.choice(later)) if len(later) else current
    earlier = usable[(usable <= accumulated) & (usable >= search - window + 1)]
    initial = int(rng.choice(earlier)) if len(earlier) else accumulated
    return FrameChoice(initial, accumulated, current, search)


def _sample_triplet_unordered(usable: np.ndarray, window: int, rng: np.random.Generator) -> FrameChoice:
    pos = int(rng.integers(1, len(usable)))
    accumulated, current = int(usable[pos - 1]), int(usable[pos])
    lo = max(current - window + 1, 0)
    hi = max(accumulated, lo)  # window start range; if T_a, T_c are farther apart than the window, start at T_a
    start = int(rng.integers(lo, hi + 1))
    inside = usable[(usable >= start) & (usable < start + window)]
    if len(inside) == 0:  # only when T_a..T_c spans more than the window
        inside = np.array([accumulated, current])
    initial = int(rng.choice(inside))
    search = int(rng.choice(inside))
    return FrameChoice(initial, accumulated, current, search)


def sample_pair(usable: np.ndarray, max_gap: int, rng: np.random.Generator, time_order: bool = False) -> FrameChoice:
    """Template and search frames, both usable, at most ``max_gap`` frames apart (may be the same frame);
    ``time_order``: the search frame is never before the template (as at tracking time)."""
    if len(usable) < 1:
        raise ValueError("pair sampling needs at least 1 usable frame")
    template = int(rng.choice(usable))
    near = usable[np.abs(usable - template) <= max_gap]
    if time_order:
        near = near[near >= template]
    return FrameChoice(template, None, None, int(rng.choice(near)))


def sample_image(usable: np.ndarray, triplet: bool, rng: np.random.Generator) -> FrameChoice:
    """Image-pair sampling for a sequence with fewer than 2 usable frames: template(s) and search frame are the
    same frame (chosen among ``usable``), as SiamRPN / DaSiamRPN train on still-image detection data."""
    if len(usable) < 1:
        raise ValueError("image-pair sampling needs at least 1 usable frame")
    frame = int(rng.choice(usable))
    return FrameChoice(frame, frame if triplet else None, frame if triplet else None, frame)
