"""Reading answers for scoring: the missing-value codes and defensive type checks.

Scoring trusts nothing it is given: a value that does not fit its item raises
:class:`~epro.errors.AnswerError` naming the variable and the expected scale, never the value
itself (answers are patient data). Numbers come back as :class:`~fractions.Fraction` so that
sums, means and percentage comparisons downstream are exact.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from fractions import Fraction
from typing import Literal

from epro.errors import AnswerError
from epro.forms.model import NA, SKIPPED, AnswerValue

Answers = Mapping[str, AnswerValue]

#: Why an answer is not a value: not applicable, skipped on purpose, or never reached.
Missing = Literal["na", "skipped", "absent"]


def missing(answers: Answers, name: str) -> Missing | None:
    """The missing-value code of ``name``, or None when it holds a real answer."""
    if name not in answers:
        return "absent"
    value = answers[name]
    if value == NA and isinstance(value, str):
        return "na"
    if value == SKIPPED and isinstance(value, str):
        return "skipped"
    return None


def _exact(value: AnswerValue, name: str, scale: str) -> Fraction:
    # bool is an int in Python; a yes/no never stands in for a number.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AnswerError(f"{name}: expected a number ({scale}), 'na' or 'skipped'")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AnswerError(f"{name}: expected a finite number ({scale})")
        # repr is the shortest decimal that round-trips, so 0.7 becomes exactly 7/10.
        return Fraction(repr(value))
    return Fraction(value)


def number(
    answers: Answers,
    name: str,
    low: float,
    high: float | None = None,
    *,
    integer: bool = False,
    step: float | None = None,
) -> Fraction | None:
    """The answer to a numeric item as an exact fraction; None when na, skipped or absent.

    ``step`` (counted from ``low``) is the scale's grid, e.g. 0.5 for the 21-circle scales and
    the physician global: a value between two steps is not an answer the item can give.
    """
    if missing(answers, name) is not None:
        return None
    value = answers[name]
    # The common answer, a whole number inside the scale (every coded item), needs none of
    # the checks below: comparing an int with the bounds is exact in Python, as is the
    # Fraction of an int. Scoring a whole study calls this hundreds of thousands of times.
    if type(value) is int and step is None and low <= value and (high is None or value <= high):
        return Fraction(value)
    scale = f"{low:g} to {high:g}" if high is not None else f"{low:g} or more"
    if integer:
        scale = "a whole number, " + scale
    if step is not None:
        scale += f" in steps of {step:g}"
    exact = _exact(value, name, scale)
    if integer and exact.denominator != 1:
        raise AnswerError(f"{name}: expected {scale}; give a whole number")
    if exact < Fraction(repr(low)) or (high is not None and exact > Fraction(repr(high))):
        raise AnswerError(f"{name}: the answer is outside the scale ({scale}); correct it")
    if step is not None and (exact - Fraction(repr(low))) % Fraction(repr(step)) != 0:
        raise AnswerError(f"{name}: the answer is not on a step of the scale ({scale}); correct it")
    return exact


def code(answers: Answers, name: str, top: int) -> int | None:
    """The answer to a coded item scored 0..top; None when na, skipped or absent."""
    given = answers.get(name)
    if type(given) is int and 0 <= given <= top:  # the common case, as in number()
        return given
    value = number(answers, name, 0, top, integer=True)
    return None if value is None else int(value)


def codes(answers: Answers, name: str, allowed: Collection[str] | None = None) -> tuple[str, ...]:
    """The codes ticked in a checklist; an unanswered or skipped checklist ticks nothing."""
    if missing(answers, name) is not None:
        return ()
    value = answers[name]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AnswerError(f"{name}: expected a list of codes, 'na' or 'skipped'")
    if allowed is not None:
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise AnswerError(
                f"{name}: unknown code(s) {', '.join(map(repr, unknown))}; "
                f"the codes are {', '.join(allowed)}"
            )
    return tuple(value)


def choice(answers: Answers, name: str, allowed: Collection[str]) -> str | None:
    """The code of a single-choice item with text codes; None when na, skipped or absent."""
    if missing(answers, name) is not None:
        return None
    value = answers[name]
    if not isinstance(value, str) or value not in allowed:
        raise AnswerError(f"{name}: expected one of {', '.join(allowed)}")
    return value


def flag(answers: Answers, name: str) -> bool | None:
    """The answer to a yes/no item; None when na, skipped or absent."""
    if missing(answers, name) is not None:
        return None
    value = answers[name]
    if not isinstance(value, bool):
        raise AnswerError(f"{name}: expected yes or no (true or false), 'na' or 'skipped'")
    return value
