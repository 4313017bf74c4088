"""Twenty-one numbered circles 0–10 in steps of 0.5 (JAMAR), nothing selected at first.

A click selects a circle at once; ←/→ move a highlight (Home / End to the ends) and Enter or
Space selects it. Enter on the circle already selected posts :class:`GoOn` (the screen goes on).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from epro.forms.model import AnswerValue, Item
from epro.kiosk.messages import AnswerChanged, GoOn
from epro.kiosk.widgets.base import AnswerWidget

COUNT = 21


class Circles21(AnswerWidget):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1)", show=False),
        Binding("right", "move(1)", show=False),
        Binding("home", "move(-99)", show=False),
        Binding("end", "move(99)", show=False),
        Binding("space", "select", show=False),
        Binding("enter", "select_or_go_on", show=False),
    ]
    DEFAULT_CSS = """
    Circles21 { height: 4; width: 1fr; }
    """

    cursor: reactive[int | None] = reactive(None)
    selected: reactive[int | None] = reactive(None)

    def __init__(self, item: Item, language: str, value: AnswerValue | None = None) -> None:
        super().__init__(item)
        self.language = language
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.set_reactive(Circles21.selected, round(float(value) * 2))

    @property
    def pending(self) -> AnswerValue | None:
        return None if self.selected is None else self.selected / 2

    def _cell(self) -> int:
        return max(3, min(self.size.width // COUNT, 5))

    def render(self) -> Text:
        cell = self._cell()
        text = Text()
        for index in range(COUNT):
            glyph = "●" if index == self.selected else "○"
            style = "reverse" if index == self.cursor and self.has_focus else ""
            if index == self.selected:
                style += " bold"
            text.append(glyph.center(cell), style=style.strip())
        text.append("\n")
        for index in range(COUNT):
            label = str(index // 2) if index % 2 == 0 else ""
            text.append(label.center(cell))
        text.append("\n")
        low = self.item.anchor_low.get(self.language, "")
        high = self.item.anchor_high.get(self.language, "")
        gap = max(cell * COUNT - len(low) - len(high), 1)
        text.append(low + " " * gap + high)
        return text

    def action_move(self, delta: int) -> None:
        start = self.cursor if self.cursor is not None else self.selected
        if start is None:
            self.cursor = 0 if delta > 0 else COUNT - 1
        else:
            self.cursor = min(max(start + delta, 0), COUNT - 1)

    def action_select(self) -> None:
        if self.cursor is not None:
            self._choose(self.cursor)

    def action_select_or_go_on(self) -> None:
        if self.cursor is None or self.cursor == self.selected:
            self.post_message(GoOn())
        else:
            self._choose(self.cursor)

    def _choose(self, index: int) -> None:
        self.selected = index
        self.cursor = index
        self.post_message(AnswerChanged(self.item.link_id, index / 2))

    def on_click(self, event: events.Click) -> None:
        index = event.x // self._cell()
        if 0 <= index < COUNT and event.y <= 1:
            self.focus()
            self._choose(index)
