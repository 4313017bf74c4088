"""The efficacy statistics (DESIGN §9: the trial's table, SPSS-style and exact Wilcoxon).

Percentiles are checked against SPSS's HAVERAGE definition worked by hand, and against PSPP (the
program the export's syntax reruns the analysis in); the signed-rank test against SciPy for Z
and the asymptotic p, and against an enumeration of every sign assignment written here for the
exact p (and SciPy's exact distribution where it applies: no ties, no zeros).
"""

from __future__ import annotations

import csv
import io
import itertools
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from epro.export.analysis.stats import (
    EXACT_MAX_N,
    compare_paired,
    signed_rank_test,
    spss_percentile,
    summarise,
)

# Each case: values, then (Q1, median, Q3) worked by hand. HAVERAGE puts the p-th percentile of
# n sorted values at position w = (n + 1)p; with k = ⌊w⌋ and g = w − k it is
# x(k) + g·(x(k+1) − x(k)), x(1) when w < 1 and x(n) when w ≥ n.
PERCENTILE_CASES = [
    # n = 4: w = 1.25, 2.5, 3.75 → 1 + 0.25, 2 + 0.5, 3 + 0.75.
    pytest.param([4, 2, 3, 1], (1.25, 2.5, 3.75), id="four-values-interpolated"),
    # n = 7: w = 2, 4, 6 land on values: x(2) = 4, x(4) = 5, x(6) = 7.
    pytest.param([8, 4, 2, 7, 5, 4, 6], (4.0, 5.0, 7.0), id="seven-values-on-positions"),
    # n = 5, sorted 1 1 3 4 5: w = 1.5 → 1 + 0.5·(1 − 1) = 1; w = 3 → 3; w = 4.5 → 4.5.
    pytest.param([3, 1, 4, 1, 5], (1.0, 3.0, 4.5), id="five-values-with-a-tie"),
    # n = 6: w = 1.75 → 10 + 0.75·10; w = 3.5 → 35; w = 5.25 → 50 + 0.25·10.
    pytest.param([60, 10, 50, 20, 40, 30], (17.5, 35.0, 52.5), id="six-values"),
    # n = 2: w = 0.75 < 1 → x(1); w = 1.5 → 15; w = 2.25 ≥ n → x(n).
    pytest.param([20, 10], (10.0, 15.0, 20.0), id="two-values-clamped"),
    # n = 1: every percentile is the value.
    pytest.param([5], (5.0, 5.0, 5.0), id="one-value"),
    # n = 8 CHAQ-like eighths: w = 2.25 → 0.25 + 0.25·0.125; w = 4.5 → 0.875 + 0.5·0.125;
    # w = 6.75 → 1.5 + 0.75·0.5.
    pytest.param(
        [0.125, 0.25, 0.375, 0.875, 1.0, 1.5, 2.0, 3.0],
        (0.28125, 0.9375, 1.875),
        id="eight-fractions",
    ),
    # n = 11: w = 3, 6, 9 exactly, so every quartile is a value of the sample.
    pytest.param(list(range(0, 110, 10)), (20.0, 50.0, 80.0), id="eleven-values-on-positions"),
]


@pytest.mark.parametrize(("values", "expected"), PERCENTILE_CASES)
def test_quartiles_follow_spss_haverage_worked_by_hand(
    values: list[float], expected: tuple[float, float, float]
) -> None:
    """SPSS EXAMINE default percentiles (HAVERAGE), clamped at both ends."""
    summary = summarise(values)
    assert (summary.q1, summary.median, summary.q3) == pytest.approx(expected, abs=1e-12)
    assert summary.n == len(values)
    assert summary.iqr == pytest.approx(expected[2] - expected[0], abs=1e-12)


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        # n = 10, p = 0.1: w = 1.1 → 1 + 0.1·(2 − 1).
        pytest.param(list(range(1, 11)), Fraction(1, 10), 1.1, id="tenth-of-ten"),
        # n = 9, p = 0.9: w = 9 = n → x(9).
        pytest.param(list(range(1, 10)), Fraction(9, 10), 9.0, id="ninetieth-of-nine-at-top"),
        # n = 9, p = 0.05: w = 0.5 < 1 → x(1).
        pytest.param(list(range(1, 10)), Fraction(1, 20), 1.0, id="low-clamped"),
    ],
)
def test_any_percentile_follows_the_same_rule(
    values: list[float], fraction: Fraction, expected: float
) -> None:
    """HAVERAGE for percentiles other than the quartiles."""
    assert spss_percentile(sorted(values), fraction) == pytest.approx(expected, abs=1e-12)


