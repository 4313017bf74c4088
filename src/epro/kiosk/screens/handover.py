"""Handover: the nurse picks respondent, language and forms; the queue is that visit's open forms.

The dialog names the patient and the visit and lists the forms by title. The forms ticked are
those of the respondent chosen (all of them at first: this is a staff screen; the nurse unticks
what is not for today), and they change with the respondent, so the list never offers a form
the chosen respondent does not answer.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, RadioButton, RadioSet, SelectionList, Static

from epro.kiosk.i18n import LANGUAGES, tr
from epro.kiosk.screens.dialogs import Dialog
from epro.station import SessionPlan

LANGUAGE_NAMES = {"en": "English", "nl": "Nederlands"}


class HandoverDialog(Dialog[list[SessionPlan] | None]):
    def __init__(
        self,
        language: str,
        plans: list[SessionPlan],
        titles: Mapping[str, str] | None = None,
        session_language: str | None = None,
    ) -> None:
        super().__init__()
        self.language = language
        self.plans = plans
        self.titles = dict(titles or {})
        self.session_language = session_language or language
        self.respondents = list(dict.fromkeys(plan.respondent for plan in plans))

    def title_of(self, form_id: str) -> str:
        return self.titles.get(form_id, form_id)

    def forms_of(self, respondent: str) -> list[str]:
        return list(dict.fromkeys(p.form_id for p in self.plans if p.respondent == respondent))

    def compose(self) -> ComposeResult:
        t = self.language
        with Vertical(classes="dialog"):
            first = self.plans[0]
            title = tr(t, "start_for", patient=first.patient, visit=first.visit)
            yield Static(title, classes="title")
            yield Static(tr(t, "respondent"))
            with RadioSet(id="respondent"):
                for n, who in enumerate(self.respondents):
                    yield RadioButton(tr(t, who), value=n == 0)
            yield Static(id="forms-title")
            yield SelectionList[str](id="forms")
            yield Static(tr(t, "language"))
            with RadioSet(id="language"):
                for code in LANGUAGES:
                    yield RadioButton(LANGUAGE_NAMES[code], value=code == self.session_language)
            with Horizontal(classes="buttons"):
                yield Button(tr(t, "cancel"), id="cancel")
                yield Button(tr(t, "start"), id="go", variant="primary")

    def on_mount(self) -> None:
        self._show_forms(self.respondents[0])
        self.query_one("#forms", SelectionList).focus()

    @property
    def respondent(self) -> str:
        return self.respondents[max(self.query_one("#respondent", RadioSet).pressed_index, 0)]

    def _show_forms(self, respondent: str) -> None:
        """The forms of ``respondent``, by title, all ticked."""
        t = self.language
        self.query_one("#forms-title", Static).update(
            tr(t, "forms_for", respondent=tr(t, respondent))
        )
        forms = self.query_one("#forms", SelectionList)
        forms.clear_options()
        forms.add_options([(self.title_of(f), f, True) for f in self.forms_of(respondent)])
        forms.highlighted = 0  # Space unticks the first form at once, as before the refill

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        if event.radio_set.id == "respondent":
            self._show_forms(self.respondent)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "go":
            self.dismiss(None)
            return
        who = self.respondent
        language = LANGUAGES[max(self.query_one("#language", RadioSet).pressed_index, 0)]
        chosen = set(self.query_one("#forms", SelectionList).selected)
        self.dismiss(
            [
                SessionPlan(p.patient, p.visit, p.form_id, p.respondent, language)
                for p in self.plans
                if p.respondent == who and p.form_id in chosen
            ]
        )
