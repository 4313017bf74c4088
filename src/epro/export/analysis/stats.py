"""The efficacy table's statistics: SPSS percentiles and the Wilcoxon signed-rank test.

Everything here is computed the way SPSS (and PSPP, which reruns the analysis from the export's
``.sps`` syntax) computes it, so the two can be compared number for number:

* Percentiles use SPSS's default definition, HAVERAGE: the p-th percentile of n sorted values
  sits at position (n + 1)·p, interpolated linearly between the two values around it and
  clamped to the smallest and largest value outside 1 … n. The median is the 50th percentile,
  the IQR the 25th to the 75th.
* The signed-rank test works on the differences visit − baseline of the patients with both
  values. Zero differences are dropped (Wilcoxon's own rule, SPSS's and SciPy's ``"wilcox"``),
  tied absolute differences get their mid-rank, and Z is SPSS's: the smaller rank sum against
  its mean n(n+1)/4, divided by the standard deviation with the ties correction
  (Σ(t³ − t)/48) and no continuity correction, so Z is never positive. Its two-tailed p is the
  normal one.
* The exact two-tailed p enumerates the 2ⁿ sign assignments of the mid-ranks actually observed,
  so it stays exact under ties (the tables of the exact distribution are only valid without
  ties). Mid-ranks are whole or half numbers, so the doubled ranks are whole numbers and the
  distribution of the doubled positive rank sum is built by dynamic programming over them: one
  pass per non-zero difference, each halving the probability of every sum so far and adding
  the shifted copy. Up to 53 differences every probability is a multiple of 2⁻ⁿ held exactly in
  a double, so the p value is exact to the last bit; beyond that it is exact up to rounding.
  The work grows with n³; above :data:`EXACT_MAX_N` non-zero differences the exact p is not
  computed (None), and the asymptotic p, which is then very close to it, is the one to read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

import numpy as np

#: Above this many non-zero differences the exact p is left out: its cost grows with n³
#: (about 0.05 s at 300 on one core) while it is then indistinguishable from the asymptotic p.
EXACT_MAX_N: Final = 300

#: Differences are rounded to this many decimals before ranking, so that changes that are equal
#: in exact arithmetic (a CHAQ index of 7/3 falling to 4/3 and one of 5/3 to 2/3) tie and a
#: change that is zero up to float rounding counts as none, as a hand computation would have it.
#: No score epro reports has a real difference as small as 10⁻¹⁰.
DIFFERENCE_DECIMALS: Final = 10

QUARTILE_1: Final = Fraction(1, 4)
MEDIAN: Final = Fraction(1, 2)
QUARTILE_3: Final = Fraction(3, 4)


def spss_percentile(sorted_values: Sequence[float], p: Fraction) -> float:
    """The p-th percentile (0 < p < 1) of ascending ``sorted_values``, as SPSS's HAVERAGE.

    Position w = (n + 1)·p, k = ⌊w⌋, g = w − k: the value is x₍ₖ₎ + g·(x₍ₖ₊₁₎ − x₍ₖ₎), x₍₁₎
    when w < 1 and x₍ₙ₎ when w ≥ n (1-based order statistics).
    """
    n = len(sorted_values)
    if n == 0:
        raise ValueError("a percentile of no values")
    if not 0 < p < 1:
        raise ValueError(f"percentile fraction {p} is outside (0, 1)")
    # The position is computed in exact arithmetic: (n + 1)·p lands on whole numbers exactly
    # when it should, so no interpolation weight comes out as 0.9999….
    position = (n + 1) * p
    k = math.floor(position)
    if k < 1:
        return float(sorted_values[0])
    if k >= n:
        return float(sorted_values[-1])
    below, above = float(sorted_values[k - 1]), float(sorted_values[k])
    g = position - k
    return below if g == 0 else below + float(g) * (above - below)


@dataclass(frozen=True, slots=True)
class Summary:
    """n, median and quartiles of some values (None for each statistic when n is 0)."""

    n: int
    median: float | None
    q1: float | None
    q3: float | None

    @property
    def iqr(self) -> float | None:
        """The interquartile range, Q3 − Q1."""
        return None if self.q1 is None or self.q3 is None else self.q3 - self.q1


def summarise(values: Sequence[float]) -> Summary:
    """n, median and SPSS quartiles of ``values`` (any order)."""
    if not values:
        return Summary(0, None, None, None)
    ordered = sorted(values)
    return Summary(
        len(ordered),
        spss_percentile(ordered, MEDIAN),
        spss_percentile(ordered, QUARTILE_1),
        spss_percentile(ordered, QUARTILE_3),
    )


@dataclass(frozen=True, slots=True)
class SignedRankTest:
    """The Wilcoxon signed-rank test of visit against baseline, as SPSS reports it.

    Negative ranks are the patients whose value fell (visit < baseline), positive ranks those
    whose value rose, ties those with no change (left out of the ranking).
    """

    n_negative: int
    n_positive: int
    n_ties: int
    rank_sum_negative: float
    rank_sum_positive: float
    #: None when every difference is zero (nothing to rank).
    z: float | None
    p_asymptotic: float | None
    #: None when every difference is zero or there are more than :data:`EXACT_MAX_N`.
    p_exact: float | None

    @property
    def n_ranked(self) -> int:
        """The non-zero differences the test ranks."""
        return self.n_negative + self.n_positive


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Baseline against a later visit over the patients who have the outcome at both."""

    n: int
    baseline: Summary
    visit: Summary
    test: SignedRankTest


