"""The nurse station: today's patients with their completion cells, drafts and sync state.

Every action calls one ``Station`` method (sync runs in the app's worker); the screen only
arranges what those return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, Footer, Static

from epro.kiosk.bindings import speak
from epro.kiosk.glyphs import columns_hint, legend
from epro.kiosk.i18n import LANGUAGES, tr, who
from epro.kiosk.screens.dialogs import ConfirmDialog
from epro.kiosk.widgets.completion_table import Column, CompletionTable
from epro.kiosk.widgets.sync_panel import SyncPanel

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
        Binding("g", "grid", "Grid"),
        Binding("y", "sync", "Sync now"),
        Binding("l", "lock", "Lock"),
        Binding("t", "language", "Language"),
    ]
    #: The footer's words, by action (in the staff language).
    FOOTER: ClassVar[dict[str, str]] = {
        "start": "foot_start",
        "resume": "foot_resume",
        "enrol": "foot_enrol",
        "detail": "foot_detail",
        "clinician": "foot_clinician",
        "grid": "foot_grid",
        "sync": "foot_sync",
        "lock": "foot_lock",
        "language": "foot_language",
    }

    def __init__(self, language: str = "en") -> None:
        super().__init__()
        self.language = language
        speak(self, language, self.FOOTER)

    @property
    def station(self) -> Station:
        assert self.app.station is not None  # the lock screen only lets an unlocked kiosk here
        return self.app.station

    def compose(self) -> ComposeResult:
        t = self.language
        yield Static(f"{tr(t, 'station_title')} — {self.app.actor or ''}", classes="title")
        yield Static(tr(t, "today"), classes="hint")
        yield CompletionTable(id="station-grid", cursor_type="row", zebra_stripes=True)
        yield Static(legend(t), id="station-legend", classes="hint")
        yield Static(columns_hint(t), classes="hint")
        yield Static("", id="station-status")
        yield SyncPanel(id="sync-panel")
        with Horizontal(classes="buttons"):
            yield Button(tr(t, "start"), id="start", variant="primary")
            yield Button(tr(t, "resume"), id="resume")
            yield Button(tr(t, "enrol"), id="enrol")
        with Horizontal(classes="buttons station-row"):
            yield Button(tr(t, "grid"), id="grid")
            yield Button(tr(t, "sync_now"), id="sync")
            yield Button(tr(t, "lock"), id="lock", variant="warning")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.refresh_rows()
        self.query_one(CompletionTable).focus()

    def on_screen_resume(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        t = self.language
        rows = self.station.patients_today()
        columns: list[Column] = []
        for row in rows:
            columns += [(c.form_id, c.respondent) for c in row.cells]
        table = self.query_one(CompletionTable)
        table.fill(
            t,
            self.station.order_columns(columns),
            [
                (row.code, row.visit, {(c.form_id, c.respondent): c for c in row.cells})
                for row in rows
            ],
        )
        self.query_one("#station-status", Static).update("" if rows else tr(t, "no_patients"))
        self.refresh_sync()

    def refresh_sync(self) -> None:
        self.query_one(SyncPanel).show(self.station.sync.status(), self.language)

    def _selected(self) -> str | None:
        code = self.query_one(CompletionTable).selected_patient()
        if code is None:
            self.notify(tr(self.language, "choose_patient"))
        return code

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        await self.run_action(str(event.button.id))

    def on_data_table_row_selected(self) -> None:
        self.action_start()

    def action_start(self) -> None:
        from epro.kiosk.screens.handover import HandoverDialog

        code = self._selected()
        if code is None:
            return
        t = self.language
        plans = self.app.guarded(lambda: self.station.plans_for(code, t))
        if plans:
            titles = {plan.form_id: self.app.form_name(plan.form_id, t) for plan in plans}
            dialog = HandoverDialog(t, plans, titles)
            self.app.push_screen(dialog, self._hand_over)

    def _hand_over(self, plans: list[SessionPlan] | None) -> None:
        if plans:
            self.app.guarded(lambda: self.app.begin(plans))

    def action_resume(self) -> None:
        code = self._selected()
        if code is None:
            return
        drafts = self.app.guarded(lambda: self.station.drafts(code))
        if not drafts:
            self.notify(tr(self.language, "no_drafts"))
            return
        draft, t = drafts[0], self.language
        following = ", ".join(
            self.app.form_name(plan.form_id, t) for plan in self.app.queue_after(draft.id)
        )
        body = "\n".join(
            (
                who(t, draft.patient, draft.visit, draft.respondent),
                tr(t, "resume_form", form=self.app.form_name(draft.form_id, t)),
                tr(t, "resume_then", forms=following) if following else tr(t, "resume_then_none"),
            )
        )
        dialog = ConfirmDialog(tr(t, "resume_title"), body, tr(t, "resume_yes"), tr(t, "cancel"))
        self.app.push_screen(dialog, lambda yes: self._resume(draft.id) if yes else None)

    def _resume(self, response_id: str) -> None:
        self.app.guarded(lambda: self.app.resume(response_id))

    def action_enrol(self) -> None:
        from epro.kiosk.screens.enrol import EnrolDialog

        today = self.station.today()
        self.app.push_screen(EnrolDialog(self.language, today), lambda _: self.refresh_rows())

    def action_detail(self) -> None:
        from epro.kiosk.screens.patient import PatientScreen

        code = self._selected()
        if code is not None:
            self.app.push_screen(PatientScreen(code, self.language))

    def action_clinician(self) -> None:
        code = self._selected()
        row = next((r for r in self.station.patients_today() if r.code == code), None)
        if row is None:
            return
        t = self.language
        plan = self.station.clinician_plan(row.code, row.visit, t)
        body = f"{who(t, plan.patient, plan.visit, plan.respondent)}\n{tr(t, 'clinician_check')}"
        dialog = ConfirmDialog(tr(t, "clinician_title"), body, tr(t, "start"), tr(t, "cancel"))
        self.app.push_screen(dialog, lambda yes: self._hand_over([plan] if yes else None))

    def action_grid(self) -> None:
        from epro.kiosk.screens.grid import GridScreen

        self.app.push_screen(GridScreen(self.language))

    def action_sync(self) -> None:
        self.app.sync_now()

    def action_lock(self) -> None:
        self.app.lock()

    def action_language(self) -> None:
        """The nurse's choice: the staff screens in the other language (until a restart)."""
        following = LANGUAGES[(LANGUAGES.index(self.language) + 1) % len(LANGUAGES)]
        self.app.set_staff_language(following)
