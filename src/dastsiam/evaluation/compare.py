"""Paired comparison of two trackers on the same sequences: mean difference, a bootstrap confidence interval and
a verdict (better / worse / cannot tell).

One-pass scores of one sequence swing by 0.05-0.5 AUC from a single drift event, so a higher mean over a
dozen sequences decides nothing; what can decide is the *paired* difference (same sequences, same runs) and
its uncertainty. The statistic is the mean over sequences of the per-sequence difference, each sequence's
score being its runs pooled the OTB toolkit's way (:mod:`~.protocols`: success counts over all runs' frames,
so a run weighs by its number of frames). Its interval comes from a two-stage paired bootstrap:

1. draw the sequences with replacement (the sequences are the sample: a tracker's gain on these sequences
   says something about other sequences only as far as they vary);
2. within each drawn sequence, draw its runs with replacement where SRE/TRE gave several (run ``k`` of one
   tracker stays paired with run ``k`` of the other: the same perturbed box or start frame), and pool them
   frame-weighted as the toolkit does.

Resampling both stages counts the run-to-run variation once more than the sequence stage already does, so the
interval is slightly conservative (Davison & Hinkley, *Bootstrap Methods and their Application*, 1997,
Sec. 3.8); with a dozen sequences the plain percentile interval is too narrow instead (it ignores the
``n - 1`` and the t-quantile), so the percentiles used are Hesterberg's *expanded* ones ("What Teachers Should
Know About the Bootstrap", The American Statistician 69(4), 2015, Sec. 5.3): ``alpha' / 2 =
Phi(-sqrt(n / (n - 1)) * t_{alpha/2, n-1})``, which for 12 sequences and 95 % takes the 1.1 % and 98.9 %
percentiles. ``tests/evaluation/test_compare.py`` checks the coverage on synthetic results of known
difference. Verdict: ``better`` when the whole interval is above zero, ``worse`` when below, else
``cannot tell``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dastsiam.errors import InputError

METRICS = ("success_auc", "precision")
VERDICTS = ("better", "worse", "cannot tell")


@dataclass
class RunScore:
    """One run of one sequence: its success AUC, precision (centre error <= threshold) and scored frames."""

    run: str
    success_auc: float
    precision: float
    frames: int


@dataclass
class Interval:
    mean: float
    low: float
    high: float
    verdict: str

    def to_json(self) -> dict:
        return {"mean": _r(self.mean), "low": _r(self.low), "high": _r(self.high), "verdict": self.verdict}


@dataclass
class Comparison:
    """``tracker`` against ``base`` on ``sequences`` (the ones both have results for)."""

    tracker: str
    base: str
    sequences: list[str]
    intervals: dict[str, Interval]
    per_sequence: dict[str, dict[str, float]]
    runs_per_sequence: int
    confidence: float
    resamples: int
    resample_runs: bool
    left_out: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return self.intervals["success_auc"].verdict

    def to_json(self) -> dict:
        return {
            "base": self.base,
            "verdict": self.verdict,
            **{m: iv.to_json() for m, iv in self.intervals.items()},
            "sequences": len(self.sequences),
            "runs_per_sequence": self.runs_per_sequence,
            "confidence": self.confidence,
            "bootstrap": {"resamples": self.resamples, "levels": "sequences, runs" if self.resample_runs
                          else "sequences"},
            "left_out": list(self.left_out),
            "per_sequence": {s: {m: _r(v) for m, v in d.items()} for s, d in self.per_sequence.items()},
        }


def _r(value: float):
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


# --- Student's t (integer degrees of freedom), for the expanded percentiles; numpy has none -----------------

def student_t_cdf(t: float, df: int) -> float:
    """P(T <= t) for Student's t with integer ``df`` (Abramowitz & Stegun 26.7.3 / 26.7.4, exact series)."""
    if df < 1:
        raise ValueError("df must be >= 1")
    theta = math.atan(abs(t) / math.sqrt(df))
    s, c = math.sin(theta), math.cos(theta)
    if df % 2 == 1:
        total, term = 0.0, c
        if df > 1:
            total = term
            for k in range(3, df - 1, 2):  # cos^k terms with coefficients 2*4*..(k-1) / 1*3*..k
                term *= c * c * (k - 1) / k
                total += term
        a = 2.0 / math.pi * (theta + s * total)
    else:
        total, term = 1.0, 1.0
        for k in range(2, df - 1, 2):
            term *= c * c * (k - 1) / k
            total += term
        a = s * total
    return 0.5 + 0.5 * a if t >= 0 else 0.5 - 0.5 * a


