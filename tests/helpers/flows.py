"""Pilot steps shared by the kiosk flow and snapshot tests (keyboard first, like a nurse)."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Button

from epro.kiosk.app import KioskApp
from epro.kiosk.screens.lock import LockScreen
from epro.kiosk.screens.station import StationScreen
from epro.station import SessionPlan


async def wait_for(pilot: Pilot[None], screen_type: type, tries: int = 100) -> None:
    for _ in range(tries):
        if isinstance(pilot.app.screen, screen_type):
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError(f"expected {screen_type.__name__}, got {type(pilot.app.screen).__name__}")


async def buttons_at_rest(pilot: Pilot[None], tries: int = 100) -> None:
    """Wait until no button on any screen shows its short pressed look (a click leaves it for
    a fraction of a second), so a snapshot does not depend on how fast the machine is."""
    for _ in range(tries):
        if not any(
            button.has_class("-active")
            for screen in pilot.app.screen_stack
            for button in screen.query(Button)
        ):
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError("a button still looks pressed")


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*[{" ": "space", "-": "minus"}.get(ch, ch) for ch in text])


async def unlock(pilot: Pilot[None], passphrase: str, nurse: str, pin: str) -> None:
    """Passphrase on the lock screen, then name and PIN in the staff dialog."""
    await wait_for(pilot, LockScreen)
    await type_text(pilot, passphrase)
    await pilot.press("enter")
    from epro.kiosk.screens.dialogs import PinDialog

    await wait_for(pilot, PinDialog)
    await type_text(pilot, nurse)
    await pilot.press("enter")
    await type_text(pilot, pin)
    await pilot.press("enter")
    await wait_for(pilot, StationScreen)


def app_of(pilot: Pilot[None]) -> KioskApp:
    app = pilot.app
    assert isinstance(app, KioskApp)
    return app


async def show_item(pilot: Pilot[None], plan: SessionPlan, link_id: str) -> None:
    """Start ``plan`` as the nurse's handover would and bring ``link_id`` on screen."""
    from epro.kiosk.screens.questionnaire import QuestionnaireScreen

    app = app_of(pilot)
    app.begin([plan])
    await wait_for(pilot, QuestionnaireScreen)
    screen = app.screen
    assert isinstance(screen, QuestionnaireScreen)
    screen.session.go_to(link_id)
    await screen.show_current()
    await pilot.pause()


def steady_cursor(pilot: Pilot[None]) -> None:
    """Snapshots must not catch a blinking cursor half-way."""
    from textual.widgets import Input

    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
