"""ACR Pedi edge combinations, instruments.md §4: improved and worsened never overlap, the
worsening limit stays 30 % at every level, and zero baselines never improve."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epro.scoring import ScoringParams
from epro.scoring.acr_pedi import CORE_SET, compare, score_acr_pedi

# Values on the grids the core set is measured on: tenths (wb, phys_global), whole numbers.
VALUES = st.integers(0, 1200).map(lambda n: Fraction(n, 10))


@settings(max_examples=300, deadline=None)
@given(before=VALUES, after=VALUES, limit=st.integers(0, 100))
def test_a_variable_is_never_both_improved_and_worsened(
    before: Fraction, after: Fraction, limit: int
) -> None:
    """§4: improved means better by ≥ L %, worsened means worse by > 30 %; never both."""
    change = compare(before, after, ScoringParams(acr_worsening_limit=limit))
    for level in (30, 50, 70, 90):
        assert not (change.worsened and change.improved_at(level))
    if after < before:
        assert not change.worsened  # better is never worse
    if after >= before:
        assert not any(change.improved_at(level) for level in (30, 50, 70, 90))


@settings(max_examples=100, deadline=None)
@given(after=VALUES)
def test_a_zero_baseline_never_improves(after: Fraction) -> None:
    """§4 zero baseline: 0 → 0 is no change, 0 → more is worsened, never improved."""
    change = compare(Fraction(0), after)
    assert not any(change.improved_at(level) for level in (30, 50, 70, 90))
    assert change.worsened is (after > 0)


def row(*values: float) -> dict[str, Fraction | None]:
    return {name: Fraction(repr(v)) for name, v in zip(CORE_SET, values, strict=True)}


def levels(before: dict[str, Fraction | None], after: dict[str, Fraction | None]) -> list[object]:
    scores = score_acr_pedi(before, after).scores
    return [scores[f"acr_pedi_{level}"] for level in (30, 50, 70, 90)]


def test_worsening_limit_stays_30_percent_at_pedi_90() -> None:
    """§4: two variables 40 % worse are two worsened at every level (the limit is not L):
    four variables 90 % better still give no Pedi 50/70/90 response, and no Pedi 30."""
    before = row(10, 10, 2, 10, 10, 10)
    after = row(1, 1, 0.2, 1, 14, 14)
    assert levels(before, after) == [False, False, False, False]


def test_one_variable_40_percent_worse_is_the_one_allowed_at_every_level() -> None:
    before = row(10, 10, 2, 10, 10, 10)
    after = row(1, 1, 0.2, 1, 14, 10)
    assert levels(before, after) == [True, True, True, True]


def test_three_improved_at_exactly_each_level() -> None:
    """§4: ≥ L, compared exactly; 10 → 5 is 50 %, 10 → 3 is 70 %, 10 → 1 is 90 %."""
    base = row(10, 10, 2, 10, 10, 10)
    assert levels(base, row(5, 5, 1, 10, 10, 10)) == [True, True, False, False]
    assert levels(base, row(3, 3, 0.6, 10, 10, 10)) == [True, True, True, False]
    assert levels(base, row(1, 1, 0.2, 10, 10, 10)) == [True, True, True, True]


def test_zero_to_zero_variables_count_neither_way() -> None:
    """§4 zero baseline: 0 → 0 is no change, so three improved plus three 0 → 0 respond."""
    assert levels(row(10, 10, 2, 0, 0, 0), row(7, 7, 1.4, 0, 0, 0)) == [True, False, False, False]


def test_two_zero_baselines_that_rise_are_two_worsened() -> None:
    """§4 zero baseline: 0 → anything above 0 is worsened; two of them block the response."""
    assert levels(row(10, 10, 2, 10, 0, 0), row(1, 1, 0.2, 1, 1, 1)) == [False] * 4


def test_two_improved_and_a_worsening_just_at_the_limit() -> None:
    """§4: exactly 30 % worse is not worsened, but two improved are still too few."""
    assert levels(row(10, 10, 2, 10, 10, 10), row(1, 1, 2, 10, 13, 13)) == [False] * 4


@pytest.mark.parametrize("missing", CORE_SET)
def test_any_one_missing_variable_nulls_every_level(missing: str) -> None:
    """§4 rule: all six at both visits; a missing one is named."""
    before = row(10, 10, 2, 10, 10, 10)
    after = {**row(1, 1, 0.2, 1, 1, 1), missing: None}
    result = score_acr_pedi(before, after)
    assert levels(before, after) == [None] * 4
    assert result.notes["acr_pedi_30"] == f"missing: {missing} (visit)"
