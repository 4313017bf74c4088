"""Typed answers: integer and decimal numbers (and, for staff forms, dates and free text).

The field starts empty. Enter (or the screen's Next) checks the value against the item's range
and posts it; a bad value gets a plain message under the field instead of an answer.
"""

from __future__ import annotations

from datetime import date

from textual.app import ComposeResult
from textual.widgets import Input, Label

from epro.forms.model import AnswerValue, Item, ItemType
from epro.kiosk.i18n import tr
from epro.kiosk.widgets.base import AnswerWidget


class NumberEntry(AnswerWidget, can_focus=False):
    DEFAULT_CSS = """
    NumberEntry { height: auto; width: 1fr; }
    NumberEntry Input { width: 30; }
    NumberEntry .problem { color: $error; }
    """

    def __init__(self, item: Item, language: str, value: AnswerValue | None = None) -> None:
        super().__init__(item)
        self.language = language
        self._initial = "" if value is None or isinstance(value, list) else str(value)

    def compose(self) -> ComposeResult:
        kind = {ItemType.INTEGER: "integer", ItemType.DECIMAL: "number"}.get(self.item.type, "text")
        yield Input(value=self._initial, type=kind, id="entry")  # type: ignore[arg-type]
        yield Label("", classes="problem", id="problem")

    def focus(self, scroll_visible: bool = True) -> NumberEntry:
        self.query_one(Input).focus(scroll_visible)
        return self

    @property
    def pending(self) -> AnswerValue | None:
        raw = self.query_one(Input).value.strip()
        if not raw:
            return None
        try:
            return self._parse(raw)
        except ValueError:
            return None

    @property
    def is_blank(self) -> bool:
        return not self.query_one(Input).value.strip()

    def _parse(self, raw: str) -> AnswerValue:
        if self.item.type is ItemType.INTEGER:
            number: float = int(raw)
        elif self.item.type is ItemType.DECIMAL:
            number = float(raw.replace(",", "."))
        elif self.item.type is ItemType.DATE:
            return date.fromisoformat(raw).isoformat()
        else:
            return raw
        low, high = self.item.min, self.item.max
        if (low is not None and number < low) or (high is not None and number > high):
            raise ValueError(raw)
        return number

    def confirm(self) -> bool:
        raw = self.query_one(Input).value.strip()
        problem = self.query_one("#problem", Label)
        try:
            self._parse(raw)
        except ValueError:
            problem.update(self._range_text())
            return False
        if not raw:
            problem.update(self._range_text())
            return False
        problem.update("")
        return super().confirm()

    def _range_text(self) -> str:
        if self.item.type in (ItemType.INTEGER, ItemType.DECIMAL):
            low = _fmt(self.item.min)
            high = _fmt(self.item.max)
            return tr(self.language, "number_range", low=low, high=high)
        return tr(self.language, "number_hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.confirm()


def _fmt(value: float | None) -> str:
    if value is None:
        return "…"
    return str(int(value)) if float(value).is_integer() else str(value)
