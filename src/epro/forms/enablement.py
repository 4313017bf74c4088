"""Whether an item is asked, given the other answers (``enable_when``, instruments.md §2).

Used by :func:`epro.forms.answers.validate_answers` to refuse answers to items that were never
asked, and by the kiosk session to decide what it shows, so stored answers and the screens can
never disagree. A checklist condition holds when the code is ticked, ``True`` never equals an
option coded 1, "skipped" counts as no answer, and an item whose condition points at an item
that is not asked sees no answer there.
"""

from __future__ import annotations

from collections.abc import Mapping

from epro.errors import FormError
from epro.forms.model import SKIPPED, AnswerValue, Condition, EnableWhen, Form, ItemType


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
    """One ``enable_when`` clause against the answers of the items that are asked.

    An operator the loader would have refused is an error, never read as ``equals``: a
    hand-built form must not silently show or hide items.
    """
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
    raise FormError(
        f"the enable_when condition on {condition.question} uses the unknown operator "
        f"{condition.operator!r}; the form file needs equals, not_equals or exists"
    )


def rule_holds(rule: EnableWhen | None, answers: Mapping[str, AnswerValue]) -> bool:
    """Whether the item with this rule is asked (an item without a rule always is)."""
    if rule is None or not rule.conditions:
        return True
    results = [condition_holds(condition, answers) for condition in rule.conditions]
    return any(results) if rule.behavior == "any" else all(results)


def _shown(value: AnswerValue | None) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return repr(value)


def describe_condition(form: Form, condition: Condition) -> str:
    """The condition in words, e.g. "jamar_stiffness is yes"."""
    target = condition.question
    checklist = target in form.link_ids and form.item(target).type is ItemType.CHECKLIST
    if condition.operator == "exists":
        return f"{target} is {'answered' if condition.answer is not False else 'not answered'}"
    if checklist:
        verb = "includes" if condition.operator == "equals" else "does not include"
        return f"{target} {verb} {_shown(condition.answer)}"
    verb = "is" if condition.operator == "equals" else "is not"
    return f"{target} {verb} {_shown(condition.answer)}"


def _remedy(form: Form, rule: EnableWhen) -> str:
    """How to make the answers agree, phrased for the one-condition case when possible."""
    if len(rule.conditions) == 1 and rule.conditions[0].operator == "equals":
        condition = rule.conditions[0]
        target = condition.question
        if target in form.link_ids and form.item(target).type is ItemType.CHECKLIST:
            return f"tick {_shown(condition.answer)} in {target}"
        return f"answer {target} {_shown(condition.answer)}"
    names = ", ".join(dict.fromkeys(condition.question for condition in rule.conditions))
    return f"change the answer to {names}"


def not_asked_message(form: Form, link_id: str, rule: EnableWhen) -> str:
    """Why an answer to ``link_id`` is refused, naming the condition and both ways out."""
    joiner = " or " if rule.behavior == "any" else " and "
    when = joiner.join(describe_condition(form, condition) for condition in rule.conditions)
    return f"{link_id} is only asked when {when}; remove it or {_remedy(form, rule)}"
