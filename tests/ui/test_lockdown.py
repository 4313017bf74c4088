"""No way out of a patient session: every key the app or Textual binds is tried on a question.

A child at the kiosk presses anything. While a patient-facing screen is open (a question, a
dialog on it, the thank-you, the lock screen) no key ends the app, suspends it, opens the
command palette or reaches a staff screen; only a nurse, after the PIN, closes the kiosk from
the station. Ctrl+C says so in the session's language.
"""

from __future__ import annotations

import pytest
from textual.app import App
from textual.binding import Binding
from textual.pilot import Pilot
from textual.screen import ModalScreen, Screen

from epro.kiosk.app import KioskApp
from epro.kiosk.i18n import tr
from epro.kiosk.screens.dialogs import ConfirmDialog
from epro.kiosk.screens.grid import GridScreen
from epro.kiosk.screens.lock import LockScreen
from epro.kiosk.screens.questionnaire import QuestionnaireScreen
from epro.kiosk.screens.station import StationScreen
from epro.station import SessionPlan
from tests.helpers.flows import app_of, unlock, wait_for
from tests.helpers.ui_constants import NURSE, PASSPHRASE, PIN

pytestmark = pytest.mark.anyio
SIZE = (80, 24)

#: Keys that leave a terminal program or reach Textual's own tools, bound or not.
ESCAPES = ("ctrl+q", "ctrl+c", "ctrl+z", "ctrl+p", "ctrl+backslash", "escape", "ctrl+d", "f1")


def every_binding_key() -> list[str]:
    """Each key bound by the kiosk app, Textual's App and screens, and the staff screens."""
    keys: list[str] = list(ESCAPES)
    for owner in (KioskApp, App, Screen, ModalScreen, StationScreen, GridScreen):
        for binding in owner.BINDINGS:
            key = binding.key if isinstance(binding, Binding) else binding[0]
            keys += [part.strip() for part in str(key).split(",")]
    keys.append(App.COMMAND_PALETTE_BINDING)
    return list(dict.fromkeys(keys))


def no_staff_screen(pilot: Pilot[None]) -> bool:
    return not any(
        isinstance(screen, StationScreen | GridScreen) for screen in pilot.app.screen_stack
    )


async def start_question(pilot: Pilot[None], language: str) -> QuestionnaireScreen:
    await unlock(pilot, PASSPHRASE, NURSE, PIN)
    app_of(pilot).begin([SessionPlan("DEMO-001", "V2", "chaq", "parent", language)])
    await wait_for(pilot, QuestionnaireScreen)
    screen = pilot.app.screen
    assert isinstance(screen, QuestionnaireScreen)
    return screen


@pytest.mark.parametrize("key", every_binding_key())
async def test_no_bound_key_leaves_a_patients_question(kiosk: KioskApp, key: str) -> None:
    async with kiosk.run_test(size=SIZE) as pilot:
        screen = await start_question(pilot, "en")
        await pilot.press("down", "space")  # an answer chosen, so a key could lose it
        await pilot.press(key)
        await pilot.pause()
        assert kiosk.is_running
        assert kiosk._exit_renderables == []
        assert kiosk.return_code is None
        assert no_staff_screen(pilot)
        while isinstance(kiosk.screen, ModalScreen):  # e.g. the "not applicable" question
            await pilot.press("escape")
            await pilot.pause()
        assert kiosk.screen is screen  # the same question, with its answer
        assert screen.session.current.link_id == "chaq_dress_a"
        assert screen.session.value("chaq_dress_a") == 0


@pytest.mark.parametrize("key", ESCAPES)
async def test_no_key_leaves_a_dialog_on_a_question_the_thank_you_or_the_lock_screen(
    kiosk: KioskApp, key: str
) -> None:
    async with kiosk.run_test(size=SIZE) as pilot:
        screen = await start_question(pilot, "en")
        await pilot.click("#skip")
        await wait_for(pilot, ConfirmDialog)
        await pilot.press(key)
        await pilot.pause()
        assert kiosk.is_running
        assert no_staff_screen(pilot)
        assert screen.session.value("chaq_dress_a") is None  # Esc is "no", not "skip"
        kiosk.lock()
        await wait_for(pilot, LockScreen)
        await pilot.press(key)
        await pilot.pause()
        assert kiosk.is_running
        assert no_staff_screen(pilot)


async def test_ctrl_c_in_a_dutch_session_says_so_in_dutch(kiosk: KioskApp) -> None:
    async with kiosk.run_test(size=SIZE) as pilot:
        await start_question(pilot, "nl")
        await pilot.press("ctrl+c")
        await pilot.pause()
        shown = [notification.message for notification in kiosk._notifications]
        assert shown[-1] == tr("nl", "ask_nurse")
        assert "Ctrl+Q" not in shown[-1]  # no hint how to leave
        assert kiosk.is_running


async def test_the_nurse_closes_the_kiosk_from_the_station_after_the_pin(
    kiosk: KioskApp,
) -> None:
    async with kiosk.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+q")  # the lock screen: nobody has given a PIN yet
        await pilot.pause()
        assert kiosk.is_running
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not kiosk.is_running