def student_t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t (bisection on :func:`student_t_cdf`)."""
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if student_t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def expanded_alpha(n: int, confidence: float) -> float:
    """Hesterberg's expanded two-sided level: ``2 * Phi(-sqrt(n/(n-1)) * t_{1-alpha/2, n-1})``."""
    alpha = 1.0 - confidence
    if n < 2:
        return alpha
    t = student_t_quantile(1.0 - alpha / 2.0, n - 1)
    return 2.0 * _normal_cdf(-math.sqrt(n / (n - 1)) * t)


# --- the bootstrap ----------------------------------------------------------------------------------------

def pooled(values: np.ndarray, frames: np.ndarray) -> float:
    """A sequence's score from its runs, the toolkit's way: frame-weighted (success counts over all frames)."""
    return float(np.sum(values * frames) / np.sum(frames)) if np.sum(frames) > 0 else float("nan")


def paired_bootstrap(differences: list[np.ndarray], frames: list[np.ndarray], resamples: int = 10000,
                     confidence: float = 0.95, seed: int = 0, resample_runs: bool = True) -> Interval:
    """Interval for the mean over sequences of the pooled per-sequence difference.

    ``differences[s]`` holds run-wise differences (tracker minus base) of sequence ``s`` and ``frames[s]``
    each run's number of scored frames (the pooling weights; equal for both trackers, which run on the same
    frames). One run per sequence is OPE.
    """
    n = len(differences)
    if n == 0:
        raise InputError("no shared sequence to compare on")
    diffs = [np.asarray(d, dtype=np.float64) for d in differences]
    weights = [np.asarray(w, dtype=np.float64) for w in frames]
    per_seq = np.array([pooled(d, w) for d, w in zip(diffs, weights)])
    mean = float(np.mean(per_seq))
    if n < 2:
        return Interval(mean, float("nan"), float("nan"), "cannot tell")
    rng = np.random.default_rng(seed)
    # stage 2 first: every sequence's pooled difference under `resamples` draws of its runs
    boot_seq = np.empty((n, resamples))
    for s, (d, w) in enumerate(zip(diffs, weights)):
        if resample_runs and len(d) > 1:
            pick = rng.integers(0, len(d), size=(resamples, len(d)))
            boot_seq[s] = np.sum(d[pick] * w[pick], axis=1) / np.maximum(np.sum(w[pick], axis=1), 1e-12)
        else:
            boot_seq[s] = per_seq[s]
    # stage 1: draw sequences; bootstrap replicate b uses replicate b of each drawn sequence's run draw
    seq_pick = rng.integers(0, n, size=(resamples, n))
    replicates = boot_seq[seq_pick, np.arange(resamples)[:, None]].mean(axis=1)
    alpha = expanded_alpha(n, confidence)
    low, high = np.quantile(replicates, [alpha / 2.0, 1.0 - alpha / 2.0])
    verdict = "better" if low > 0 else "worse" if high < 0 else "cannot tell"
    return Interval(mean, float(low), float(high), verdict)


