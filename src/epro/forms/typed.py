"""Numbers as staff type them: a decimal comma or point, read exactly or refused with a reason.

Dutch staff write 2,5 where English staff write 2.5; both mean two and a half, so both are read.
Nothing typed is ever dropped or rewritten to make a number fit: a decimal in a whole-number
field is refused, and so is a point or comma that may separate thousands ("1.000" is a thousand
in Dutch and one in English; "1.000,5" and "1 000" group digits too). A separator followed by
exactly three digits counts as such a look-alike unless the whole part is zero (0,125 cannot
be a thousand); decimals with one, two or four and more digits are read as they are.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from epro.errors import AnswerError


class NumberProblem(StrEnum):
    """Why a typed text is not read as a number (the kiosk words each one for the person)."""

    NOT_A_NUMBER = "not_a_number"
    NOT_WHOLE = "not_whole"
    THOUSANDS = "thousands"


class TypedNumberError(AnswerError):
    """The typed text is not a number of the kind asked; ``problem`` says why.

    The message never repeats what was typed: it may be a patient's value.
    """

    def __init__(self, problem: NumberProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


_WHOLE: Final = re.compile(r"[+-]?[0-9]+")
#: One decimal separator with digits on both sides.
_DECIMAL: Final = re.compile(r"(?P<whole>[+-]?[0-9]+)[.,](?P<fraction>[0-9]+)")
#: Digits in groups of three behind a point, comma or space, maybe with decimals after them.
_GROUPED: Final = re.compile(r"[+-]?[0-9]{1,3}(?:[., ][0-9]{3})+(?:[.,][0-9]+)?")


def read_number(typed: str, *, whole: bool) -> int | float:
    """The number ``typed`` means: an int when ``whole``, else a float; or TypedNumberError.

    Spaces around the number are ignored; the range of the item is not checked here.
    """
    text = typed.strip()
    if _WHOLE.fullmatch(text):
        return int(text) if whole else float(text)
    decimal = _DECIMAL.fullmatch(text)
    if whole and (decimal is not None or _GROUPED.fullmatch(text)):
        raise TypedNumberError(
            NumberProblem.NOT_WHOLE,
            "the number typed is not a whole number; type the digits only, without a point "
            "or comma",
        )
    if decimal is not None:
        fraction = decimal["fraction"]
        if len(fraction) != 3 or int(decimal["whole"].lstrip("+-")) == 0:
            return float(f"{decimal['whole']}.{fraction}")
    if decimal is not None or _GROUPED.fullmatch(text):
        raise TypedNumberError(
            NumberProblem.THOUSANDS,
            "the number typed may hold a thousands separator; type a thousand as 1000 and "
            "decimals with one or two digits after the comma or point",
        )
    raise TypedNumberError(
        NumberProblem.NOT_A_NUMBER,
        "what was typed is not a number; type digits, with a comma or point for decimals",
    )
