"""ACR Pediatric 30/50/70/90, instruments.md §4."""

from __future__ import annotations

from fractions import Fraction

import pytest

from epro.scoring import ScoringParams
from epro.scoring.acr_pedi import CORE_SET, compare, score_acr_pedi


def exact(value: float) -> Fraction:
    return Fraction(repr(value))


# (baseline, visit, improvement %, worsened, improved at 30)
COMPARE_CASES = [
    pytest.param(10, 7, Fraction(30), False, True, id="§4 exact: 10→7 is exactly 30% improved"),
    pytest.param(1.0, 0.7, Fraction(30), False, True, id="§4 exact: 1.0→0.7 is exactly 30%"),
    pytest.param(10, 7.01, Fraction("29.9"), False, False, id="§4 29.9% is not improved at 30"),
    pytest.param(
        10, 13, Fraction(-30), False, False, id="§4 worsening: exactly 30% worse is not worsened"
    ),
    pytest.param(
        10, 13.001, Fraction("-30.01"), True, False, id="§4 worsening: 30.01% worse is worsened"
    ),
    pytest.param(0, 0, Fraction(0), False, False, id="§4 zero baseline: 0→0 no change"),
    pytest.param(0, 2, None, True, False, id="§4 zero baseline: 0→2 worsened, never improved"),
    pytest.param(4, 0, Fraction(100), False, True, id="§4 to zero is 100% improved"),
]


@pytest.mark.parametrize(("before", "after", "improvement", "worsened", "improved"), COMPARE_CASES)
def test_compare_one_variable(
    before: float, after: float, improvement: Fraction | None, worsened: bool, improved: bool
) -> None:
    change = compare(exact(before), exact(after))
    assert change.improvement == improvement
    assert change.worsened is worsened
    assert change.improved_at(30) is improved


def test_zero_baseline_worsening_is_a_parameter() -> None:
    change = compare(Fraction(0), Fraction(3), ScoringParams(acr_zero_baseline_worsens=False))
    assert change.worsened is False


def visit(*values: float | None) -> dict[str, Fraction | None]:
    return {name: None if v is None else exact(v) for name, v in zip(CORE_SET, values, strict=True)}


WORKED_BASE = visit(6, 7, 1.5, 10, 8, 40)
# A baseline of round numbers, so each visit below reads as percentages.
EVEN = visit(10, 10, 2, 10, 10, 10)
LEVELS = (30, 50, 70, 90)

# (baseline, visit, the highest level reached: 0 for none). Each level is checked on its own;
# reaching one means reaching every lower one too.
RESPONDER_CASES = [
    pytest.param(WORKED_BASE, visit(3, 4, 1.25, 5, 8, 42), 30, id="§4 worked check"),
    pytest.param(EVEN, visit(7, 7, 1.4, 10, 10, 10), 30, id="§4 30% on three responds at 30"),
    pytest.param(EVEN, visit(7, 7, 1.4, 10, 13, 10), 30, id="§4 30% worse is not worsened"),
    pytest.param(EVEN, visit(7, 7, 1.4, 10, 13.001, 10), 30, id="§4 one 30.01% worse is allowed"),
    pytest.param(EVEN, visit(7, 7, 1.4, 10, 13.001, 14), 0, id="§4 two worsened: no response"),
    pytest.param(EVEN, visit(3, 7, 2, 10, 10, 10), 0, id="§4 two improved are not enough"),
    pytest.param(EVEN, visit(1, 1, 0.2, 1, 10, 10), 90, id="§4 90% on three responds at 90"),
    # Zero baselines: 0→0 is no change, 0→1 is worsened by an undefined percentage.
    pytest.param(
        visit(10, 10, 2, 10, 0, 0),
        visit(1, 1, 0, 10, 1, 0),
        90,
        id="§4 zero baseline 0→1 is the one worsened, 0→0 no change",
    ),
    pytest.param(
        visit(10, 10, 2, 10, 0, 10),
        visit(1, 1, 1.4, 10, 1, 14),
        0,
        id="§4 zero baseline worsening counts towards the limit",
    ),
]


@pytest.mark.parametrize(("before", "after", "reached"), RESPONDER_CASES)
def test_acr_pedi_levels(
    before: dict[str, Fraction | None], after: dict[str, Fraction | None], reached: int
) -> None:
    scores = score_acr_pedi(before, after).scores
    expected = {f"acr_pedi_{level}": level <= reached for level in LEVELS}
    assert {name: scores[name] for name in expected} == expected


def test_worked_check_percentages() -> None:
    """§4 worked check: improvements 50, 42.9, 16.7, 50, 0, −5 %."""
    scores = score_acr_pedi(WORKED_BASE, visit(3, 4, 1.25, 5, 8, 42)).scores
    changes = [scores[f"acr_change_{name}"] for name in CORE_SET]
    assert changes == [50.0, 300 / 7, 50 / 3, 50.0, 0.0, -5.0]


def test_missing_variable_nulls_every_level_and_names_it() -> None:
    result = score_acr_pedi(visit(6, 7, None, 10, 8, 40), visit(3, 4, 1.25, 5, 8, None))
    assert result.scores["acr_pedi_30"] is None
    assert result.notes["acr_pedi_30"] == "missing: chaq_di (baseline), esr (visit)"
    assert result.notes["acr_change_esr"] == "missing: esr at visit"
    assert result.scores["acr_change_phys_global"] == 50.0


def test_required_variables_is_a_parameter() -> None:
    params = ScoringParams(acr_required_variables=5)
    result = score_acr_pedi(visit(6, 7, None, 10, 8, 40), visit(3, 4, 1.25, 5, 8, 42), params)
    assert result.scores["acr_pedi_30"] is True


def test_zero_baseline_change_is_null_with_the_reason() -> None:
    result = score_acr_pedi(visit(6, 7, 1.5, 10, 0, 40), visit(3, 4, 1.25, 5, 2, 42))
    assert result.scores["acr_change_limited_joints"] is None
    assert "baseline is 0" in result.notes["acr_change_limited_joints"]


def test_without_baseline_every_acr_score_is_null() -> None:
    result = score_acr_pedi(None, WORKED_BASE)
    assert result.scores["acr_pedi_50"] is None
    assert result.notes["acr_pedi_50"] == "no baseline visit given"


def test_worsening_limit_is_a_parameter() -> None:
    params = ScoringParams(acr_worsening_limit=20)
    assert compare(Fraction(10), Fraction(125, 10), params).worsened is True
    assert compare(Fraction(10), Fraction(125, 10)).worsened is False