def compare(runs_a: dict[str, list[RunScore]], runs_b: dict[str, list[RunScore]], tracker: str, base: str,
            resamples: int = 10000, confidence: float = 0.95, seed: int = 0, resample_runs: bool = True,
            ) -> Comparison:
    """``tracker`` (``runs_a``) against ``base`` (``runs_b``): ``{sequence: [RunScore, ...]}`` each, runs in the
    same order (the protocol's plan). Only sequences both have are compared (named in ``left_out``); runs are
    paired by position and must carry the same run ids."""
    shared = [s for s in runs_a if s in runs_b]
    left_out = sorted(set(runs_a) ^ set(runs_b))
    if not shared:
        raise InputError(f"{tracker} and {base} share no sequence with results")
    per_sequence: dict[str, dict[str, float]] = {}
    intervals = {}
    most_runs = 1
    for metric in METRICS:
        diffs, frames = [], []
        for s in shared:
            a, b = runs_a[s], runs_b[s]
            if [r.run for r in a] != [r.run for r in b]:
                raise InputError(f"{s}: {tracker} and {base} have different runs "
                                 f"({', '.join(r.run for r in a)} vs {', '.join(r.run for r in b)})")
            d = np.array([getattr(x, metric) - getattr(y, metric) for x, y in zip(a, b)])
            w = np.array([x.frames for x in a], dtype=np.float64)
            diffs.append(d)
            frames.append(w)
            most_runs = max(most_runs, len(a))
            per_sequence.setdefault(s, {})[metric] = pooled(d, w)
        intervals[metric] = paired_bootstrap(diffs, frames, resamples, confidence, seed, resample_runs)
    return Comparison(tracker, base, shared, intervals, per_sequence, most_runs, confidence, resamples,
                      resample_runs, left_out)


def run_scores_of(tracker_report) -> dict[str, list[RunScore]]:
    """``{sequence: [RunScore]}`` of a :class:`~.report.TrackerReport`: its SRE/TRE runs, or its one OPE pass
    per sequence (sequences without a result are left out)."""
    out = {}
    for name, score in tracker_report.sequences.items():
        if name in tracker_report.missing:
            continue
        runs = tracker_report.runs.get(name)
        if runs:
            out[name] = [RunScore(r, sc.success_auc, sc.precision_at, sc.frames) for r, sc in runs]
        else:
            out[name] = [RunScore("ope", score.success_auc, score.precision_at, score.frames)]
    return out


def run_scores_from_json(entry: dict) -> dict[str, list[RunScore]]:
    """The same from a tracker's ``dastsiam eval --json ... --per-sequence`` entry."""
    out = {}
    for name, seq in entry.get("per_sequence", {}).items():
        if not seq.get("has_result", True):
            continue
        runs = seq.get("runs") or [{"run": "ope", **seq}]
        out[name] = [RunScore(r["run"], r["success_auc"], r["precision"], r["frames"]) for r in runs]
    return out


def format_comparisons(comparisons: list[Comparison], per_sequence: bool = True) -> str:
    """Table: mean difference and interval per metric and the verdict; then per-sequence AUC differences."""
    if not comparisons:
        return ""
    c0 = comparisons[0]
    pct = round(100 * c0.confidence)
    levels = "sequences and runs" if c0.resample_runs and c0.runs_per_sequence > 1 else "sequences"
    width = max([7] + [len(c.tracker) + 1 for c in comparisons])
    lines = [f"Paired comparison against {c0.base} ({pct} % bootstrap interval over {levels}, "
             f"{c0.resamples} resamples; Seqs = the sequences both have results for)",
             f"{'Tracker':<{width}}  {'dAUC':>7}  {f'{pct}% interval':>17}  {'dPrec':>7}  {f'{pct}% interval':>17}"
             f"  {'Seqs':>4}  verdict"]
    lines.append("-" * len(lines[-1]))
    for c in comparisons:
        a, p = c.intervals["success_auc"], c.intervals["precision"]
        lines.append(f"{c.tracker:<{width}}  {a.mean:+7.3f}  [{a.low:+7.3f}, {a.high:+7.3f}]  "
                     f"{p.mean:+7.3f}  [{p.low:+7.3f}, {p.high:+7.3f}]  {len(c.sequences):>4}  {c.verdict}")
    if per_sequence:
        names = list(dict.fromkeys(n for c in comparisons for n in c.sequences))
        seq_width = max([8] + [len(n) + 1 for n in names])
        lines += ["", f"Success AUC difference per sequence (tracker - {c0.base}):",
                  f"{'Sequence':<{seq_width}}" + "".join(f"  {c.tracker[:12]:>12}" for c in comparisons)]
        for name in names:
            cells = "".join(f"  {c.per_sequence[name]['success_auc']:+12.3f}" if name in c.per_sequence
                            else f"  {'-':>12}" for c in comparisons)
            lines.append(f"{name:<{seq_width}}{cells}")
    return "\n".join(lines)
