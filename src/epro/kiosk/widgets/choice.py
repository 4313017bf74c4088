"""Single choice, yes/no and checklist answers as full-width rows (large targets).

Nothing is selected at first. A click, Enter or Space on a row, or the row's number key,
selects it (single choice posts the answer at once) or toggles it (checklist: Space, a click or
the number; it posts the ticked codes in form order each time). Enter on the answer already
chosen (on a checklist: Enter) posts :class:`GoOn`: the screen goes on as its Next would, so a
question takes two keys, the number and Enter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from epro.forms.model import AnswerValue, Item
from epro.kiosk.messages import AnswerChanged, GoOn
from epro.kiosk.widgets.base import AnswerWidget

Code = int | str | bool


class ChoiceScale(AnswerWidget):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", show=False),
        Binding("down", "move(1)", show=False),
        Binding("space", "select", show=False),
        Binding("enter", "select_or_go_on", show=False),
        *[Binding(str(n), f"number({n})", show=False) for n in range(1, 10)],
    ]
    DEFAULT_CSS = """
    ChoiceScale { height: auto; width: 1fr; }
    """

    cursor: reactive[int | None] = reactive(None)

    def __init__(
        self,
        item: Item,
        options: Sequence[tuple[Code, str]],
        value: AnswerValue | None = None,
        *,
        multi: bool,
    ) -> None:
        super().__init__(item)
        self.options = list(options)
        self.multi = multi
        # A short list gets a blank line between rows, so each row is an easy target.
        self.row_height = 2 if len(self.options) <= 6 else 1
        self.chosen: list[Code] = []
        if multi and isinstance(value, list):
            self.chosen = [code for code, _ in self.options if code in value]
        elif not multi and value is not None and not isinstance(value, list):
            self.chosen = [code for code, _ in self.options if _same(code, value)]

    @property
    def pending(self) -> AnswerValue | None:
        if self.multi:
            return [str(code) for code in self.chosen]
        return _as_answer(self.chosen[0]) if self.chosen else None

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return len(self.options) * self.row_height

    def render(self) -> Text:
        text = Text()
        for index, (code, label) in enumerate(self.options):
            ticked = (
                code in self.chosen if self.multi else bool(self.chosen) and self.chosen[0] == code
            )
            box = ("[x]" if ticked else "[ ]") if self.multi else ("(●)" if ticked else "( )")
            style = "reverse" if index == self.cursor and self.has_focus else ""
            key = f"{index + 1} " if index < 9 else "  "
            text.append(key, style="dim")
            text.append(f"{box} {label} ", style=("bold " + style).strip() if ticked else style)
            text.append("\n" * self.row_height)
        text.rstrip()
        return text

    def action_move(self, delta: int) -> None:
        if self.cursor is None:
            self.cursor = 0 if delta > 0 else len(self.options) - 1
        else:
            self.cursor = min(max(self.cursor + delta, 0), len(self.options) - 1)

    def action_select(self) -> None:
        if self.cursor is not None:
            self._choose(self.cursor)

    def action_select_or_go_on(self) -> None:
        """Enter: select the row under the cursor, or go on when it is the answer already."""
        if self.multi or self.cursor is None or self._is_chosen(self.cursor):
            self.post_message(GoOn())
        else:
            self._choose(self.cursor)

    def action_number(self, number: int) -> None:
        if 1 <= number <= len(self.options):
            self._choose(number - 1)

    def _is_chosen(self, index: int) -> bool:
        return self.options[index][0] in self.chosen

    def _choose(self, index: int) -> None:
        self.cursor = index
        code = self.options[index][0]
        if self.multi:
            if code in self.chosen:
                self.chosen.remove(code)
            else:
                self.chosen.append(code)
            order = [c for c, _ in self.options]
            self.chosen.sort(key=order.index)
        else:
            self.chosen = [code]
        self.refresh()
        value = self.pending
        if value is not None:
            self.post_message(AnswerChanged(self.item.link_id, value))

    def on_click(self, event: events.Click) -> None:
        index = event.y // self.row_height
        if 0 <= index < len(self.options):
            self.focus()
            self._choose(index)


def _same(code: Code, value: AnswerValue) -> bool:
    return type(code) is type(value) and code == value


def _as_answer(code: Code) -> AnswerValue:
    return code
