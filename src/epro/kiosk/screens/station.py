"""The nurse station: today's patients with their completion cells, drafts and the outbox.

Every action calls one ``Station`` method; the screen only arranges what those return.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Static

from epro.kiosk.glyphs import legend, status_text
from epro.kiosk.i18n import tr

if TYPE_CHECKING:
    from epro.kiosk.app import KioskApp
    from epro.station import SessionPlan, Station


class StationScreen(Screen[None]):
    app: KioskApp
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "start", "Start"),
        Binding("r", "resume", "Resume"),
        Binding("e", "enrol", "Enrol"),
        Binding("d", "detail", "Detail"),
        Binding("c", "clinician", "Clinician data"),
        Binding("l", "lock", "Lock"),
    ]

    @property
    def station(self) -> Station:
        assert self.app.station is not None  # the lock screen only lets an unlocked kiosk here
        return self.app.station

    def compose(self) -> ComposeResult:
        t = self.app.language
        yield Static(f"{tr(t, 'station_title')} — {self.app.actor or ''}", classes="title")
        yield Static(tr(t, "today"), classes="hint")
        yield DataTable(id="station-grid", cursor_type="row", zebra_stripes=True)
        yield Static(legend(t), id="station-legend", classes="hint")
        yield Static("", id="station-status")
        with Horizontal(classes="buttons"):
            yield Button(tr(t, "start"), id="start", variant="primary")
            yield Button(tr(t, "resume"), id="resume")
            yield Button(tr(t, "enrol"), id="enrol")
            yield Button(tr(t, "lock"), id="lock", variant="warning")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_rows()
        self.query_one(DataTable).focus()

    def on_screen_resume(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        t = self.app.language
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_column(tr(t, "study_code"), width=12)
        table.add_column(tr(t, "visit"), width=6)
        # The completion cells get the rest of the width (columns do not grow on their own).
        table.add_column(tr(t, "completion"), width=max(self.size.width - 28, 30))
        rows = self.station.patients_today()
        for row in rows:
            summary = _join(
                status_text(c.status, f"{c.form_id}·{tr(t, c.respondent)}") for c in row.cells
            )
            table.add_row(row.code, row.visit, summary, key=row.code)
        status = tr(t, "outbox", count=self.station.outbox_count())
        if not rows:
            status = f"{tr(t, 'no_patients')}  {status}"
        self.query_one("#station-status", Static).update(status)

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            self.notify(tr(self.app.language, "choose_patient"))
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return None if key.value is None else str(key.value)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        await self.run_action(str(event.button.id))

    def on_data_table_row_selected(self) -> None:
        self.action_start()

    def action_start(self) -> None:
        from epro.kiosk.screens.handover import HandoverDialog

        code = self._selected()
        if code is None:
            return
        plans = self.app.guarded(lambda: self.station.plans_for(code, "en"))
        if plans:
            self.app.push_screen(HandoverDialog(self.app.language, plans), self._hand_over)

    def _hand_over(self, plans: list[SessionPlan] | None) -> None:
        if plans:
            self.app.guarded(lambda: self.app.begin(plans))

    def action_resume(self) -> None:
        code = self._selected()
        if code is None:
            return
        drafts = self.app.guarded(lambda: self.station.drafts(code))
        if not drafts:
            self.notify(tr(self.app.language, "no_drafts"))
            return
        self.app.guarded(lambda: self.app.resume(drafts[0].id))

    def action_enrol(self) -> None:
        from epro.kiosk.screens.enrol import EnrolDialog

        self.app.push_screen(EnrolDialog(self.app.language), lambda _: self.refresh_rows())

    def action_detail(self) -> None:
        from epro.kiosk.screens.patient import PatientScreen

        code = self._selected()
        if code is not None:
            self.app.push_screen(PatientScreen(code))

    def action_clinician(self) -> None:
        code = self._selected()
        row = next((r for r in self.station.patients_today() if r.code == code), None)
        if row is not None:
            plan = self.station.clinician_plan(row.code, row.visit)
            self.app.guarded(lambda: self.app.begin([plan]))

    def action_lock(self) -> None:
        self.app.lock()


def _join(parts: Iterable[Text]) -> Text:
    text = Text()
    for n, part in enumerate(parts):
        if n:
            text.append("  ")
        text.append_text(part)
    return text
