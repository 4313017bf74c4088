"""After Submit: thank you (then the next form of the queue), then "give the kiosk back"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Static

from epro.kiosk.i18n import tr

if TYPE_CHECKING:
    from epro.kiosk.app import KioskApp


class ThanksScreen(Screen[None]):
    app: KioskApp

    def __init__(self, language: str, *, has_next: bool) -> None:
        super().__init__()
        self.language = language
        self.has_next = has_next

    def compose(self) -> ComposeResult:
        t = self.language
        with Vertical(id="lock-box"):
            yield Static(tr(t, "thanks_title"), classes="title")
            yield Static(tr(t, "thanks_body"), classes="body")
            with Horizontal(classes="buttons"):
                key = "next_form" if self.has_next else "next"
                yield Button(tr(t, key), id="continue", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#continue", Button).focus()

    def on_button_pressed(self) -> None:
        self.app.guarded(self.app.next_in_queue)


class GiveBackScreen(Screen[None]):
    app: KioskApp

    def compose(self) -> ComposeResult:
        t = self.app.language
        with Vertical(id="lock-box"):
            yield Static(tr(t, "give_back_title"), classes="title")
            yield Static(tr(t, "give_back_body"), classes="body")
            with Horizontal(classes="buttons"):
                yield Button(tr(t, "done"), id="done", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#done", Button).focus()

    def on_button_pressed(self) -> None:
        self.app.lock()
