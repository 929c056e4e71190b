"""Frame sampling: usable frames, the paper's triplet window, classic pairs."""

from pathlib import Path

import numpy as np
import pytest

from dastsiam.sequence import Sequence
from dastsiam.training.sampling import sample_pair, sample_triplet, usable_frames


def make_sequence(boxes):
    boxes = np.asarray(boxes, dtype=float)
    return Sequence("s", [Path(f"{i}.jpg") for i in range(len(boxes))], boxes)


def test_absent_tiny_and_elongated_targets_are_skipped():
    seq = make_sequence([
        [0, 0, 20, 20],
        [np.nan] * 4,  # absent
        [0, 0, 3, 20],  # 3 px wide: tiny
        [0, 0, 200, 10],  # aspect 20
        [0, 0, 20, 20],
    ])
    assert usable_frames(seq, min_size=4, max_aspect=10).tolist() == [0, 4]
    seq.absent[4] = True  # flagged absent by the benchmark even with a box
    assert usable_frames(seq).tolist() == [0]


def test_triplet_stays_in_a_window_with_consecutive_ta_tc():
    rng = np.random.default_rng(0)
    usable = np.arange(300)
    for _ in range(500):
        c = sample_triplet(usable, window=50, rng=rng)
        assert c.current == c.accumulated + 1
        frames = [c.initial, c.accumulated, c.current, c.search]
        assert max(frames) - min(frames) < 50
        assert all(f in usable for f in frames)


def test_triplet_spreads_over_the_window_and_skips_unusable_frames():
    rng = np.random.default_rng(1)
    usable = np.array([f for f in range(120) if f % 7 != 3])  # every 7th frame unusable
    spans, seen = [], set()
    for _ in range(2000):
        c = sample_triplet(usable, window=50, rng=rng)
        assert c.accumulated in usable and c.current in usable
        assert not np.any((usable > c.accumulated) & (usable < c.current))  # consecutive usable frames
        frames = [c.initial, c.accumulated, c.current, c.search]
        spans.append(max(frames) - min(frames))
        seen.add(c.initial)
    assert max(spans) >= 45  # the whole window is used
    assert seen == set(usable.tolist())
    with pytest.raises(ValueError):
        sample_triplet(np.array([5]), 50, rng)


def test_triplet_is_deterministic_per_generator_seed():
    usable = np.arange(80)
    a = sample_triplet(usable, 50, np.random.default_rng([3, 17]))
    b = sample_triplet(usable, 50, np.random.default_rng([3, 17]))
    assert a == b


def test_pair_gap():
    rng = np.random.default_rng(0)
    usable = np.arange(0, 1000, 2)
    for _ in range(300):
        c = sample_pair(usable, max_gap=10, rng=rng)
        assert abs(c.search - c.initial) <= 10 and c.accumulated is None and c.search in usable


def test_image_pair_uses_the_one_frame_for_every_role():
    from dastsiam.training.sampling import sample_image

    rng = np.random.default_rng(0)
    assert sample_image(np.array([0]), triplet=True, rng=rng) == (0, 0, 0, 0)
    c = sample_image(np.array([4]), triplet=False, rng=rng)
    assert (c.initial, c.search, c.accumulated, c.current) == (4, 4, None, None)
    with pytest.raises(ValueError):
        sample_image(np.array([], dtype=int), True, rng)