def test_no_values_summarise_to_nothing() -> None:
    """An outcome nobody has at a visit has n = 0 and no median, not an error."""
    summary = summarise([])
    assert (summary.n, summary.median, summary.q1, summary.q3, summary.iqr) == (0,) + (None,) * 4


# Paired fixtures: (baseline, visit). Each has ties among the absolute differences, zero
# differences, or both, as small trials do.
PAIRED_CASES = [
    pytest.param(
        [10, 10, 8, 7, 5, 6, 9, 4, 3, 12],
        [12, 10, 11, 9, 8, 4, 13, 4, 7, 14],
        id="ties-and-two-zeros",
    ),
    pytest.param(
        [75, 80, 62, 90, 55, 70, 85, 60, 77, 68, 72, 81],
        [56, 80, 50, 60, 55, 72, 45, 62, 70, 50, 60, 79],
        id="vas-like-ties-zeros",
    ),
    pytest.param(
        [1.5, 2.0, 0.875, 1.25, 2.5, 0.5, 1.0, 1.75],
        [1.0, 1.5, 0.875, 0.75, 2.0, 0.625, 1.5, 1.25],
        id="chaq-like-eighths",
    ),
    pytest.param([3, 5, 2, 8, 1], [1, 3, 4, 6, 3], id="every-difference-tied"),
    pytest.param(
        [24.5, 18.0, 30.1, 12.0, 20.3, 27.4, 15.2],
        [11.0, 19.5, 10.6, 14.0, 8.1, 12.6, 18.3],
        id="jadas-like-no-ties",
    ),
]


def _scipy_asymptotic(baseline: list[float], visit: list[float]) -> tuple[float, float]:
    result = scipy_stats.wilcoxon(
        visit, baseline, zero_method="wilcox", correction=False, method="asymptotic"
    )
    return float(result.zstatistic), float(result.pvalue)


def _brute_force_exact_p(baseline: list[float], visit: list[float]) -> Fraction:
    """Every one of the 2ⁿ sign assignments of the observed mid-ranks, counted exactly."""
    differences = [v - b for b, v in zip(baseline, visit, strict=True) if v != b]
    ranks = scipy_stats.rankdata([abs(d) for d in differences])  # mid-ranks for ties
    doubled = [round(2 * r) for r in ranks]  # whole numbers: mid-ranks are k or k + 1/2
    observed = sum(r for r, d in zip(doubled, differences, strict=True) if d > 0)
    centre = Fraction(sum(doubled), 2)
    extreme = 0
    for signs in itertools.product((0, 1), repeat=len(doubled)):
        total = sum(r for r, s in zip(doubled, signs, strict=True) if s)
        if abs(total - centre) >= abs(observed - centre):
            extreme += 1
    return Fraction(extreme, 2 ** len(doubled))


@pytest.mark.parametrize(("baseline", "visit"), PAIRED_CASES)
def test_z_and_asymptotic_p_equal_scipy_wilcox_without_continuity_correction(
    baseline: list[float], visit: list[float]
) -> None:
    """SPSS Wilcoxon: zeros dropped, mid-ranks, ties-corrected Z, no continuity correction."""
    z, p = _scipy_asymptotic(baseline, visit)
    test = signed_rank_test(baseline, visit)
    assert test.z == pytest.approx(z, rel=1e-12)
    assert test.p_asymptotic == pytest.approx(p, rel=1e-12)
    assert test.z is not None
    assert test.z <= 0


