"""JADAS composites and activity categories, instruments.md §3."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epro.scoring.composites import (
    CATEGORY_LABELS,
    CUTOFFS,
    activity_category,
    esr_normalised,
    score_composites,
)

ESR_CASES = [
    pytest.param(0, 0, id="§3 esr 0"),
    pytest.param(19, 0, id="§3 esr 19 → 0"),
    pytest.param(20, 0, id="§3 esr 20 → 0"),
    pytest.param(21, Fraction(1, 10), id="§3 esr 21 → 0.1"),
    pytest.param(120, 10, id="§3 esr 120 → 10"),
    pytest.param(121, 10, id="§3 esr 121 → 10 (clamped)"),
]


@pytest.mark.parametrize(("esr", "esrn"), ESR_CASES)
def test_esr_normalisation(esr: int, esrn: Fraction) -> None:
    assert esr_normalised(Fraction(esr)) == esrn


def inputs(**values: float | None) -> dict[str, Fraction | None]:
    base: dict[str, float | None] = {
        "phys_global": 2,
        "wb": 3,
        "active_joints": 4,
        "active_joints_27": 3,
        "esr": 40,
    }
    base.update(values)
    return {k: None if v is None else Fraction(repr(v)) for k, v in base.items()}


# (inputs, jadas71, jadas27, jadas10, cjadas10)
FORMULA_CASES = [
    pytest.param(inputs(), 11, 10, 11, 9, id="§3 formulas, esrn 2"),
    pytest.param(inputs(active_joints=30), 37, 10, 17, 15, id="§3 jadas10 caps joints at 10"),
    pytest.param(
        inputs(active_joints=71, active_joints_27=27, esr=121, phys_global=10, wb=10),
        101,
        57,
        40,
        30,
        id="§3 maxima",
    ),
    pytest.param(
        inputs(active_joints=0, active_joints_27=0, esr=0, phys_global=0, wb=0),
        0,
        0,
        0,
        0,
        id="§3 minima",
    ),
]


@pytest.mark.parametrize(("given_inputs", "j71", "j27", "j10", "c10"), FORMULA_CASES)
def test_jadas_formulas(
    given_inputs: dict[str, Fraction | None], j71: float, j27: float, j10: float, c10: float
) -> None:
    scores = score_composites(given_inputs, "poly").scores
    assert (scores["jadas71"], scores["jadas27"], scores["jadas10"], scores["cjadas10"]) == (
        j71,
        j27,
        j10,
        c10,
    )


def test_missing_esr_nulls_only_the_esr_scores_and_names_it() -> None:
    result = score_composites(inputs(esr=None), "oligo")
    assert result.scores["jadas71"] is None
    assert result.notes["jadas71"] == "missing: esr"
    assert result.notes["jadas10_category"] == "missing: esr"
    assert result.scores["cjadas10"] == 9
    assert result.scores["cjadas10_category"] == CATEGORY_LABELS.index("high")


def test_missing_inputs_are_all_named() -> None:
    result = score_composites(inputs(wb=None, phys_global=None), None)
    assert result.notes["cjadas10"] == "missing: phys_global, wb"
    assert result.notes["cjadas10_category"] == "missing: phys_global, wb, jia_course"


def test_missing_course_nulls_the_category_with_a_note() -> None:
    result = score_composites(inputs(), None)
    assert result.scores["jadas71"] == 11
    assert result.scores["jadas71_category"] is None
    assert result.notes["jadas71_category"] == "missing: jia_course"


def category_cases() -> list[object]:
    """Every cut-off of §3: the cut-off itself stays in the lower category, 0.1 above goes up."""
    cases: list[object] = []
    for (score, course), uppers in CUTOFFS.items():
        for code, upper in enumerate(uppers):
            for value, expected in ((upper, code), (upper + Fraction(1, 10), code + 1)):
                label = f"§3 {score} {course} {float(value):g} {CATEGORY_LABELS[expected]}"
                cases.append(pytest.param(score, course, value, expected, id=label))
    return cases


CATEGORY_CASES = category_cases()


@pytest.mark.parametrize(("score", "course", "value", "expected"), CATEGORY_CASES)
def test_activity_category_at_each_cutoff(
    score: str, course: str, value: Fraction, expected: int
) -> None:
    assert activity_category(score, course, value) == expected


SPOT_CASES = [
    pytest.param("jadas10", "oligo", "4.2", "moderate", id="§3 jadas10 oligo 4.2 moderate"),
    pytest.param("jadas10", "poly", "10.5", "moderate", id="§3 jadas10 poly 10.5 moderate"),
    pytest.param("jadas27", "poly", "8.6", "high", id="§3 jadas27 poly 8.6 high"),
    pytest.param("cjadas10", "oligo", "1.5", "low", id="§3 cjadas10 oligo 1.5 low"),
    pytest.param("cjadas10", "poly", "2.6", "moderate", id="§3 cjadas10 poly 2.6 moderate"),
    pytest.param("jadas71", "oligo", "0", "inactive", id="§3 jadas71 oligo 0 inactive"),
]


@pytest.mark.parametrize(("score", "course", "value", "label"), SPOT_CASES)
def test_category_spot_checks_against_the_table(
    score: str, course: str, value: str, label: str
) -> None:
    assert CATEGORY_LABELS[activity_category(score, course, Fraction(value))] == label


def test_sum_that_lands_on_a_cutoff_is_not_pushed_over_by_float_rounding() -> None:
    # In binary floats 0 + 0.1 + 0 + (57 - 20) / 10 is 3.8000000000000003, above the poly
    # cut-off 3.8 (§3); the exact sum is 3.8 and must stay "low".
    zero = Fraction(0)
    values = {"phys_global": zero, "wb": Fraction(1, 10), "active_joints": zero}
    result = score_composites({**values, "active_joints_27": zero, "esr": Fraction(57)}, "poly")
    assert result.scores["jadas10_category"] == CATEGORY_LABELS.index("low")
    assert 0.0 + 0.1 + 0 + (57 - 20) / 10 > 3.8  # the trap is real


HALF_STEPS = st.integers(0, 20).map(lambda n: Fraction(n, 2))
RANGES = {"jadas71": 101, "jadas27": 57, "jadas10": 40, "cjadas10": 30}


@settings(max_examples=200, deadline=None)
@given(
    phys_global=HALF_STEPS,
    wb=st.integers(0, 100).map(lambda n: Fraction(n, 10)),
    active_joints=st.integers(0, 71).map(Fraction),
    active_joints_27=st.integers(0, 27).map(Fraction),
    esr=st.integers(0, 200).map(Fraction),
)
def test_each_composite_stays_in_its_range(
    phys_global: Fraction,
    wb: Fraction,
    active_joints: Fraction,
    active_joints_27: Fraction,
    esr: Fraction,
) -> None:
    values = {
        "phys_global": phys_global,
        "wb": wb,
        "active_joints": active_joints,
        "active_joints_27": active_joints_27,
        "esr": esr,
    }
    scores = score_composites(values, "poly").scores
    for name, top in RANGES.items():
        value = scores[name]
        assert isinstance(value, float)
        assert 0 <= value <= top
