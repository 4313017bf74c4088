"""Small modal dialogs: confirm a skip, a calm error, the inactivity warning, the staff PIN.

Every dialog of the kiosk is a :class:`Dialog`: Esc closes it as its Cancel / No would.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from epro.kiosk.i18n import tr

Result = TypeVar("Result")


class Dialog(ModalScreen[Result]):
    """A modal dialog that Esc closes with :meth:`cancelled` (its Cancel / No answer)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]

    def cancelled(self) -> Result | None:
        return None

    def action_cancel(self) -> None:
        self.dismiss(self.cancelled())


class ConfirmDialog(Dialog[bool]):
    """A yes/no question; dismissed with True only on the explicit yes button."""

    def __init__(self, title: str, body: str, yes: str, no: str) -> None:
        super().__init__()
        self._texts = (title, body, yes, no)

    def compose(self) -> ComposeResult:
        title, body, yes, no = self._texts
        with Vertical(classes="dialog"):
            yield Static(title, classes="title")
            yield Static(body)
            with Horizontal(classes="buttons"):
                yield Button(no, id="no", variant="primary")
                yield Button(yes, id="yes", variant="warning")

    def cancelled(self) -> bool:
        return False

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class ErrorDialog(Dialog[None]):
    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self._title = title
        self._message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._title, classes="title")
            yield Static(self._message, id="error-message")
            with Horizontal(classes="buttons"):
                yield Button("OK", id="ok", variant="primary")

    def on_button_pressed(self) -> None:
        self.dismiss(None)


class IdleWarning(Dialog[None]):
    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(tr(self.language, "idle_title"), classes="title")
            yield Static(tr(self.language, "idle_body"))
            with Horizontal(classes="buttons"):
                yield Button(tr(self.language, "continue"), id="continue", variant="primary")

    def on_key(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self) -> None:
        self.dismiss(None)


class PinDialog(Dialog[tuple[str, str] | None]):
    """Asks a staff member for name and PIN; the caller checks them (the store counts failures)."""

    def __init__(self, language: str, problem: str = "") -> None:
        super().__init__()
        self.language = language
        self.problem = problem

    def compose(self) -> ComposeResult:
        t = self.language
        with Vertical(classes="dialog"):
            yield Static(tr(t, "pin_title"), classes="title")
            yield Input(placeholder=tr(t, "staff_name"), id="name")
            yield Input(placeholder=tr(t, "pin"), password=True, id="pin")
            yield Label(self.problem, classes="missing", id="pin-problem")
            with Horizontal(classes="buttons"):
                yield Button(tr(t, "cancel"), id="cancel")
                yield Button(tr(t, "ok"), id="ok", variant="primary")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "name":
            self.query_one("#pin", Input).focus()
        else:
            self._done()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._done()
        else:
            self.dismiss(None)

    def _done(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        pin = self.query_one("#pin", Input).value
        self.dismiss((name, pin))
