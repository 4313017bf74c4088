"""Patient detail for staff: every visit's completion cells and trend sparklines."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Sparkline, Static

from epro.kiosk.glyphs import status_text
from epro.kiosk.i18n import tr

if TYPE_CHECKING:
    from epro.kiosk.app import KioskApp


class PatientScreen(Screen[None]):
    app: KioskApp
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Back")]

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code

    def compose(self) -> ComposeResult:
        t = self.app.language
        station = self.app.station
        assert station is not None
        yield Static(f"{self.code}", classes="title")
        with VerticalScroll(id="review-list"):
            by_visit: dict[str, Text] = {}
            for cell in station.completion(self.code):
                line = by_visit.setdefault(cell.visit, Text(f"{cell.visit:<4}"))
                line.append("  ")
                line.append_text(
                    status_text(cell.status, f"{cell.form_id}·{tr(t, cell.respondent)}")
                )
            for line in by_visit.values():
                yield Static(line)
            yield Static(tr(t, "trends"), classes="title")
            for name, points in station.trends(self.code).items():
                values = [p.value for p in points if p.value is not None]
                last = f"{values[-1]:.2f}" if values else "—"
                yield Static(f"{name:<14} {last:>7}  ({len(values)})")
                if values:
                    yield Sparkline(values, summary_function=max)
        with Horizontal(classes="buttons"):
            yield Button(tr(t, "back"), id="close", variant="primary")

    def on_button_pressed(self) -> None:
        self.action_close()

    def action_close(self) -> None:
        self.app.pop_screen()
