"""Handover: the nurse picks respondent, language and forms; the queue is that visit's open forms.

All open forms start ticked (this is a staff screen); the nurse unticks what is not for today.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, RadioButton, RadioSet, SelectionList, Static

from epro.kiosk.i18n import LANGUAGES, tr
from epro.station import SessionPlan

LANGUAGE_NAMES = {"en": "English", "nl": "Nederlands"}


class HandoverDialog(ModalScreen[list[SessionPlan] | None]):
    def __init__(self, language: str, plans: list[SessionPlan]) -> None:
        super().__init__()
        self.language = language
        self.plans = plans
        self.respondents = list(dict.fromkeys(plan.respondent for plan in plans))

    def compose(self) -> ComposeResult:
        t = self.language
        with Vertical(classes="dialog"):
            first = self.plans[0]
            yield Static(f"{tr(t, 'start')}: {first.patient} · {first.visit}", classes="title")
            yield Static(tr(t, "respondent"))
            with RadioSet(id="respondent"):
                for n, who in enumerate(self.respondents):
                    forms = ", ".join(p.form_id for p in self.plans if p.respondent == who)
                    yield RadioButton(f"{tr(t, who)}: {forms}", value=n == 0)
            yield Static(tr(t, "form"))
            form_ids = list(dict.fromkeys(plan.form_id for plan in self.plans))
            yield SelectionList[str](*[(f, f, True) for f in form_ids], id="forms")
            yield Static(tr(t, "language"))
            with RadioSet(id="language"):
                for code in LANGUAGES:
                    yield RadioButton(LANGUAGE_NAMES[code], value=code == t)
            with Horizontal(classes="buttons"):
                yield Button(tr(t, "cancel"), id="cancel")
                yield Button(tr(t, "start"), id="go", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#forms", SelectionList).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "go":
            self.dismiss(None)
            return
        who = self.respondents[max(self.query_one("#respondent", RadioSet).pressed_index, 0)]
        language = LANGUAGES[max(self.query_one("#language", RadioSet).pressed_index, 0)]
        chosen = set(self.query_one("#forms", SelectionList).selected)
        self.dismiss(
            [
                SessionPlan(p.patient, p.visit, p.form_id, p.respondent, language)
                for p in self.plans
                if p.respondent == who and p.form_id in chosen
            ]
        )
