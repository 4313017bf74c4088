"""Answer validation: one raw value in, one normalised stored answer out (instruments.md §2).

Used by the scoring CLI, the session service and the study server, so every path that stores
an answer applies the same rules. Error messages name the item and the allowed answers but never
repeat the value given: an answer is patient data, and free text could be anything.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from epro.errors import AnswerError
from epro.forms.enablement import not_asked_message, rule_holds
from epro.forms.errors import did_you_mean
from epro.forms.model import NA, SKIPPED, AnswerValue, Form, Item, ItemType

#: Longest accepted free text; longer input is refused rather than cut, so nothing is lost.
MAX_TEXT_LENGTH = 2000


def validate_answer(item: Item, value: object) -> AnswerValue:
    """The stored form of ``value`` for ``item``, or :class:`AnswerError` saying what fits.

    ``"na"`` is accepted only when the item has ``na_option``, ``"skipped"`` only when it has
    ``allow_skip``. Whole-number floats become ints for integer, VAS and coded answers.
    """
    if item.type is ItemType.DISPLAY:
        raise AnswerError(f"item {item.link_id} only shows a text and takes no answer")
    if value == SKIPPED and isinstance(value, str):
        if not item.allow_skip:
            raise AnswerError(f"item {item.link_id} cannot be skipped; give an answer")
        return SKIPPED
    if item.type is ItemType.TEXT:
        return _text(item, value)
    if value == NA and isinstance(value, str):
        if not item.na_option:
            raise AnswerError(
                f"item {item.link_id} has no 'not applicable' answer; {_allowed(item)}"
            )
        return NA
    return _CHECKS[item.type](item, value)


def validate_answers(form: Form, answers: Mapping[str, object]) -> dict[str, AnswerValue]:
    """Every answer validated, in form order; all problems are reported together.

    An answer to an item whose ``enable_when`` the other answers do not satisfy is refused:
    the record would contradict itself (a stiffness duration without stiffness). "skipped"
    there is accepted, since it records no answer. A condition on an item whose own answer is
    invalid is not judged; that answer's problem is reported instead.
    """
    known = set(form.link_ids)
    problems: list[str] = []
    for link_id in answers:
        if link_id not in known:
            hint = did_you_mean(link_id, known)
            message = f"form {form.id} has no item {link_id!r}"
            problems.append(message + (f" (did you mean {hint!r}?)" if hint else ""))
    result: dict[str, AnswerValue] = {}
    # Answers of the items that are asked: an item behind an unasked one sees no answer there.
    asked: dict[str, AnswerValue] = {}
    invalid: set[str] = set()
    for item in form.items:
        if item.link_id not in answers:
            continue
        try:
            value = validate_answer(item, answers[item.link_id])
        except AnswerError as error:
            problems.append(str(error))
            invalid.add(item.link_id)
            continue
        result[item.link_id] = value
        rule = item.enable_when
        judged = rule is not None and not any(c.question in invalid for c in rule.conditions)
        if rule is not None and judged and not rule_holds(rule, asked):
            if value != SKIPPED:
                problems.append(not_asked_message(form, item.link_id, rule))
            continue
        asked[item.link_id] = value
    if problems:
        raise AnswerError("\n".join(problems))
    return result


def _allowed(item: Item) -> str:
    """The sentence telling what this item accepts."""
    extra = []
    if item.na_option:
        extra.append(repr(NA))
    if item.allow_skip:
        extra.append(repr(SKIPPED))
    tail = (" or " + " or ".join(extra)) if extra else ""
    kind = item.type
    if kind is ItemType.CHOICE:
        return "answer with one of " + ", ".join(repr(c) for c in item.codes) + tail
    if kind is ItemType.CHECKLIST:
        codes = ", ".join(repr(c) for c in item.codes)
        return f"answer with a list of distinct codes from {codes}" + tail
    if kind is ItemType.BOOLEAN:
        return "answer with true or false" + tail
    if kind in (ItemType.INTEGER, ItemType.VAS):
        step = f" in steps of {_num(item.step)}" if item.step not in (None, 1) else ""
        return f"answer with a whole number from {_num(item.min)} to {_num(item.max)}{step}" + tail
    if kind in (ItemType.DECIMAL, ItemType.CIRCLES21):
        step = f" in steps of {_num(item.step)}" if item.step is not None else ""
        return f"answer with a number from {_num(item.min)} to {_num(item.max)}{step}" + tail
    if kind is ItemType.DATE:
        return "answer with a date written YYYY-MM-DD" + tail
    return f"answer with a text of at most {MAX_TEXT_LENGTH} characters" + tail


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else str(value)


def _refuse(item: Item, what: str) -> AnswerError:
    return AnswerError(f"item {item.link_id}: {what}; {_allowed(item)}")


def _number(item: Item, value: object) -> float | int:
    """A finite real number (bools are not numbers here, though Python says they are)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _refuse(item, "the answer is not a number")
    if isinstance(value, str):
        try:
            number: float | int = (
                int(value) if value.strip().lstrip("-").isdigit() else float(value)
            )
        except ValueError:
            raise _refuse(item, "the answer is not a number") from None
    else:
        number = value
    if isinstance(number, float) and not math.isfinite(number):
        raise _refuse(item, "the answer is not a finite number")
    return number


