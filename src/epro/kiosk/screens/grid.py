"""The completion grid: every patient × kiosk visit × form × respondent, filterable.

Filters by visit and by status (Select widgets; ``v``/``f`` focus them). The grid includes
what other kiosks of the site submitted, as of the last sync: the station service merges it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, Footer, Select, Static

from epro.kiosk.bindings import speak
from epro.kiosk.glyphs import GLYPHS, columns_hint, legend
from epro.kiosk.i18n import tr
from epro.kiosk.widgets.completion_table import CompletionTable
from epro.kiosk.widgets.sync_panel import SyncPanel

if TYPE_CHECKING:
    from epro.kiosk.app import KioskApp
    from epro.station import Station


class GridScreen(Screen[None]):
    app: KioskApp
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("v", "focus_filter('visit')", "Visit filter"),
        Binding("f", "focus_filter('status')", "Status filter"),
        Binding("d", "detail", "Detail"),
        Binding("y", "sync", "Sync now"),
    ]
    FOOTER: ClassVar[dict[str, str]] = {
        "close": "foot_back",
        "focus_filter('visit')": "foot_visit_filter",
        "focus_filter('status')": "foot_status_filter",
        "detail": "foot_detail",
        "sync": "foot_sync",
    }

    def __init__(self, language: str = "en") -> None:
        super().__init__()
        self.language = language
        speak(self, language, self.FOOTER)

    @property
    def station(self) -> Station:
        assert self.app.station is not None  # only an unlocked kiosk shows the grid
        return self.app.station

    def compose(self) -> ComposeResult:
        t = self.language
        yield Static(tr(t, "grid_title"), classes="title")
        with Horizontal(id="grid-filters"):
            visits = [(code, code) for code in self.station.kiosk_visits()]
            yield Select(visits, prompt=tr(t, "all_visits"), id="visit", compact=True)
            statuses = [(tr(t, f"status_{status}"), status) for status in GLYPHS]
            yield Select(statuses, prompt=tr(t, "all_statuses"), id="status", compact=True)
        yield CompletionTable(id="grid-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="grid-status", classes="hint")
        yield Static(legend(t), classes="hint")
        yield Static(columns_hint(t), classes="hint")
        yield SyncPanel(id="sync-panel")
        with Horizontal(classes="buttons"):
            yield Button(tr(t, "sync_now"), id="sync")
            yield Button(tr(t, "back"), id="close", variant="primary")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.refresh_rows()
        self.query_one(CompletionTable).focus()

    def on_screen_resume(self) -> None:
        self.refresh_rows()

    def filters(self) -> tuple[str | None, str | None]:
        """The chosen (visit, status); None where all are shown."""
        visit = self.query_one("#visit", Select).value
        status = self.query_one("#status", Select).value
        return (
            visit if isinstance(visit, str) else None,
            status if isinstance(status, str) else None,
        )

    def refresh_rows(self) -> None:
        t = self.language
        visit, status = self.filters()
        grid = self.station.grid(visit=visit, status=status)
        rows = [(row.patient, row.visit, row.cells) for row in grid.rows]
        self.query_one(CompletionTable).fill(t, grid.columns, rows)
        self.query_one("#grid-status", Static).update("" if rows else tr(t, "grid_empty"))
        self.refresh_sync()

    def refresh_sync(self) -> None:
        self.query_one(SyncPanel).show(self.station.sync.status(), self.language)

    def on_select_changed(self) -> None:
        self.refresh_rows()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        await self.run_action(str(event.button.id))

    def action_focus_filter(self, which: str) -> None:
        self.query_one(f"#{which}", Select).focus()

    def action_detail(self) -> None:
        from epro.kiosk.screens.patient import PatientScreen

        code = self.query_one(CompletionTable).selected_patient()
        if code is not None:
            self.app.push_screen(PatientScreen(code, self.language))

    def action_sync(self) -> None:
        self.app.sync_now()

    def action_close(self) -> None:
        self.app.pop_screen()
