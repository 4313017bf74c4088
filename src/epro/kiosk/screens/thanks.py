"""After Submit: thank you (naming the next form of the visit), then "give the kiosk back".

Both post what comes next (:class:`NextFormWanted`, :class:`GiveBack`); the app switches.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Static

from epro.kiosk.i18n import tr, tr_to
from epro.kiosk.messages import GiveBack, NextFormWanted


class ThanksScreen(Screen[None]):
    PATIENT_FACING = True

    def __init__(
        self,
        language: str,
        respondent: str = "child",
        following: tuple[str, int, int] | None = None,
    ) -> None:
        """``following`` is the next form of the visit: (its title, its number, the total)."""
        super().__init__()
        self.language = language
        self.respondent = respondent
        self.following = following

    @property
    def has_next(self) -> bool:
        return self.following is not None

    def compose(self) -> ComposeResult:
        t = self.language
        with Vertical(id="lock-box"):
            yield Static(tr_to(t, self.respondent, "thanks_title"), classes="title")
            yield Static(tr_to(t, self.respondent, "thanks_body"), classes="body")
            if self.following is None:
                yield Static(tr(t, "thanks_last"), classes="body", id="what-next")
            else:
                title, number, total = self.following
                text = tr(t, "thanks_next", title=title, n=number, total=total)
                yield Static(text, classes="body", id="what-next")
            with Horizontal(classes="buttons"):
                key = "next_form" if self.has_next else "next"
                yield Button(tr(t, key), id="continue", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#continue", Button).focus()

    def on_button_pressed(self) -> None:
        self.post_message(NextFormWanted())


class GiveBackScreen(Screen[None]):
    PATIENT_FACING = True

    def __init__(self, language: str = "en", respondent: str = "child") -> None:
        super().__init__()
        self.language = language
        self.respondent = respondent

    def compose(self) -> ComposeResult:
        t = self.language
        with Vertical(id="lock-box"):
            yield Static(tr(t, "give_back_title"), classes="title")
            yield Static(tr_to(t, self.respondent, "give_back_body"), classes="body")
            with Horizontal(classes="buttons"):
                yield Button(tr(t, "done"), id="done", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#done", Button).focus()

    def on_button_pressed(self) -> None:
        self.post_message(GiveBack())
