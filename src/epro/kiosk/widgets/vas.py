"""A 0–100 visual analogue scale: a bare line with end anchors and no marker until acted on.

instruments.md §5: no number, no ticks, no initial marker. A click on the line or the first
arrow key places the marker (the first key puts it in the middle, so neither end is favoured);
←/→ move it by 1, PgUp/PgDn by 10, Home / End to the ends; Enter (or the screen's Confirm)
posts the answer, and Enter on the answer already confirmed posts :class:`GoOn`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from epro.forms.model import AnswerValue, Item
from epro.kiosk.messages import GoOn
from epro.kiosk.widgets.base import AnswerWidget


class VasScale(AnswerWidget):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1)", "−1", show=False),
        Binding("right", "move(1)", "+1", show=False),
        Binding("pageup", "move(10)", "+10", show=False),
        Binding("pagedown", "move(-10)", "−10", show=False),
        Binding("home", "to_end(-1)", "0", show=False),
        Binding("end", "to_end(1)", "100", show=False),
        Binding("enter", "confirm", "Confirm", show=False),
    ]
    DEFAULT_CSS = """
    VasScale { height: 4; width: 1fr; }
    """

    marker: reactive[int | None] = reactive(None)

    def __init__(self, item: Item, language: str, value: AnswerValue | None = None) -> None:
        super().__init__(item)
        self.language = language
        self.low = int(item.min if item.min is not None else 0)
        self.high = int(item.max if item.max is not None else 100)
        #: The answer stored for this item (a second Enter on it goes on).
        self._stored: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            self.set_reactive(VasScale.marker, value)
            self._stored = value

    @property
    def pending(self) -> AnswerValue | None:
        return self.marker

    def _span(self) -> int:
        return max(self.size.width - 1, 1)

    def render(self) -> Text:
        width = max(self.size.width, 10)
        column = None
        if self.marker is not None:
            column = round((self.marker - self.low) * (width - 1) / (self.high - self.low))
        marker_row = [" "] * width
        line = ["─"] * width
        line[0], line[-1] = "├", "┤"
        if column is not None:
            marker_row[column] = "▼"
            line[column] = "█"
        low = self.item.anchor_low.get(self.language, "")
        high = self.item.anchor_high.get(self.language, "")
        gap = max(width - len(low) - len(high), 1)
        text = Text()
        text.append("".join(marker_row) + "\n", style="bold")
        text.append("".join(line) + "\n", style="bold")
        text.append(low + " " * gap + high)
        return text

    def action_move(self, delta: int) -> None:
        if self.marker is None:
            self.marker = (self.low + self.high) // 2
        else:
            self.marker = min(max(self.marker + delta, self.low), self.high)

    def action_to_end(self, direction: int) -> None:
        """Home / End: the marker to the low or the high end of the line."""
        self.marker = self.high if direction > 0 else self.low

    def action_confirm(self) -> None:
        if self.marker is None or self.marker == self._stored:
            self.post_message(GoOn())
        else:
            self.confirm()

    def confirm(self) -> bool:
        done = super().confirm()
        if done:
            self._stored = self.marker
        return done

    def on_click(self, event: events.Click) -> None:
        if event.y > 1:
            return  # the anchor texts are not part of the line
        fraction = min(max(event.x, 0), self._span()) / self._span()
        self.marker = self.low + round(fraction * (self.high - self.low))
        self.focus()
