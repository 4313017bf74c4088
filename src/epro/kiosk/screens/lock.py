"""Locked: the attract screen. No identifiers; the site passphrase, then a staff PIN.

The passphrase is needed once (it derives the key, in a worker thread because Argon2id is
slow on purpose); after that the kiosk stays unlockable by PIN alone until it restarts.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static

from epro.errors import StoreError, WrongPassphraseError
from epro.kiosk.i18n import tr
from epro.kiosk.screens.dialogs import PinDialog

if TYPE_CHECKING:
    from epro.kiosk.app import KioskApp


class LockScreen(Screen[None]):
    app: KioskApp
    #: The family may still be in front of it: no key leaves the kiosk from here.
    PATIENT_FACING = True

    def compose(self) -> ComposeResult:
        t = self.app.language
        with Vertical(id="lock-box"):
            yield Static(tr(t, "locked_title"), classes="title")
            yield Static(tr(t, "locked_body"), classes="body")
            if self.app.station is None:
                yield Input(placeholder=tr(t, "passphrase"), password=True, id="passphrase")
            yield Label("", classes="missing", id="lock-problem")
            if self.app.settings.demo is not None:
                passphrase, nurse, pin = self.app.settings.demo
                hint = tr(t, "demo_hint", passphrase=passphrase, nurse=nurse, pin=pin)
                yield Static(hint, classes="hint", id="demo-hint")
            if self.app.settings.demo_console is not None:
                yield Static(self.app.settings.demo_console, classes="hint", id="demo-console")
            with Horizontal(classes="buttons"):
                yield Button(tr(t, "unlock"), id="unlock", variant="primary")

    def on_mount(self) -> None:
        if self.app.station is None:
            self.query_one("#passphrase", Input).focus()
        else:
            self.query_one("#unlock", Button).focus()

    def on_input_submitted(self) -> None:
        self._unlock()

    def on_button_pressed(self) -> None:
        self._unlock()

    def _unlock(self) -> None:
        if self.app.station is not None:
            self._ask_pin()
            return
        passphrase = self.query_one("#passphrase", Input).value
        if not passphrase:
            return
        self.query_one("#lock-problem", Label).update(tr(self.app.language, "unlocking"))
        # Run by the app, so its one failed-worker handler shows any other error calmly.
        self.app.run_worker(
            partial(self._open, passphrase), thread=True, exclusive=True, exit_on_error=False
        )

    def on_screen_resume(self) -> None:
        if self.app.station is None:
            self.query_one("#lock-problem", Label).update("")

    def _open(self, passphrase: str) -> None:
        try:
            station = self.app.open_store(passphrase)
        except WrongPassphraseError:
            self.app.call_from_thread(self._problem, tr(self.app.language, "wrong_passphrase"))
            return
        self.app.call_from_thread(self._opened, station)

    def _problem(self, text: str) -> None:
        self.query_one("#lock-problem", Label).update(text)
        self.query_one("#passphrase", Input).value = ""

    def _opened(self, station: object) -> None:
        self.app.station = station  # type: ignore[assignment]
        self.query_one("#lock-problem", Label).update("")
        self.query_one("#passphrase", Input).remove()
        self._ask_pin()

    def _ask_pin(self, problem: str = "") -> None:
        self.app.push_screen(PinDialog(self.app.language, problem), self._pin_given)

    def _pin_given(self, given: tuple[str, str] | None) -> None:
        station = self.app.station
        if given is None or station is None:
            return
        name, pin = given
        try:
            ok = station.verify_pin(name, pin)
        except StoreError:
            self._ask_pin(tr(self.app.language, "pin_locked"))
            return
        if not ok:
            self._ask_pin(tr(self.app.language, "wrong_pin"))
            return
        self.app.actor = name
        self.app.show_station()
