"""Which items of a form are enabled, given the answers so far (``enable_when``).

Pure functions over the form model. An item whose condition refers to a disabled item sees no
answer there, so disabling cascades; the form loader only allows conditions on earlier items,
which lets one pass in form order settle everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from epro.errors import SessionError
from epro.forms.model import SKIPPED, AnswerValue, Condition, Form, Item


def _same(value: AnswerValue, expected: AnswerValue | None) -> bool:
    # ``True == 1`` in Python; a yes/no answer must never match an option coded 1.
    if isinstance(value, bool) or isinstance(expected, bool):
        return isinstance(value, bool) and isinstance(expected, bool) and value == expected
    if isinstance(value, int | float) and isinstance(expected, int | float):
        return float(value) == float(expected)
    return value == expected


def _equals(value: AnswerValue | None, expected: AnswerValue | None) -> bool:
    if value is None or value == SKIPPED:
        return False
    if isinstance(value, list):
        # A checklist condition holds when the code is among the ticked ones.
        return any(_same(code, expected) for code in value)
    return _same(value, expected)


def condition_holds(condition: Condition, answers: Mapping[str, AnswerValue]) -> bool:
    """One ``enable_when`` clause against the answers of enabled items."""
    value = answers.get(condition.question)
    if condition.operator == "exists":
        # "na" is an answer the instrument offers; "skipped" is the absence of one.
        present = value is not None and value != SKIPPED
        wanted = condition.answer if isinstance(condition.answer, bool) else True
        return present == wanted
    if condition.operator == "equals":
        return _equals(value, condition.answer)
    if condition.operator == "not_equals":
        return not _equals(value, condition.answer)
    raise SessionError(
        f"item condition on {condition.question} uses the unknown operator "
        f"{condition.operator!r}; the form file needs equals, not_equals or exists"
    )


def is_enabled(item: Item, answers: Mapping[str, AnswerValue]) -> bool:
    """Whether ``item`` is shown, given the answers of the items enabled before it."""
    rule = item.enable_when
    if rule is None or not rule.conditions:
        return True
    results = (condition_holds(condition, answers) for condition in rule.conditions)
    return any(results) if rule.behavior == "any" else all(results)


def enabled_items(form: Form, answers: Mapping[str, AnswerValue]) -> list[Item]:
    """The enabled items in form order (display items included)."""
    visible: dict[str, AnswerValue] = {}
    enabled: list[Item] = []
    for item in form.items:
        if is_enabled(item, visible):
            enabled.append(item)
            if item.link_id in answers:
                visible[item.link_id] = answers[item.link_id]
    return enabled


def disabled_with_answers(
    form: Form, answers: Mapping[str, AnswerValue], enabled: Sequence[Item] | None = None
) -> list[str]:
    """Link ids that hold an answer although their item is disabled: these must be cleared.

    ``enabled`` is ``enabled_items(form, answers)`` when the caller has it already.
    """
    shown = {
        item.link_id for item in (enabled_items(form, answers) if enabled is None else enabled)
    }
    return [
        item.link_id for item in form.items if item.link_id in answers and item.link_id not in shown
    ]
