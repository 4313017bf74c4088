"""Enrol a patient: a pseudonymous study code, birth month and baseline date.

Each field keeps its label while it is filled in; the baseline date starts as today. What is
wrong is said in a whole sentence in the staff language, checked here before the station's own
rules (which stay the final word: their message is shown as a sentence too).
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from epro.errors import EproError
from epro.kiosk.i18n import number, tr
from epro.kiosk.screens.dialogs import Dialog

if TYPE_CHECKING:
    from epro.kiosk.app import KioskApp

_CODE = re.compile(r"[A-Z0-9-]{3,20}")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


class EnrolDialog(Dialog[str | None]):
    app: KioskApp

    def __init__(self, language: str, today: date | None = None) -> None:
        super().__init__()
        self.language = language
        self.today = today or date.today()

    def compose(self) -> ComposeResult:
        t = self.language
        with Vertical(classes="dialog", id="enrol-box"):
            yield Static(tr(t, "enrol"), classes="title")
            yield Label(tr(t, "study_code"), classes="field-label")
            yield Input(placeholder="DEMO-005", id="code", compact=True)
            yield Label(tr(t, "birth_ym"), classes="field-label")
            yield Input(placeholder="2017-04", id="birth", compact=True)
            yield Label(tr(t, "baseline"), classes="field-label")
            yield Input(value=self.today.isoformat(), id="baseline", compact=True)
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

    def problem(self, code: str, birth: str, baseline: str) -> str | None:
        """The first thing wrong with the fields, as a sentence (None when they look right)."""
        t = self.language
        if not _CODE.fullmatch(code.strip().upper()):
            return tr(t, "enrol_code_bad")
        if not _MONTH.fullmatch(birth.strip()):
            return tr(t, "enrol_birth_bad")
        try:
            date.fromisoformat(baseline.strip())
        except ValueError:
            return tr(t, "enrol_baseline_bad")
        return None

    def _save(self) -> None:
        station = self.app.station
        if station is None:
            return
        code = self.query_one("#code", Input).value
        birth = self.query_one("#birth", Input).value
        baseline = self.query_one("#baseline", Input).value
        problem = self.query_one("#enrol-problem", Label)
        wrong = self.problem(code, birth, baseline)
        if wrong is not None:
            problem.update(wrong)
            return
        try:
            patient = station.enrol(
                code, birth, date.fromisoformat(baseline.strip()), actor=self.app.actor or "staff"
            )
        except EproError as error:
            problem.update(self._sentence(code, str(error)))
            return
        self.dismiss(patient.code)

    def _sentence(self, code: str, message: str) -> str:
        """The station's refusal in the staff language where it is a known rule, else itself
        as a sentence (capital first, full stop last)."""
        t = self.language
        if "already enrolled" in message:
            return tr(t, "enrol_taken", code=code.strip().upper())
        age = re.search(r"is (\d+(?:\.\d+)?) years old", message)
        if age is not None:
            return tr(t, "enrol_age_bad", age=number(t, float(age.group(1)), 1))
        text = message.strip()
        text = text[:1].upper() + text[1:]
        return text if text.endswith((".", "!", "?")) else text + "."
