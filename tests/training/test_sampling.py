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


def test_triplet_in_time_order_within_one_window():
    """Sec. 2.3 as at tracking time: T_i first, then T_a / T_c (consecutive), then the search frame."""
    rng = np.random.default_rng(0)
    usable = np.arange(300)
    for _ in range(500):
        c = sample_triplet(usable, window=50, rng=rng)
        assert c.initial <= c.accumulated and c.current == c.accumulated + 1 and c.search > c.current
        assert c.search - c.initial < 50
    unordered = [sample_triplet(usable, 50, rng, time_order=False) for _ in range(300)]
    assert any(c.search < c.current for c in unordered)  # the old sampling, kept as a switch


def test_triplet_spreads_over_the_window_and_skips_unusable_frames():
    rng = np.random.default_rng(1)
    usable = np.array([f for f in range(120) if f % 7 != 3])  # every 7th frame unusable
    spans, seen, searched = [], set(), set()
    for _ in range(3000):
        c = sample_triplet(usable, window=50, rng=rng)
        assert c.accumulated in usable and c.current in usable and c.initial in usable and c.search in usable
        assert not np.any((usable > c.accumulated) & (usable < c.current))  # consecutive usable frames
        assert c.initial <= c.accumulated < c.current < c.search
        spans.append(c.search - c.initial)
        seen.add(c.initial)
        searched.add(c.search)
    assert max(spans) >= 45 and max(spans) < 50  # the whole window is used, never more
    # T_i: any frame that has a T_a, T_c and a search frame after it (the very last such frame is rare)
    assert set(usable[:-3].tolist()) <= seen <= set(usable[:-2].tolist())
    assert set(usable[3:].tolist()) <= searched <= set(usable[2:].tolist())
    # two usable frames: no later search frame exists; the search frame is T_c
    assert sample_triplet(np.array([3, 4]), 50, rng) == (3, 3, 4, 4)
    with pytest.raises(ValueError):
        sample_triplet(np.array([5]), 50, rng)


def test_triplet_is_deterministic_per_generator_seed():
    usable = np.arange(80)
    a = sample_triplet(usable, 50, np.random.default_rng([3, 17]))
    b = sample_triplet(usable, 50, np.random.default_rng([3, 17]))
    assert a == b


def test_pair_gap_and_time_order():
    rng = np.random.default_rng(0)
    usable = np.arange(0, 1000, 2)
    for _ in range(300):
        c = sample_pair(usable, max_gap=10, rng=rng)
        assert abs(c.search - c.initial) <= 10 and c.accumulated is None and c.search in usable
        t = sample_pair(usable, max_gap=10, rng=rng, time_order=True)
        assert 0 <= t.search - t.initial <= 10


def test_pairs_use_the_triplet_window_by_default(shared_data, tmp_path):
    import dataclasses

    from dastsiam.config import replace_path
    from dastsiam.training.config import DataSourceConfig, load_train_config
    from dastsiam.training.trainer import Trainer

    cfg = load_train_config(Path(__file__).resolve().parents[2] / "configs" / "smoke.yaml")
    cfg = dataclasses.replace(cfg, data=[DataSourceConfig(kind="got10k", root=shared_data / "train")])
    for key, value in {"sampling.mode": "pair", "sampling.window": 20, "runtime.out_dir": str(tmp_path),
                       "optim.samples_per_epoch": 1000}.items():
        cfg = replace_path(cfg, key, value)
    data = Trainer(cfg).dataset
    gaps = [p.choice.search - p.choice.initial for p in (data.plan(i)[0] for i in range(1000))]
    assert min(gaps) == 0 and max(gaps) == 19


def test_image_pair_uses_the_one_frame_for_every_role():
    from dastsiam.training.sampling import sample_image

    rng = np.random.default_rng(0)
    assert sample_image(np.array([0]), triplet=True, rng=rng) == (0, 0, 0, 0)
    c = sample_image(np.array([4]), triplet=False, rng=rng)
    assert (c.initial, c.search, c.accumulated, c.current) == (4, 4, None, None)
    with pytest.raises(ValueError):
        sample_image(np.array([], dtype=int), True, rng)
