"""SVG snapshots of every kiosk screen type, in English and Dutch.

Fixed terminal size (80×24, the smallest the kiosk runs in), fixed clock, steady cursor,
made-up study codes only. Regenerate with
``pytest tests/ui/test_snapshots.py --snapshot-update`` and review the SVGs before committing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import Select

from epro.forms.model import Form
from epro.kiosk.app import make_kiosk
from epro.kiosk.screens.dialogs import ConfirmDialog
from epro.kiosk.screens.grid import GridScreen
from epro.kiosk.screens.review import ReviewScreen
from epro.kiosk.screens.thanks import GiveBackScreen, ThanksScreen
from epro.schedule import Study
from epro.station import SessionPlan, Station
from epro.store import open_store
from epro.sync_client import map_http_error
from epro.sync_client import status as status_keys
from tests.helpers.flows import buttons_at_rest, show_item, steady_cursor, unlock, wait_for
from tests.helpers.station_bench import station_on, submit_form
from tests.helpers.ui_constants import NURSE, PASSPHRASE, PIN, clock

SIZE = (80, 24)  # the kiosk's own minimum (epro.kiosk.size.MIN_SIZE)
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
        await buttons_at_rest(pilot)

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


@pytest.fixture
def grid_db(kiosk_db: Path, forms: dict[str, Form], study: Study) -> Path:
    """DEMO-001's parent answered VAS pain at V2; one response waits to be sent."""
    store, station = station_on(kiosk_db, forms, study)
    submit_form(station, "DEMO-001", "V2", "vas_pain")
    store.close()
    return kiosk_db


@pytest.mark.parametrize("language", LANGUAGES)
def test_completion_grid(
    snap_compare: Snap, language: str, grid_db: Path, open_station: Opener
) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("g")
        await wait_for(pilot, GridScreen)

    app = kiosk_in(language, grid_db, open_station)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


@pytest.mark.parametrize("language", LANGUAGES)
def test_completion_grid_filtered_by_status(
    snap_compare: Snap, language: str, grid_db: Path, open_station: Opener
) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("g")
        await wait_for(pilot, GridScreen)
        pilot.app.screen.query_one("#status", Select).value = "due"
        await pilot.pause()

    app = kiosk_in(language, grid_db, open_station)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


@pytest.fixture
def troubled_db(grid_db: Path) -> Path:
    """An enrolled-looking kiosk whose last sync failed and whose clock is 7 minutes off.

    The server address is a closed loopback port and the timer is far off, so nothing runs
    while the snapshot is taken; the panel only reads these settings.
    """
    store = open_store(grid_db, passphrase=PASSPHRASE, clock=clock)
    with store.unit_of_work() as uow:
        uow.keys.set_setting(status_keys.SERVER_URL, "http://127.0.0.1:9")
        uow.keys.set_setting(status_keys.DEVICE_TOKEN, "not-a-real-token", secret=True)
        uow.keys.set_setting(status_keys.LAST_SUCCESS, "2026-03-10T08:15:00+00:00")
        uow.keys.set_setting(status_keys.LAST_ERROR, str(map_http_error(httpx.ConnectError("x"))))
        uow.keys.set_setting(status_keys.CLOCK_SKEW, "-420.0")
        uow.commit()
    store.close()
    return grid_db


@pytest.mark.parametrize("language", LANGUAGES)
def test_sync_panel_with_a_failed_sync_and_a_wrong_clock(
    snap_compare: Snap, language: str, troubled_db: Path, open_station: Opener
) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)

    app = kiosk_in(language, troubled_db, open_station)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)
