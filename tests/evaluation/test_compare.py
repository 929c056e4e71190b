"""Paired comparison: Student's t for the expanded percentiles, the interval's coverage on synthetic results of
known difference (seeded), verdicts, and the frame-weighted pooling of runs."""

import numpy as np
import pytest

from dastsiam.errors import InputError
from dastsiam.evaluation.compare import (
    RunScore, compare, expanded_alpha, paired_bootstrap, pooled, student_t_cdf, student_t_quantile,
)


@pytest.mark.parametrize("p, df, value", [(0.975, 1, 12.706), (0.975, 2, 4.303), (0.975, 11, 2.201),
                                          (0.975, 30, 2.042), (0.95, 5, 2.015), (0.995, 10, 3.169)])
def test_student_t_quantiles_match_the_table(p, df, value):
    assert student_t_quantile(p, df) == pytest.approx(value, abs=1e-3)
    assert student_t_cdf(value, df) == pytest.approx(p, abs=1e-4)


def test_expanded_percentiles_for_small_samples():
    # 12 sequences at 95 %: Phi(-sqrt(12/11) * 2.201) * 2 = 0.0215 -> the 1.08 % and 98.92 % percentiles
    assert expanded_alpha(12, 0.95) == pytest.approx(0.0215, abs=2e-4)
    assert expanded_alpha(1000, 0.95) == pytest.approx(0.05, abs=1e-3)  # large samples: the plain percentiles


def _coverage(runs, resample_runs, experiments=200, sequences=12, delta=0.03, sd_sequence=0.1, sd_run=0.1, seed=1):
    """Share of experiments whose interval holds the true mean difference ``delta``: per-sequence effects
    N(delta, sd_sequence), runs around them N(0, sd_run), runs of 50-300 frames."""
    rng = np.random.default_rng(seed)
    hits = 0
    for k in range(experiments):
        effects = delta + rng.normal(0, sd_sequence, sequences)
        diffs = [e + rng.normal(0, sd_run, runs) for e in effects]
        frames = [rng.integers(50, 300, runs).astype(float) for _ in range(sequences)]
        iv = paired_bootstrap(diffs, frames, resamples=500, seed=k, resample_runs=resample_runs)
        hits += iv.low <= delta <= iv.high
    return hits / experiments


def test_coverage_one_pass():
    assert 0.92 <= _coverage(runs=1, resample_runs=True) <= 0.98


def test_coverage_with_runs():
    # resampling runs as well counts their variation twice: a little conservative, never too narrow
    assert 0.94 <= _coverage(runs=12, resample_runs=True) <= 1.0
    assert 0.91 <= _coverage(runs=12, resample_runs=False) <= 0.98


def test_verdicts_follow_the_interval():
    rng = np.random.default_rng(0)
    frames = [np.full(12, 100.0)] * 12
    better = paired_bootstrap([0.15 + rng.normal(0, 0.1, 12) for _ in range(12)], frames)
    worse = paired_bootstrap([-0.15 + rng.normal(0, 0.1, 12) for _ in range(12)], frames)
    unclear = paired_bootstrap([rng.normal(0, 0.2, 12) + s for s in rng.normal(0, 0.2, 12)], frames)
    assert better.verdict == "better" and better.low > 0
    assert worse.verdict == "worse" and worse.high < 0
    assert unclear.verdict == "cannot tell" and unclear.low < 0 < unclear.high


def test_pooling_weighs_runs_by_frames_and_pairs_runs():
    assert pooled(np.array([1.0, 0.0]), np.array([30.0, 10.0])) == pytest.approx(0.75)
    a = {"s1": [RunScore("f00001", 0.8, 0.9, 30), RunScore("f00011", 0.4, 0.5, 10)],
         "s2": [RunScore("f00001", 0.5, 0.5, 20), RunScore("f00005", 0.5, 0.5, 16)],
         "only_a": [RunScore("ope", 0.9, 0.9, 10)]}
    b = {"s1": [RunScore("f00001", 0.6, 0.9, 30), RunScore("f00011", 0.4, 0.4, 10)],
         "s2": [RunScore("f00001", 0.6, 0.5, 20), RunScore("f00005", 0.6, 0.5, 16)]}
    c = compare(a, b, "a", "b", resamples=200)
    assert c.sequences == ["s1", "s2"] and c.left_out == ["only_a"]
    assert c.per_sequence["s1"]["success_auc"] == pytest.approx((0.2 * 30 + 0 * 10) / 40)
    assert c.per_sequence["s1"]["precision"] == pytest.approx(0.1 * 10 / 40)
    assert c.intervals["success_auc"].mean == pytest.approx((0.15 - 0.1) / 2)
    json = c.to_json()
    assert json["base"] == "b" and json["verdict"] in ("better", "worse", "cannot tell")
    b["s2"][1] = RunScore("f00006", 0.6, 0.5, 16)
    with pytest.raises(InputError):
        compare(a, b, "a", "b")  # runs must pair up
