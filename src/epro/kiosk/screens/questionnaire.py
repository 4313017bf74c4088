"""One question per screen: the item, its answer widget, progress and Back / Skip / Next.

The screen only calls the session (answer, skip, not_applicable, back, next); it holds no
answers of its own, so a timeout or crash loses nothing that was confirmed.

"Not applicable" is an answer (instruments.md §2): it is chosen like an option (its button sits
under the options), only Next moves on, and over an answer already given it asks first. Tab
reaches Next first on every question. Enter on an answer already chosen goes on, as Next does.

The screen never switches screens itself: at the end of the form (or, when it was opened from
the review, after the one question) it posts :class:`ReviewWanted` and the app shows the review.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, ProgressBar, Static

from epro.forms.model import NA, FormKind, Item, ItemType
from epro.kiosk.answer_text import answer_text
from epro.kiosk.i18n import tr, tr_to, who
from epro.kiosk.messages import AnswerChanged, GoOn, ReviewWanted
from epro.kiosk.screens.dialogs import ConfirmDialog
from epro.kiosk.widgets import AnswerWidget, answer_widget_for

if TYPE_CHECKING:
    from epro.kiosk.app import KioskApp
    from epro.session import QuestionnaireSession
    from epro.station import SessionPlan

HINTS = {
    ItemType.VAS: "vas_hint",
    ItemType.CIRCLES21: "circles_hint",
    ItemType.CHOICE: "choice_hint",
    ItemType.BOOLEAN: "choice_hint",
    ItemType.CHECKLIST: "checklist_hint",
    ItemType.INTEGER: "number_hint",
    ItemType.DECIMAL: "number_hint",
}

#: The order Tab visits the buttons in, from the answer on. Textual orders the chain by place on
#: screen, which put Next after every button left of it, so how many Tabs reached it changed
#: with the buttons a question has: on question 1 (no Back) three Tabs reached Next, on later
#: questions the same three reached "not applicable". Next comes first, so one Tab after an
#: answer reaches it everywhere; Back comes last, so its absence on question 1 moves no other.
TAB_ORDER = ("next", "skip", "na", "confirm", "back")


class QuestionnaireScreen(Screen[None]):
    app: KioskApp

    def __init__(
        self,
        session: QuestionnaireSession,
        plan: SessionPlan,
        place: tuple[int, int] = (1, 1),
        *,
        from_review: bool = False,
    ) -> None:
        super().__init__()
        self.session = session
        self.plan = plan
        self.language = plan.language
        #: (this form's number, the visit's number of forms), shown as "form 2 of 4".
        self.place = place
        #: Opened from the review to change one answer: Next goes back to the review.
        self.from_review = from_review
        #: The app's keys that leave a screen do nothing here (a staff form is the nurse's).
        self.PATIENT_FACING = session.form.kind is not FormKind.STAFF
        self._widget: AnswerWidget | None = None

    def compose(self) -> ComposeResult:
        # Built once; each question only updates texts and swaps the answer widget, which is
        # several times faster than composing the screen again (benchmarks/kiosk.py).
        t = self.language
        if self.session.form.kind is FormKind.STAFF:
            # Staff forms are entered at the nurse station: say whose data they are, always.
            plan = self.plan
            yield Static(who(t, plan.patient, plan.visit, plan.respondent), id="who")
        with Horizontal(id="progress-row"):
            title = self.session.form.title.get(t) or self.session.form.id
            number, total = self.place
            yield Static(tr(t, "form_of", title=title, n=number, total=total), id="form-title")
            yield Static(id="progress-text")
            yield ProgressBar(show_eta=False, show_percentage=False, id="progress")
        yield Static(classes="hint", id="group")
        yield Static(id="question")
        yield Static(classes="hint", id="hint")
        yield Vertical(id="answer-area")
        with Horizontal(id="na-row"):
            yield Button(tr(t, "na"), id="na")
        with Horizontal(id="nav"):
            yield Button(tr(t, "back"), id="back")
            yield Button(tr(t, "skip"), id="skip")
            yield Button(tr(t, "confirm"), id="confirm")
            yield Button(tr(t, "next"), id="next", variant="primary")

    async def on_mount(self) -> None:
        await self.show_current()

    def _group_title(self, group_id: str | None) -> str:
        for group in self.session.form.groups:
            if group.id == group_id:
                return group.text.get(self.language, "")
        return ""

    async def show_current(self) -> None:
        """Show the session's current item: texts, answer widget, the buttons that apply."""
        t = self.language
        item = self.session.current
        shown = self.session.items()
        upto = [i for i in shown[: self.session.index + 1] if i.type is not ItemType.DISPLAY]
        done, total = self.session.progress()
        position = max(min(len(upto), total), 1)
        self.query_one("#progress-text", Static).update(
            tr(t, "progress", done=position, total=total)
        )
        self.query_one("#progress", ProgressBar).update(total=total, progress=done)
        group = self._group_title(item.group)
        self.query_one("#group", Static).update(group)
        self.query_one("#group", Static).display = bool(group)
        self.query_one("#question", Static).update(item.text_for(t, self.plan.respondent))
        self.query_one("#hint", Static).remove_class("missing")
        self.query_one("#question", Static).remove_class("missing")
        widget = answer_widget_for(item, t, self.session.value(item.link_id))
        area = self.query_one("#answer-area", Vertical)
        await area.remove_children()
        self._widget = widget
        if widget is not None:
            await area.mount(widget)
        self.query_one("#back", Button).disabled = self.session.index == 0
        self.query_one("#skip", Button).display = item.allow_skip and widget is not None
        self._show_na(item)
        self.query_one("#confirm", Button).display = item.type is ItemType.VAS
        self._after_compose()

    def _na_text(self, item: Item) -> str:
        return item.na_text.get(self.language) or tr(self.language, "na")

    def _show_na(self, item: Item) -> None:
        """The "not applicable" button and the hint, which says so when "na" is the answer."""
        t = self.language
        na = self.query_one("#na", Button)
        self.query_one("#na-row").display = item.na_option
        na.label = self._na_text(item)
        chosen = self.session.value(item.link_id) == NA
        na.variant = "success" if chosen else "default"
        hint = self.query_one("#hint", Static)
        if chosen:
            hint.update(tr_to(t, self.plan.respondent, "na_chosen", na=self._na_text(item)))
        else:
            help_text = item.help.get(t)
            hint.update(
                help_text
                or (tr_to(t, self.plan.respondent, HINTS[item.type]) if item.type in HINTS else "")
            )

    def _after_compose(self) -> None:
        """Give the answer widget the focus (and a hook for the transition benchmark)."""
        if self._widget is not None:
            self._widget.focus()
        else:
            self.query_one("#next", Button).focus()

    @property
    def focus_chain(self) -> list[Widget]:
        """Textual's chain (by place on screen), with the buttons in :data:`TAB_ORDER`."""
        chain = super().focus_chain
        buttons = [widget for widget in chain if isinstance(widget, Button)]
        buttons = [button for button in buttons if button.id in TAB_ORDER]
        buttons.sort(key=lambda button: TAB_ORDER.index(str(button.id)))
        return [widget for widget in chain if widget not in buttons] + buttons

    @property
    def widget(self) -> AnswerWidget | None:
        return self._widget

    @on(AnswerChanged)
    def store_answer(self, message: AnswerChanged) -> None:
        message.stop()
        self.app.guarded(lambda: self.session.answer(message.link_id, message.value))
        done, _total = self.session.progress()
        self.query_one("#progress", ProgressBar).update(progress=done)
        self._show_na(self.session.current)  # an option chosen after "na" replaces it
        self.query_one("#question", Static).remove_class("missing")
        self.query_one("#hint", Static).remove_class("missing")

    @on(GoOn)
    async def go_on(self, message: GoOn) -> None:
        message.stop()
        await self.next_pressed()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        item = self.session.current
        if event.button.id == "back":
            self.app.guarded(self.session.back)
            await self.show_current()
        elif event.button.id == "confirm" and self.widget is not None:
            self.widget.confirm()
        elif event.button.id == "na":
            await self._na_pressed(item)
        elif event.button.id == "skip":
            t = self.language
            dialog = ConfirmDialog(
                tr(t, "skip_title"), tr(t, "skip_body"), tr(t, "skip_yes"), tr(t, "skip_no")
            )
            self.app.push_screen(dialog, self._skip_answered)
        elif event.button.id == "next":
            await self.next_pressed()

    async def next_pressed(self) -> None:
        item = self.session.current
        widget = self.widget
        if widget is not None:
            pending = widget.pending
            stored = self.session.value(item.link_id)
            if pending is not None and pending != stored:
                # Next confirms what is on screen (a placed VAS marker, the ticked boxes).
                if not self.app.attempt(lambda: self.session.answer(item.link_id, pending)):
                    return  # the dialog says why; the respondent stays on this question
            elif (stored is None and (item.required or not widget.is_blank)) or (
                pending is None and not widget.is_blank
            ):
                # Nothing given yet, or typed text that cannot be an answer (an answer stored
                # earlier must not silently stand in for it): say what is wrong and stay.
                widget.confirm()  # shows what is wrong, e.g. a number out of range
                self._say_missing()
                return
        await self.advance()

    def _say_missing(self) -> None:
        """In words, not only in colour: this question has no answer yet."""
        hint = self.query_one("#hint", Static)
        hint.update(tr_to(self.language, self.plan.respondent, "missing_answer"))
        hint.add_class("missing")
        self.query_one("#question", Static).add_class("missing")

    async def _na_pressed(self, item: Item) -> None:
        """Choose "na"; over another answer (or a skip) only once the respondent says so."""
        given = self.session.value(item.link_id)
        if given is None or given == NA:
            await self._store_na(True)
            return
        t, respondent = self.language, self.plan.respondent
        na = self._na_text(item)
        body = tr_to(t, respondent, "na_replace_body", answer=answer_text(item, given, t), na=na)
        dialog = ConfirmDialog(
            tr_to(t, respondent, "na_replace_title"),
            body,
            tr_to(t, respondent, "na_replace_yes"),
            tr_to(t, respondent, "na_replace_no"),
        )
        self.app.push_screen(dialog, self._store_na)

    async def _store_na(self, confirmed: bool | None) -> None:
        item = self.session.current
        if confirmed and self.app.attempt(lambda: self.session.not_applicable(item.link_id)):
            await self.show_current()
            self.query_one("#next", Button).focus()  # chosen; Next moves on, as after an option

    async def _skip_answered(self, confirmed: bool | None) -> None:
        item = self.session.current
        if confirmed and self.app.attempt(lambda: self.session.skip(item.link_id, confirmed=True)):
            await self.advance()

    async def advance(self) -> None:
        items = self.session.items()
        if self.from_review or self.session.index >= len(items) - 1:
            self.post_message(ReviewWanted(self.plan))
            return
        self.app.guarded(self.session.next)
        await self.show_current()
