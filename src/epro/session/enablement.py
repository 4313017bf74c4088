"""Which items of a form are enabled, given the answers so far (``enable_when``).

Pure functions over the form model; each rule is judged by :mod:`epro.forms.enablement`. An
item whose condition refers to a disabled item sees no answer there, so disabling cascades; the
form loader only allows conditions on earlier items, which lets one pass in form order settle
everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from epro.errors import FormError, SessionError
from epro.forms.enablement import rule_holds
from epro.forms.model import AnswerValue, Form, Item


def is_enabled(item: Item, answers: Mapping[str, AnswerValue]) -> bool:
    """Whether ``item`` is shown, given the answers of the items enabled before it.

    The rules are :mod:`epro.forms.enablement`'s, the same that validate stored answers. A
    condition the loader would have refused is a session error here, like every refusal the
    kiosk shows, and names the item it belongs to.
    """
    try:
        return rule_holds(item.enable_when, answers)
    except FormError as error:
        raise SessionError(f"item {item.link_id}: {error}") from None


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