def mid_ranks(values: Sequence[float]) -> list[float]:
    """The rank of each value (1-based), tied values sharing the mean of their positions."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        # Positions start+1 … end+1 share their mean.
        rank = (start + end + 2) / 2
        for i in order[start : end + 1]:
            ranks[i] = rank
        start = end + 1
    return ranks


def _tie_sizes(values: Sequence[float]) -> list[int]:
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return list(counts.values())


def exact_two_tailed_p(doubled_ranks: Sequence[int], doubled_positive_sum: int) -> float:
    """P(|T − E T| ≥ |t − E T|) over every sign assignment of the (doubled) ranks.

    T is the sum of the doubled ranks given a positive sign, each sign positive with
    probability ½ independently (the null hypothesis); t is the observed one.
    """
    total = sum(doubled_ranks)
    # probability[s] = P(T = s) over the ranks seen so far; only sums up to their total exist.
    probability = np.zeros(total + 1, dtype=np.float64)
    probability[0] = 1.0
    reach = 0
    for r in doubled_ranks:
        # Each rank is negative (sum unchanged) or positive (sum + r), with probability ½.
        head = probability[: reach + 1] * 0.5
        probability[: reach + 1] = head
        probability[r : reach + r + 1] += head
        reach += r
    # The distribution is symmetric about total/2, so the two tails are equal.
    low = min(doubled_positive_sum, total - doubled_positive_sum)
    tail = float(probability[: low + 1].sum())
    return min(1.0, 2.0 * tail)


def signed_rank_test(baseline: Sequence[float], visit: Sequence[float]) -> SignedRankTest:
    """The signed-rank test of the pairs (baseline[i], visit[i])."""
    if len(baseline) != len(visit):
        raise ValueError("baseline and visit values must pair up")
    differences = [round(v - b, DIFFERENCE_DECIMALS) for b, v in zip(baseline, visit, strict=True)]
    nonzero = [d for d in differences if d != 0]
    n_ties = len(differences) - len(nonzero)
    magnitudes = [abs(d) for d in nonzero]
    ranks = mid_ranks(magnitudes)
    negative = sum(r for r, d in zip(ranks, nonzero, strict=True) if d < 0)
    positive = sum(r for r, d in zip(ranks, nonzero, strict=True) if d > 0)
    n = len(nonzero)
    n_negative = sum(1 for d in nonzero if d < 0)
    if n == 0:
        return SignedRankTest(0, 0, n_ties, 0.0, 0.0, None, None, None)
    mean = n * (n + 1) / 4
    ties = sum(t**3 - t for t in _tie_sizes(magnitudes))
    variance = n * (n + 1) * (2 * n + 1) / 24 - ties / 48
    # With at least one non-zero difference the variance is positive (all n tied leaves
    # (3n³ + 6n² + 3n)/48), so Z always exists here.
    z = (min(negative, positive) - mean) / math.sqrt(variance)
    p_asymptotic = math.erfc(abs(z) / math.sqrt(2))
    p_exact = None
    if n <= EXACT_MAX_N:
        doubled = [round(2 * r) for r in ranks]
        doubled_positive = sum(dr for dr, d in zip(doubled, nonzero, strict=True) if d > 0)
        p_exact = exact_two_tailed_p(doubled, doubled_positive)
    return SignedRankTest(
        n_negative, n - n_negative, n_ties, negative, positive, z, p_asymptotic, p_exact
    )


def compare_paired(pairs: Sequence[tuple[float, float]]) -> PairedComparison:
    """Summaries at both visits and the signed-rank test, over (baseline, visit) pairs."""
    baseline = [b for b, _ in pairs]
    visit = [v for _, v in pairs]
    return PairedComparison(
        len(pairs), summarise(baseline), summarise(visit), signed_rank_test(baseline, visit)
    )
