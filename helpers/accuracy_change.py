"""How much accuracy a model lost against its baseline, measured on the same samples, and how sure
that figure is.

Two accuracies measured on the same samples differ only where the two models disagree: the samples
the baseline got right and the candidate wrong (``lost``) and the other way round (``gained``).
Everything else cancels. So the uncertainty of an accuracy change comes from those disagreements,
not from the size of the split: 300 samples with 4 disagreements pin a change down better than
3,000 with 200.

The interval here is exact for the disagreements (Clopper-Pearson on ``lost`` out of ``lost +
gained``), turned into points of accuracy. A verdict against a budget of points then has three
outcomes: within the budget, over it for sure (the whole interval is over), or too close to tell on
these samples (the interval holds the budget), which is for a person to decide, not for the noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95


def _binomial_log_pmf(k: int, n: int, p: float) -> float:
    if p <= 0.0:
        return 0.0 if k == 0 else -math.inf
    if p >= 1.0:
        return 0.0 if k == n else -math.inf
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return min(1.0, sum(math.exp(_binomial_log_pmf(i, n, p)) for i in range(k + 1)))


def _solve(increasing, target: float) -> float:
    """The p in [0, 1] where ``increasing(p)`` crosses ``target`` (bisection)."""
    low, high = 0.0, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if increasing(middle) < target else (low, middle)
    return (low + high) / 2


def clopper_pearson(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The exact two-sided interval of a binomial proportion (fractions from 0 to 1)."""
    if trials == 0:
        return 0.0, 1.0
    alpha = 1.0 - confidence
    lower = 0.0 if successes == 0 else _solve(lambda p: 1.0 - binomial_cdf(successes - 1, trials, p), alpha / 2)
    upper = 1.0 if successes == trials else _solve(lambda p: 1.0 - binomial_cdf(successes, trials, p), 1 - alpha / 2)
    return lower, upper


@dataclass(frozen=True)
class AccuracyChange:
    """A candidate's accuracy against its baseline's, on the same ``samples``."""

    samples: int
    baseline_correct: int
    candidate_correct: int
    lost: int  # samples the baseline got right and the candidate wrong
    gained: int  # samples the candidate got right and the baseline wrong

    @property
    def drop_points(self) -> float:
        """Accuracy lost, in percentage points (negative when the candidate is better)."""
        return 100.0 * (self.lost - self.gained) / self.samples

    def drop_interval(self, confidence: float = CONFIDENCE) -> tuple[float, float]:
        """The interval of the accuracy lost, in percentage points, given the disagreements."""
        disagreements = self.lost + self.gained
        low, high = clopper_pearson(self.lost, disagreements, confidence)
        to_points = 100.0 * disagreements / self.samples  # a lost share p of them is (2p - 1) of these points
        return to_points * (2 * low - 1), to_points * (2 * high - 1)


def paired_change(baseline_correct: np.ndarray, candidate_correct: np.ndarray) -> AccuracyChange:
    """The change between two per-sample correctness arrays of the same samples (booleans)."""
    baseline, candidate = np.asarray(baseline_correct, bool), np.asarray(candidate_correct, bool)
    if baseline.shape != candidate.shape or baseline.ndim != 1 or len(baseline) == 0:
        raise ValueError(f"two correctness arrays of the same samples, got {baseline.shape} and {candidate.shape}")
    return AccuracyChange(
        samples=len(baseline),
        baseline_correct=int(baseline.sum()),
        candidate_correct=int(candidate.sum()),
        lost=int((baseline & ~candidate).sum()),
        gained=int((~baseline & candidate).sum()),
    )


@dataclass(frozen=True)
class DropVerdict:
    """An accuracy drop against a budget: ``passed`` True (within it), False (over it, surely) or
    None (too close to tell on these samples); ``text`` says the figure and how sure it is."""

    passed: bool | None
    text: str


def judge_drop(change: AccuracyChange, budget_points: float, confidence: float = CONFIDENCE) -> DropVerdict:
    """Judge ``change`` against a budget of points: within it (the measured drop), over it only when
    the whole interval is over it, and undecided in between."""
    low, high = change.drop_interval(confidence)
    gained = -change.drop_points or 0.0  # positive when the candidate is better (never "-0.00")
    figure = (
        f"{gained:+.2f} pts on {change.samples:,} samples ({change.lost} lost, {change.gained} gained; "
        f"{confidence:.0%} interval of the loss {low:.2f} to {high:.2f})"
    )
    if change.drop_points <= budget_points:
        sure = "sure" if high <= budget_points else "likely: the interval reaches past the budget"
        return DropVerdict(True, f"{figure}: within {budget_points:g} pts, {sure}")
    if low > budget_points:
        return DropVerdict(False, f"{figure}: over {budget_points:g} pts, sure")
    return DropVerdict(None, f"{figure}: over {budget_points:g} pts, but too close to tell on these samples")
