"""The review: every answer listed before Submit; choosing a line goes back to that question.

The list has the focus at once (↑ ↓ move, Enter changes a line), never Submit, so nothing is
sent by one stray Enter; one Tab reaches Submit. A question opened from here comes back here
after Next. The screen posts what the respondent chose (:class:`ChangeWanted`,
:class:`FormSubmitted`) and the app switches screens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Label, ListItem, ListView, Static

from epro.kiosk.answer_text import answer_text
from epro.kiosk.i18n import tr, tr_to
from epro.kiosk.messages import ChangeWanted, FormSubmitted

if TYPE_CHECKING:
    from epro.kiosk.app import KioskApp
    from epro.session import QuestionnaireSession
    from epro.station import SessionPlan


class ReviewScreen(Screen[None]):
    app: KioskApp
    PATIENT_FACING = True

    def __init__(
        self,
        session: QuestionnaireSession,
        plan: SessionPlan,
        place: tuple[int, int] = (1, 1),
    ) -> None:
        super().__init__()
        self.session = session
        self.plan = plan
        self.place = place
        self.language = plan.language

    def compose(self) -> ComposeResult:
        t, respondent = self.language, self.plan.respondent
        title = self.session.form.title.get(t) or self.session.form.id
        number, total = self.place
        yield Static(tr_to(t, respondent, "review_title"), classes="title")
        yield Static(tr(t, "form_of", title=title, n=number, total=total), classes="hint")
        yield Static(tr_to(t, respondent, "review_change"), classes="hint")
        rows = []
        for number, line in enumerate(self.session.review(), start=1):
            question = line.item.text_for(t, respondent)
            answer = answer_text(line.item, line.value, t)
            if line.missing_required:
                answer = f"{answer} — {tr(t, 'review_needed')}"
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
        self.query_one("#review-list", ListView).focus()

    @property
    def focus_chain(self) -> list[Widget]:
        """The list, then Submit, then Back: one Tab from the list reaches Submit."""
        chain = super().focus_chain
        back = [widget for widget in chain if widget.id == "back"]
        return [widget for widget in chain if widget.id != "back"] + back

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        link_id = event.item.name
        if link_id is not None:
            self.post_message(ChangeWanted(self.plan, link_id))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "back":
            items = self.session.items()
            if items:
                self.post_message(ChangeWanted(self.plan, items[-1].link_id))
        elif event.button.id == "submit":
            self._submit()

    def _submit(self) -> None:
        actor = self.app.actor or "kiosk"
        result = self.app.guarded(lambda: self.session.submit(actor=actor))
        if result is not None:
            self.post_message(FormSubmitted(self.plan))
