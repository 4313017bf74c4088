"""``enable_when`` in form files: parsed, and checked against the items asked before.

A condition may only depend on an earlier item (the kiosk asks in order, and a later answer
cannot exist yet), and its answer must be one the named item can actually receive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from epro.errors import AnswerError
from epro.forms._reader import Reader
from epro.forms.answers import validate_answer
from epro.forms.errors import did_you_mean
from epro.forms.model import Condition, EnableWhen, Item, ItemType

OPERATORS = ("equals", "not_equals", "exists")
BEHAVIORS = ("all", "any")
WHEN_KEYS = ("conditions", "behavior")
CONDITION_KEYS = ("question", "operator", "answer")


def parse_enable_when(
    reader: Reader,
    raw: object,
    item: str,
    earlier: Mapping[str, Item | None],
    all_ids: Sequence[str],
) -> EnableWhen | None:
    """``enable_when`` as either one condition table or ``{behavior, conditions = [...]}``.

    ``earlier`` maps the link_ids before this item to their built item (None when that item
    itself had errors, which silences follow-up checks on its answers).
    """
    if not isinstance(raw, dict):
        reader.add("F027", "'enable_when' must be a table", item=item)
        return None
    if "question" in raw:
        raw = {"conditions": [raw]}
    reader.unknown_keys(raw, WHEN_KEYS, "enable_when", code="F027", item=item)
    behavior = raw.get("behavior", "all")
    if behavior not in BEHAVIORS:
        reader.add(
            "F027",
            "enable_when 'behavior' must be 'all' or 'any'",
            item=item,
            suggestion=did_you_mean(str(behavior), BEHAVIORS),
        )
    conditions_raw = raw.get("conditions")
    if not isinstance(conditions_raw, list) or not conditions_raw:
        reader.add("F027", "enable_when needs at least one condition", item=item)
        return None
    conditions = [_condition(reader, entry, item, earlier, all_ids) for entry in conditions_raw]
    built = tuple(c for c in conditions if c is not None)
    if len(built) != len(conditions):
        return None
    return EnableWhen(conditions=built, behavior=str(behavior))


def _condition(
    reader: Reader,
    raw: object,
    item: str,
    earlier: Mapping[str, Item | None],
    all_ids: Sequence[str],
) -> Condition | None:
    if not isinstance(raw, dict):
        reader.add("F027", "each enable_when condition must be a table", item=item)
        return None
    reader.unknown_keys(raw, CONDITION_KEYS, "an enable_when condition", code="F027", item=item)
    question = raw.get("question")
    operator = raw.get("operator", "equals")
    ok = True
    if operator not in OPERATORS:
        reader.add(
            "F027",
            f"enable_when operator {operator!r} is unknown",
            item=item,
            suggestion=did_you_mean(str(operator), OPERATORS),
        )
        ok = False
    if not isinstance(question, str):
        reader.add(
            "F027", "enable_when needs 'question' = the link_id of an earlier item", item=item
        )
        return None
    if question == item or (question in all_ids and question not in earlier):
        reader.add(
            "F025", f"enable_when depends on '{question}', which is not asked before", item=item
        )
        return None
    if question not in earlier:
        reader.add(
            "F024",
            f"enable_when names '{question}', which is not an item of this form",
            item=item,
            suggestion=did_you_mean(question, all_ids),
        )
        return None
    if not ok:
        return None
    target = earlier[question]
    if operator == "exists":
        answer = raw.get("answer", True)
        if not isinstance(answer, bool):
            reader.add("F026", "an 'exists' condition takes answer = true or false", item=item)
            return None
        return Condition(question=question, operator=operator, answer=answer)
    if "answer" not in raw:
        reader.add("F027", f"an '{operator}' condition needs 'answer'", item=item)
        return None
    answer = _answer(reader, raw["answer"], target, item, question)
    if answer is _BAD:
        return None
    return Condition(question=question, operator=str(operator), answer=answer)


_BAD: Any = object()


def _answer(reader: Reader, raw: object, target: Item | None, item: str, question: str) -> Any:
    """The condition's answer normalised like a stored answer of the target item."""
    if target is None:  # the target had its own errors; they are reported there
        return raw
    if target.type is ItemType.DISPLAY:
        reader.add("F026", f"'{question}' is a display item and has no answer", item=item)
        return _BAD
    try:
        if target.type is ItemType.CHECKLIST:
            # "equals" on a checklist means "this code is ticked".
            ticked = validate_answer(target, [raw])
            assert isinstance(ticked, list)
            return ticked[0]
        return validate_answer(target, raw)
    except AnswerError as error:
        allowed = str(error).split("; ", 1)[-1]
        reader.add(
            "F026",
            f"the enable_when answer does not fit item '{question}'",
            item=item,
            fix=allowed,
        )
        return _BAD
