"""Typed answers: integer and decimal numbers (and, for staff forms, dates and free text).

The field starts empty. Enter (or the screen's Next) checks the value against the item's range
and posts it; a bad value gets a plain message under the field instead of an answer. Numbers are
read by :func:`epro.forms.typed.read_number`: a decimal comma counts like a point, and what
cannot be read for sure is refused, never changed to fit.
"""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Label

from epro.forms.model import AnswerValue, Item, ItemType
from epro.forms.typed import NumberProblem, TypedNumberError, read_number
from epro.kiosk.i18n import number, tr
from epro.kiosk.messages import GoOn
from epro.kiosk.widgets.base import AnswerWidget

_PROBLEM_TEXT = {
    NumberProblem.NOT_A_NUMBER: "number_unreadable",
    NumberProblem.NOT_WHOLE: "number_not_whole",
    NumberProblem.THOUSANDS: "number_thousands",
}


class NumberEntry(AnswerWidget, can_focus=False):
    DEFAULT_CSS = """
    NumberEntry { height: auto; width: 1fr; }
    NumberEntry Input { width: 30; }
    NumberEntry .problem { color: $error; width: 1fr; }
    """

    def __init__(self, item: Item, language: str, value: AnswerValue | None = None) -> None:
        super().__init__(item)
        self.language = language
        self._initial = "" if value is None or isinstance(value, list) else str(value)
        if isinstance(value, float) and language == "nl":
            self._initial = self._initial.replace(".", ",")  # as a Dutch nurse types it
        self._confirmed: AnswerValue | None = value

    def compose(self) -> ComposeResult:
        # A plain text field: Textual's "integer" and "number" fields drop every key they do
        # not expect, so a typed "3,5" silently became 35. Every key stays on screen here, and
        # _read() says what it cannot read.
        yield Input(value=self._initial, id="entry")
        yield Label("", classes="problem", id="problem")

    def focus(self, scroll_visible: bool = True) -> NumberEntry:
        self.query_one(Input).focus(scroll_visible)
        return self

    @property
    def pending(self) -> AnswerValue | None:
        return self._read(self.query_one(Input).value.strip())[0]

    @property
    def is_blank(self) -> bool:
        return not self.query_one(Input).value.strip()

    def _read(self, raw: str) -> tuple[AnswerValue | None, str]:
        """(the answer typed, "") or (None, the message saying what is wrong)."""
        kind = self.item.type
        if not raw:
            return None, self._range_text()
        if kind is ItemType.DATE:
            try:
                return date.fromisoformat(raw).isoformat(), ""
            except ValueError:
                return None, self._range_text()
        if kind not in (ItemType.INTEGER, ItemType.DECIMAL):
            return raw, ""
        try:
            number = read_number(raw, whole=kind is ItemType.INTEGER)
        except TypedNumberError as error:
            problem = tr(self.language, _PROBLEM_TEXT[error.problem], typed=raw)
            if error.problem is NumberProblem.THOUSANDS:
                return None, problem  # the text says how to type it; a range would crowd it
            return None, f"{problem} {self._range_text()}"
        low, high = self.item.min, self.item.max
        if (low is not None and number < low) or (high is not None and number > high):
            return None, self._range_text()
        return number, ""

    def confirm(self) -> bool:
        value, problem = self._read(self.query_one(Input).value.strip())
        # Plain text, not markup: the message quotes what was typed, brackets and all.
        self.query_one("#problem", Label).update(Text(problem))
        if value is None:
            return False
        self._confirmed = value
        return super().confirm()

    def _range_text(self) -> str:
        if self.item.type in (ItemType.INTEGER, ItemType.DECIMAL):
            low = _fmt(self.item.min, self.language)
            high = _fmt(self.item.max, self.language)
            key = "number_whole_range" if self.item.type is ItemType.INTEGER else "number_range"
            return tr(self.language, key, low=low, high=high)
        return tr(self.language, "number_hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter stores what is typed; Enter again, on the value already stored (or in an empty
        optional field), goes on."""
        event.stop()
        value = self.pending
        blank_and_optional = self.is_blank and not self.item.required
        if blank_and_optional or (value is not None and value == self._confirmed):
            self.post_message(GoOn())
        else:
            self.confirm()


def _fmt(value: float | None, language: str) -> str:
    return "…" if value is None else number(language, value)
