"""read_number: a number typed by staff is read exactly or refused with the reason, never changed.

instruments.md §2.4 (clinician data): Dutch staff type a decimal comma; a value the kiosk cannot
read for sure (a decimal in a whole-number field, a possible thousands separator) is refused.
"""

from __future__ import annotations

import pytest

from epro.forms.typed import NumberProblem, TypedNumberError, read_number

READ = [
    pytest.param("3", False, 3.0, id="decimal-field-whole-number"),
    pytest.param("2,5", False, 2.5, id="decimal-comma"),
    pytest.param("2.5", False, 2.5, id="decimal-point"),
    pytest.param(" 3,5 ", False, 3.5, id="spaces-around"),
    pytest.param("0,125", False, 0.125, id="three-decimals-after-zero-is-no-thousand"),
    pytest.param("12,25", False, 12.25, id="two-decimals"),
    pytest.param("1,2345", False, 1.2345, id="four-decimals"),
    pytest.param("-0,5", False, -0.5, id="negative"),
    pytest.param("12", True, 12, id="whole-field"),
    pytest.param("+7", True, 7, id="whole-field-plus-sign"),
    pytest.param("007", True, 7, id="whole-field-leading-zeros"),
]

REFUSED = [
    pytest.param("3,5", True, NumberProblem.NOT_WHOLE, id="whole-field-decimal-comma"),
    pytest.param("3.5", True, NumberProblem.NOT_WHOLE, id="whole-field-decimal-point"),
    pytest.param("1.000", True, NumberProblem.NOT_WHOLE, id="whole-field-dutch-thousand"),
    pytest.param("1 000", True, NumberProblem.NOT_WHOLE, id="whole-field-spaced-thousand"),
    pytest.param("1.000", False, NumberProblem.THOUSANDS, id="dutch-thousand-or-english-one"),
    pytest.param("1,000", False, NumberProblem.THOUSANDS, id="english-thousand-or-dutch-one"),
    pytest.param("2.500", False, NumberProblem.THOUSANDS, id="2500-or-2.5"),
    pytest.param("1.000,5", False, NumberProblem.THOUSANDS, id="dutch-grouped-with-decimals"),
    pytest.param("1,000.5", False, NumberProblem.THOUSANDS, id="english-grouped-with-decimals"),
    pytest.param("1.000.000", False, NumberProblem.THOUSANDS, id="two-groups"),
    pytest.param("1 000", False, NumberProblem.THOUSANDS, id="spaced-thousand"),
    pytest.param("2,5 mm", False, NumberProblem.NOT_A_NUMBER, id="with-a-unit"),
    pytest.param("2,,5", False, NumberProblem.NOT_A_NUMBER, id="double-comma"),
    pytest.param(",5", False, NumberProblem.NOT_A_NUMBER, id="no-whole-part"),
    pytest.param("5,", False, NumberProblem.NOT_A_NUMBER, id="no-decimals-after-comma"),
    pytest.param("1e3", False, NumberProblem.NOT_A_NUMBER, id="exponent"),
    pytest.param("nan", False, NumberProblem.NOT_A_NUMBER, id="not-a-number-word"),
    pytest.param("١٢", True, NumberProblem.NOT_A_NUMBER, id="other-script-digits"),
    pytest.param("", True, NumberProblem.NOT_A_NUMBER, id="empty"),
]


@pytest.mark.parametrize(("typed", "whole", "expected"), READ)
def test_a_typed_number_is_read_exactly(typed: str, whole: bool, expected: float) -> None:
    number = read_number(typed, whole=whole)
    assert number == expected
    assert type(number) is (int if whole else float)


@pytest.mark.parametrize(("typed", "whole", "problem"), REFUSED)
def test_a_number_that_cannot_be_read_for_sure_is_refused_with_the_reason(
    typed: str, whole: bool, problem: NumberProblem
) -> None:
    with pytest.raises(TypedNumberError) as refused:
        read_number(typed, whole=whole)
    assert refused.value.problem is problem
    # The message says how to fix it and never repeats the value typed (patient data).
    assert "type" in str(refused.value)
    assert typed.strip() == "" or typed.strip() not in str(refused.value)
