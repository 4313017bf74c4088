"""Enrol a patient: a pseudonymous study code, birth month and baseline date."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from epro.errors import EproError
from epro.kiosk.i18n import tr

if TYPE_CHECKING:
    from epro.kiosk.app import KioskApp


class EnrolDialog(ModalScreen[str | None]):
    app: KioskApp

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language

    def compose(self) -> ComposeResult:
        t = self.language
        with Vertical(classes="dialog"):
            yield Static(tr(t, "enrol"), classes="title")
            yield Input(placeholder=tr(t, "study_code"), id="code")
            yield Input(placeholder=tr(t, "birth_ym"), id="birth")
            yield Input(placeholder=tr(t, "baseline"), id="baseline")
            yield Label("", classes="missing", id="enrol-problem")
            with Horizontal(classes="buttons"):
                yield Button(tr(t, "cancel"), id="cancel")
                yield Button(tr(t, "enrol"), id="save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#code", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        order = ["code", "birth", "baseline"]
        index = order.index(str(event.input.id))
        if index + 1 < len(order):
            self.query_one(f"#{order[index + 1]}", Input).focus()
        else:
            self._save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self._save()
        else:
            self.dismiss(None)

    def _save(self) -> None:
        station = self.app.station
        if station is None:
            return
        code = self.query_one("#code", Input).value
        birth = self.query_one("#birth", Input).value
        raw_baseline = self.query_one("#baseline", Input).value.strip()
        problem = self.query_one("#enrol-problem", Label)
        try:
            baseline = date.fromisoformat(raw_baseline)
        except ValueError:
            problem.update(f"{tr(self.language, 'baseline')}: {raw_baseline!r}?")
            return
        try:
            patient = station.enrol(code, birth, baseline, actor=self.app.actor or "staff")
        except EproError as error:
            problem.update(str(error))  # staff see the detail: it names the fix
            return
        self.dismiss(patient.code)
