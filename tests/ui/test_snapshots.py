"""SVG snapshots of every kiosk screen type, in English and Dutch (STYLE §14).

Fixed terminal size, fixed clock, steady cursor, made-up study codes only. Regenerate with
``pytest tests/ui/test_snapshots.py --snapshot-update`` and review the SVGs before committing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flows import show_item, steady_cursor, unlock, wait_for
from textual.pilot import Pilot

from conftest import NURSE, PASSPHRASE, PIN
from epro.kiosk.app import make_kiosk
from epro.kiosk.screens.dialogs import ConfirmDialog
from epro.kiosk.screens.review import ReviewScreen
from epro.kiosk.screens.thanks import GiveBackScreen, ThanksScreen
from epro.station import SessionPlan, Station

SIZE = (100, 32)
LANGUAGES = ["en", "nl"]

Snap = Callable[..., bool]
Opener = Callable[[str], Station]


def kiosk_in(language: str, db: Path, opener: Opener, **options: Any) -> Any:
    return make_kiosk(
        db, language=language, opener=opener, idle_warning_s=600, idle_lock_s=900, **options
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_lock_screen(
    snap_compare: Snap, language: str, kiosk_db: Path, open_station: Opener
) -> None:
    async def before(pilot: Pilot[None]) -> None:
        steady_cursor(pilot)

    app = kiosk_in(language, kiosk_db, open_station)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_lock_screen_in_demo_mode_shows_the_demo_credentials_and_high_contrast(
    snap_compare: Snap, kiosk_db: Path, open_station: Opener
) -> None:
    async def before(pilot: Pilot[None]) -> None:
        steady_cursor(pilot)

    app = kiosk_in(
        "en", kiosk_db, open_station, demo=("demo passphrase", "nurse", "1234"), high_contrast=True
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


@pytest.mark.parametrize("language", LANGUAGES)
def test_too_small_terminal_is_refused_with_a_message(
    snap_compare: Snap, language: str, kiosk_db: Path, open_station: Opener
) -> None:
    app = kiosk_in(language, kiosk_db, open_station)
    assert snap_compare(app, terminal_size=(60, 20))


@pytest.mark.parametrize("language", LANGUAGES)
def test_nurse_station(
    snap_compare: Snap, language: str, kiosk_db: Path, open_station: Opener
) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)

    app = kiosk_in(language, kiosk_db, open_station)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


#: One item per answer widget: (form, respondent, item) for a patient whose visit is open.
ITEMS = [
    ("chaq", "parent", "chaq_walk_a"),  # single choice with "not applicable"
    ("chaq", "parent", "chaq_devices"),  # checklist
    ("chaq", "parent", "chaq_pain_vas"),  # VAS, no marker
    ("jamar", "parent", "jamar_pain"),  # 21 circles
    ("jamar", "parent", "jamar_stiffness"),  # yes / no
    ("clinician", "staff", "active_joints"),  # integer entry (staff form)
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("form_id", "respondent", "link_id"), ITEMS, ids=[i[2] for i in ITEMS])
def test_questionnaire_item(
    snap_compare: Snap,
    language: str,
    form_id: str,
    respondent: str,
    link_id: str,
    kiosk_db: Path,
    open_station: Opener,
) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        plan = SessionPlan("DEMO-001", "V2", form_id, respondent, language)
        await show_item(pilot, plan, link_id)
        steady_cursor(pilot)

    app = kiosk_in(language, kiosk_db, open_station)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


@pytest.mark.parametrize("language", LANGUAGES)
def test_skip_confirmation(
    snap_compare: Snap, language: str, kiosk_db: Path, open_station: Opener
) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await show_item(
            pilot, SessionPlan("DEMO-001", "V2", "vas_pain", "parent", language), "vas_pain"
        )
        await pilot.click("#skip")
        await wait_for(pilot, ConfirmDialog)

    app = kiosk_in(language, kiosk_db, open_station)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


async def _answer_vas_form(pilot: Pilot[None], language: str) -> None:
    await unlock(pilot, PASSPHRASE, NURSE, PIN)
    await show_item(
        pilot, SessionPlan("DEMO-001", "V2", "vas_pain", "parent", language), "vas_pain"
    )
    await pilot.press("right", "right", "right")
    await pilot.click("#next")
    await wait_for(pilot, ReviewScreen)


@pytest.mark.parametrize("language", LANGUAGES)
def test_review(snap_compare: Snap, language: str, kiosk_db: Path, open_station: Opener) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await _answer_vas_form(pilot, language)

    app = kiosk_in(language, kiosk_db, open_station)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


@pytest.mark.parametrize("language", LANGUAGES)
def test_thank_you(snap_compare: Snap, language: str, kiosk_db: Path, open_station: Opener) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await _answer_vas_form(pilot, language)
        await pilot.click("#submit")
        await wait_for(pilot, ThanksScreen)

    app = kiosk_in(language, kiosk_db, open_station)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


@pytest.mark.parametrize("language", LANGUAGES)
def test_give_the_kiosk_back(
    snap_compare: Snap, language: str, kiosk_db: Path, open_station: Opener
) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await _answer_vas_form(pilot, language)
        await pilot.click("#submit")
        await wait_for(pilot, ThanksScreen)
        await pilot.click("#continue")
        await wait_for(pilot, GiveBackScreen)

    app = kiosk_in(language, kiosk_db, open_station)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)