@pytest.mark.parametrize(("baseline", "visit"), PAIRED_CASES)
def test_exact_p_equals_an_enumeration_of_every_sign_assignment(
    baseline: list[float], visit: list[float]
) -> None:
    """Exact two-tailed p, exact under ties: P(|T − E T| ≥ |t − E T|) over 2ⁿ sign flips."""
    expected = _brute_force_exact_p(baseline, visit)
    # Up to 53 differences the dynamic programme is exact to the last bit.
    assert signed_rank_test(baseline, visit).p_exact == float(expected)


@pytest.mark.parametrize(("baseline", "visit"), PAIRED_CASES)
def test_rank_counts_and_sums_are_those_of_the_differences(
    baseline: list[float], visit: list[float]
) -> None:
    """SPSS's Ranks table: negative (fell), positive (rose), ties (no change) and rank sums."""
    differences = [v - b for b, v in zip(baseline, visit, strict=True)]
    nonzero = [d for d in differences if d != 0]
    ranks = scipy_stats.rankdata([abs(d) for d in nonzero])
    test = signed_rank_test(baseline, visit)
    assert (test.n_negative, test.n_positive, test.n_ties) == (
        sum(d < 0 for d in nonzero),
        sum(d > 0 for d in nonzero),
        len(differences) - len(nonzero),
    )
    assert test.rank_sum_negative == pytest.approx(sum(ranks[np.array(nonzero) < 0]))
    assert test.rank_sum_positive == pytest.approx(sum(ranks[np.array(nonzero) > 0]))


def test_exact_p_without_ties_or_zeros_equals_scipys_exact_distribution() -> None:
    """Where the classic exact tables apply (no ties, no zeros), they give the same p."""
    rng = np.random.default_rng(8)
    for n in (5, 9, 14, 20, 30):
        baseline = rng.normal(50, 10, n).round(3).tolist()
        visit = (np.array(baseline) + rng.normal(-4, 8, n)).round(3).tolist()
        magnitudes = [abs(v - b) for b, v in zip(baseline, visit, strict=True)]
        assert len(set(magnitudes)) == n
        assert 0 not in magnitudes
        expected = scipy_stats.wilcoxon(visit, baseline, method="exact").pvalue
        assert signed_rank_test(baseline, visit).p_exact == pytest.approx(expected, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 6)),
        min_size=1,
        max_size=11,
    )
)
def test_any_small_sample_agrees_with_scipy_and_the_enumeration(
    pairs: list[tuple[int, int]],
) -> None:
    """Small integer scores: many ties and zeros, every statistic checked independently."""
    baseline = [float(b) for b, _ in pairs]
    visit = [float(v) for _, v in pairs]
    test = signed_rank_test(baseline, visit)
    if all(b == v for b, v in pairs):
        assert (test.z, test.p_asymptotic, test.p_exact) == (None, None, None)
        return
    z, p = _scipy_asymptotic(baseline, visit)
    assert test.z == pytest.approx(z, rel=1e-9, abs=1e-12)
    assert test.p_asymptotic == pytest.approx(p, rel=1e-9)
    assert test.p_exact == float(_brute_force_exact_p(baseline, visit))


def test_only_zero_differences_give_no_test_statistic() -> None:
    """Wilcoxon's zero rule: nothing left to rank, so Z and both p are empty, not 0 or 1."""
    test = signed_rank_test([3.0, 5.0, 7.0], [3.0, 5.0, 7.0])
    assert (test.n_ranked, test.n_ties) == (0, 3)
    assert (test.z, test.p_asymptotic, test.p_exact) == (None, None, None)


def test_a_change_that_is_zero_up_to_float_rounding_counts_as_no_change() -> None:
    """0.1 + 0.2 against 0.3 is no change, and equal changes by different sums tie."""
    baseline = [0.3, 7 / 3, 5 / 3, 1.0]
    visit = [0.1 + 0.2, 4 / 3, 2 / 3, 2.0]
    test = signed_rank_test(baseline, visit)
    assert test.n_ties == 1
    # The three changes of 1 share the mid-rank 2: two fell, one rose.
    assert (test.rank_sum_negative, test.rank_sum_positive) == (4.0, 2.0)


