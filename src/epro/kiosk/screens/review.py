"""The review: every answer listed before Submit; choosing a line goes back to that question."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, Label, ListItem, ListView, Static

from epro.kiosk.answer_text import answer_text
from epro.kiosk.i18n import tr

if TYPE_CHECKING:
    from epro.kiosk.app import KioskApp
    from epro.session import QuestionnaireSession
    from epro.station import SessionPlan


class ReviewScreen(Screen[None]):
    app: KioskApp

    def __init__(self, session: QuestionnaireSession, plan: SessionPlan) -> None:
        super().__init__()
        self.session = session
        self.plan = plan
        self.language = plan.language

    def compose(self) -> ComposeResult:
        t = self.language
        yield Static(tr(t, "review_title"), classes="title")
        yield Static(tr(t, "review_change"), classes="hint")
        rows = []
        for number, line in enumerate(self.session.review(), start=1):
            question = line.item.text_for(t, self.plan.respondent)
            answer = answer_text(line.item, line.value, t)
            label = Label(f"{number:>2}. {question}\n    → {answer}")
            if line.missing_required:
                label.add_class("missing")
            rows.append(ListItem(label, name=line.item.link_id))
        yield ListView(*rows, id="review-list")
        can_submit = self.session.can_submit()
        if not can_submit:
            yield Static(tr(t, "submit_blocked"), classes="hint missing")
        with Horizontal(id="nav"):
            yield Button(tr(t, "back"), id="back")
            yield Button(tr(t, "submit"), id="submit", variant="success", disabled=not can_submit)

    def on_mount(self) -> None:
        self.query_one("#submit", Button).focus()

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        link_id = event.item.name
        if link_id is not None:
            self._back_to(link_id)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "back":
            items = self.session.items()
            if items:
                self._back_to(items[-1].link_id)
        elif event.button.id == "submit":
            self._submit()

    def _back_to(self, link_id: str) -> None:
        from epro.kiosk.screens.questionnaire import QuestionnaireScreen

        self.app.guarded(lambda: self.session.go_to(link_id))
        self.app.switch_screen(QuestionnaireScreen(self.session, self.plan))

    def _submit(self) -> None:
        from epro.kiosk.screens.thanks import ThanksScreen

        actor = self.app.actor or "kiosk"
        result = self.app.guarded(lambda: self.session.submit(actor=actor))
        if result is None:
            return
        self.app.session = None
        self.app.kick_sync()
        self.app.switch_screen(ThanksScreen(self.language, has_next=bool(self.app.queue)))