def _in_scale(item: Item, number: float | int) -> None:
    low = item.min if item.min is not None else -math.inf
    high = item.max if item.max is not None else math.inf
    if number < low or number > high:
        side = f"below the lowest value, {_num(low)}" if number < low else ""
        side = side or f"above the highest value, {_num(high)}"
        # The help text carries what the bare numbers cannot: the unit and why the limit is
        # where it is (e.g. ESR in mm/h, at most what a Westergren tube reads).
        note = item.help.get("en", "")
        error = _refuse(item, f"the answer is {side}")
        raise AnswerError(f"{error} — {note}" if note else str(error))
    if item.step is not None:
        # Decimal arithmetic so 0.5-steps and 0.1-steps are judged exactly, not in binary.
        base = Decimal(str(item.min if item.min is not None else 0))
        try:
            offset = (Decimal(str(number)) - base) / Decimal(str(item.step))
        except InvalidOperation:  # pragma: no cover - finite inputs cannot get here
            raise _refuse(item, "the answer is not a number") from None
        if offset != offset.to_integral_value():
            raise _refuse(item, "the answer is not on a step of the scale")


def _whole(item: Item, value: object) -> AnswerValue:
    number = _number(item, value)
    if isinstance(number, float):
        if not number.is_integer():
            raise _refuse(item, "the answer is not a whole number")
        number = int(number)
    _in_scale(item, number)
    return number


def _real(item: Item, value: object) -> AnswerValue:
    number = float(_number(item, value))
    _in_scale(item, number)
    return number


def _boolean(item: Item, value: object) -> AnswerValue:
    if not isinstance(value, bool):
        raise _refuse(item, "the answer is not true or false")
    return value


def _code(item: Item, value: object) -> int | str:
    """The option code equal to ``value`` (3.0 and "3" both find the code 3)."""
    if isinstance(value, bool):
        raise _refuse(item, "the answer is not one of the codes")
    for code in item.codes:
        if value == code and type(value) is type(code):
            return code
        if isinstance(code, int) and isinstance(value, float) and value == code:
            return code
        if isinstance(code, int) and isinstance(value, str) and value.strip() == str(code):
            return code
    raise _refuse(item, "the answer is not one of the codes")


def _choice(item: Item, value: object) -> AnswerValue:
    return _code(item, value)


def _checklist(item: Item, value: object) -> AnswerValue:
    if not isinstance(value, list | tuple):
        raise _refuse(item, "the answer is not a list")
    ticked = {str(_code(item, element)) for element in value}
    if len(ticked) != len(value):
        raise _refuse(item, "a code is ticked twice")
    # Stored in the order of the options, so equal answers compare equal.
    return [str(code) for code in item.codes if str(code) in ticked]


def _date(item: Item, value: object) -> AnswerValue:
    if isinstance(value, dt.datetime):
        raise _refuse(item, "the answer is a date and time, not a date")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise _refuse(item, "the answer is not a date")


def _text(item: Item, value: object) -> AnswerValue:
    if not isinstance(value, str):
        raise _refuse(item, "the answer is not a text")
    text = value.strip()
    if not text:
        raise _refuse(item, "the answer is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise _refuse(item, "the text is too long")
    return text


_CHECKS = {
    ItemType.CHOICE: _choice,
    ItemType.CHECKLIST: _checklist,
    ItemType.BOOLEAN: _boolean,
    ItemType.INTEGER: _whole,
    ItemType.VAS: _whole,
    ItemType.DECIMAL: _real,
    ItemType.CIRCLES21: _real,
    ItemType.DATE: _date,
}
