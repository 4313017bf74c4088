"""How a stored answer reads on the review screen (option texts, not codes)."""

from __future__ import annotations

from epro.forms.model import NA, SKIPPED, AnswerValue, Item, ItemType
from epro.kiosk.i18n import number, tr


def answer_text(item: Item, value: AnswerValue | None, language: str) -> str:
    if value is None:
        return tr(language, "review_missing")
    if value == SKIPPED:
        return tr(language, "review_skipped")
    if value == NA and item.type is not ItemType.TEXT:
        return item.na_text.get(language) or tr(language, "review_na")
    if item.type is ItemType.BOOLEAN:
        return tr(language, "yes" if value is True else "no")
    labels = {option.code: option.text.get(language, str(option.code)) for option in item.options}
    if isinstance(value, list):
        return ", ".join(labels.get(code, code) for code in value) or "—"
    if item.type is ItemType.VAS:
        return f"{value} / {int(item.max if item.max is not None else 100)}"
    if item.type is ItemType.CIRCLES21 and isinstance(value, float):
        return f"{number(language, value)} / 10"
    if isinstance(value, float):
        return number(language, value)
    if isinstance(value, int | str) and not isinstance(value, bool) and value in labels:
        return labels[value]
    return str(value)
