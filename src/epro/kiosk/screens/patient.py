"""Patient detail for staff: every visit's completion cells and trend sparklines, in words.

Forms are named by their titles and respondents by the word for them ("Pain · parent"), scores
by what they measure; numbers are written as the staff language writes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Sparkline, Static

from epro.kiosk.bindings import speak
from epro.kiosk.glyphs import status_text
from epro.kiosk.i18n import known, number, tr

if TYPE_CHECKING:
    from epro.kiosk.app import KioskApp


def score_name(language: str, name: str) -> str:
    """What a trend score measures, e.g. "Everyday function (CHAQ)" for ``chaq_di``."""
    key = f"trend_{name}"
    return tr(language, key) if known(key) else name


class PatientScreen(Screen[None]):
    app: KioskApp
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Back")]

    def __init__(self, code: str, language: str = "en") -> None:
        super().__init__()
        self.code = code
        self.language = language
        speak(self, language, {"close": "foot_back"})

    def compose(self) -> ComposeResult:
        t = self.language
        station = self.app.station
        assert station is not None
        yield Static(tr(t, "detail_title", patient=self.code), classes="title")
        with VerticalScroll(id="review-list"):
            by_visit: dict[str, Text] = {}
            for cell in station.completion(self.code):
                line = by_visit.setdefault(cell.visit, Text())
                name = f"{self.app.form_name(cell.form_id, t)} · {tr(t, cell.respondent)}"
                if line:
                    line.append("   ")
                line.append_text(status_text(cell.status, name))
            for visit, line in by_visit.items():
                with Horizontal(classes="detail-visit"):
                    yield Static(visit, classes="detail-code")
                    yield Static(line, classes="detail-cells")
            yield Static(tr(t, "trends"), classes="title")
            for name, points in station.trends(self.code).items():
                values = [p.value for p in points if p.value is not None]
                last = number(t, values[-1], 2) if values else "—"
                count = tr(t, "trend_points", count=len(values))
                yield Static(f"{score_name(t, name):<32} {last:>7}  ({count})")
                if values:
                    yield Sparkline(values, summary_function=max)
        with Horizontal(classes="buttons"):
            yield Button(tr(t, "back"), id="close", variant="primary")

    def on_button_pressed(self) -> None:
        self.action_close()

    def action_close(self) -> None:
        self.app.pop_screen()
