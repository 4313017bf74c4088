"""Answer widgets: each starts with no value and posts ``AnswerChanged`` when the respondent acts.

``answer_widget_for(item, ...)`` picks the widget for an item type, so screens never switch on
item types themselves.
"""

from __future__ import annotations

from epro.forms.model import AnswerValue, Item, ItemType
from epro.kiosk.i18n import tr
from epro.kiosk.widgets.base import AnswerWidget
from epro.kiosk.widgets.choice import ChoiceScale
from epro.kiosk.widgets.circles import Circles21
from epro.kiosk.widgets.number import NumberEntry
from epro.kiosk.widgets.vas import VasScale

__all__ = [
    "AnswerWidget",
    "ChoiceScale",
    "Circles21",
    "NumberEntry",
    "VasScale",
    "answer_widget_for",
]


def answer_widget_for(
    item: Item, language: str, value: AnswerValue | None = None
) -> AnswerWidget | None:
    """The widget for ``item`` showing the respondent's own earlier ``value`` (if any)."""
    kind = item.type
    if kind is ItemType.VAS:
        return VasScale(item, language, value)
    if kind is ItemType.CIRCLES21:
        return Circles21(item, language, value)
    if kind in (ItemType.CHOICE, ItemType.CHECKLIST):
        options = [(option.code, _option_text(option.text, language)) for option in item.options]
        return ChoiceScale(item, options, value, multi=kind is ItemType.CHECKLIST)
    if kind is ItemType.BOOLEAN:
        options = [(True, tr(language, "yes")), (False, tr(language, "no"))]
        return ChoiceScale(item, options, value, multi=False)
    if kind in (ItemType.INTEGER, ItemType.DECIMAL, ItemType.DATE, ItemType.TEXT):
        return NumberEntry(item, language, value)
    return None  # display items have nothing to answer


def _option_text(text: object, language: str) -> str:
    if isinstance(text, dict):
        return str(text.get(language) or next(iter(text.values()), ""))
    return str(text)