def test_the_exact_p_is_left_out_above_the_size_limit() -> None:
    """Large n: the exact p is not computed (its cost grows with n³); Z and p still are."""
    rng = np.random.default_rng(3)
    n = EXACT_MAX_N + 1
    baseline = rng.integers(0, 100, n).astype(float).tolist()
    visit = (np.array(baseline) + rng.integers(1, 30, n)).tolist()  # no zero differences
    test = signed_rank_test(baseline, visit)
    assert test.n_ranked == n
    assert test.p_exact is None
    assert test.p_asymptotic is not None
    at_limit = signed_rank_test(baseline[:EXACT_MAX_N], visit[:EXACT_MAX_N])
    assert at_limit.p_exact is not None


def test_paired_comparison_summarises_both_visits_over_the_same_patients() -> None:
    """The table's medians are those of the paired sample the test is run on."""
    pairs = [(75.0, 56.0), (80.0, 80.0), (62.0, 50.0), (90.0, 60.0), (55.0, 70.0)]
    result = compare_paired(pairs)
    assert result.n == 5
    assert result.baseline == summarise([75.0, 80.0, 62.0, 90.0, 55.0])
    assert result.visit == summarise([56.0, 80.0, 50.0, 60.0, 70.0])
    assert result.test == signed_rank_test([p[0] for p in pairs], [p[1] for p in pairs])


def _pspp(tmp_path: Path, baseline: list[float], visit: list[float]) -> dict[str, list[str]]:
    rows = "\n".join(f"{b} {v}" for b, v in zip(baseline, visit, strict=True))
    syntax = (
        "SET FORMAT=F16.8.\n"
        "DATA LIST LIST /base (F8.3) visit (F8.3).\nBEGIN DATA\n"
        f"{rows}\nEND DATA.\n"
        "EXAMINE VARIABLES=base visit /PERCENTILES(25,50,75) HAVERAGE /STATISTICS=NONE.\n"
        "NPAR TESTS /WILCOXON=base WITH visit (PAIRED).\n"
    )
    (tmp_path / "check.sps").write_text(syntax, encoding="utf-8")
    subprocess.run(
        ["pspp", "check.sps", "-O", "format=csv", "-o", "out.csv"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    found: dict[str, list[str]] = {}
    variable = ""
    for line in csv.reader(io.StringIO((tmp_path / "out.csv").read_text(encoding="utf-8"))):
        if len(line) >= 5 and line[1] == "Weighted Average":
            variable = line[0] or variable
            found[variable] = line[2:5]
        elif line and line[0] in ("Z", "Asymp. Sig. (2-tailed)"):
            found[line[0]] = line[1:]
    return found


@pytest.mark.skipif(shutil.which("pspp") is None, reason="PSPP is not installed")
@pytest.mark.parametrize(("baseline", "visit"), PAIRED_CASES)
def test_pspp_computes_the_same_quartiles_z_and_asymptotic_p(
    tmp_path: Path, baseline: list[float], visit: list[float]
) -> None:
    """The export's .sps reruns the analysis in PSPP: EXAMINE HAVERAGE and NPAR TESTS agree."""
    found = _pspp(tmp_path, baseline, visit)
    result = compare_paired(list(zip(baseline, visit, strict=True)))
    for name, summary in (("base", result.baseline), ("visit", result.visit)):
        quartiles = [summary.q1, summary.median, summary.q3]
        assert [float(x) for x in found[name]] == pytest.approx(quartiles, abs=1e-7)
    assert result.test.z is not None
    assert result.test.p_asymptotic is not None
    assert float(found["Z"][0]) == pytest.approx(result.test.z, abs=1e-7)
    # PSPP prints significance with three decimals only.
    assert float(found["Asymp. Sig. (2-tailed)"][0]) == pytest.approx(
        result.test.p_asymptotic, abs=5e-4
    )
