"""The completion grid (filters by visit and status) and the sync panel, under Pilot.

Real encrypted stores in tmp_path; sync tests run against the real study server on 127.0.0.1
(``epro_sync.testing.running_server``), with a second kiosk of the same site submitting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from rich.text import Text
from textual.pilot import Pilot

from epro.crypto import FAST_KDF, StudyPrivateKey
from epro.forms.model import Form
from epro.kiosk.app import KioskApp, make_kiosk
from epro.kiosk.screens.grid import GridScreen
from epro.kiosk.screens.station import StationScreen
from epro.kiosk.widgets.completion_table import CompletionTable
from epro.kiosk.widgets.sync_panel import SyncPanel
from epro.schedule import Study
from epro.station import Station
from epro.store import init_store
from epro.sync_client import SyncClient
from epro_sync.config import ServerSettings
from epro_sync.testing import RunningServer, running_server
from tests.helpers.flows import app_of, unlock, wait_for
from tests.helpers.station_bench import enrol, revoke, station_on, submit_form
from tests.helpers.ui_constants import NURSE, PASSPHRASE, PIN, clock

pytestmark = pytest.mark.anyio
SIZE = (100, 32)
Opener = Callable[[str], Station]


def grid_cells(pilot: Pilot[None]) -> dict[str, dict[str, str]]:
    """What the grid shows: row key → column key → glyph (empty cells left out)."""
    table = pilot.app.screen.query_one(CompletionTable)
    shown: dict[str, dict[str, str]] = {}
    for row_key in table.rows:
        row: dict[str, str] = {}
        for column_key in list(table.columns)[2:]:
            value = table.get_cell(row_key, column_key)
            text = value.plain if isinstance(value, Text) else value
            if text:
                row[str(column_key.value)] = text
        shown[str(row_key.value)] = row
    return shown


async def open_grid(pilot: Pilot[None]) -> GridScreen:
    await unlock(pilot, PASSPHRASE, NURSE, PIN)
    await pilot.press("g")
    await wait_for(pilot, GridScreen)
    screen = pilot.app.screen
    assert isinstance(screen, GridScreen)
    return screen


async def choose(
    pilot: Pilot[None], screen: GridScreen, visit: str | None, status: str | None
) -> None:
    """Set the two filters as the nurse would; None shows all."""
    from textual.widgets import Select

    for name, value in (("visit", visit), ("status", status)):
        select: Select[str] = screen.query_one(f"#{name}", Select)
        if value is None:
            select.clear()
        else:
            select.value = value
    await pilot.pause()
    await pilot.pause()


@pytest.fixture
def one_submitted(kiosk_db: Path, forms: Mapping[str, Form], study: Study) -> Path:
    """DEMO-001's parent answered VAS pain at V2 (the kiosk_db has no responses otherwise)."""
    store, station = station_on(kiosk_db, forms, study)
    submit_form(station, "DEMO-001", "V2", "vas_pain")
    store.close()
    return kiosk_db


async def test_grid_shows_every_patient_at_every_kiosk_visit_and_filters_by_visit(
    one_submitted: Path, open_station: Opener, study: Study
) -> None:
    app = make_kiosk(one_submitted, opener=open_station, idle_warning_s=600, idle_lock_s=900)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_grid(pilot)
        kiosk_visits = [v.code for v in study.visits if v.kiosk]
        assert "V0" not in kiosk_visits  # screening has no kiosk forms
        expected = {
            f"{code}|{visit}" for code in ("DEMO-001", "DEMO-002") for visit in kiosk_visits
        }
        assert set(grid_cells(pilot)) == expected

        await choose(pilot, screen, "V2", None)
        shown = grid_cells(pilot)
        assert set(shown) == {"DEMO-001|V2", "DEMO-002|V2"}
        assert shown["DEMO-001|V2"]["vas_pain|parent"] == "●"  # submitted: glyph, not colour only


async def test_grid_filters_by_status_and_shows_only_the_matching_cells(
    one_submitted: Path, open_station: Opener
) -> None:
    app = make_kiosk(one_submitted, opener=open_station, idle_warning_s=600, idle_lock_s=900)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_grid(pilot)
        await choose(pilot, screen, None, "submitted")
        assert grid_cells(pilot) == {"DEMO-001|V2": {"vas_pain|parent": "●"}}

        await choose(pilot, screen, None, "due")
        shown = grid_cells(pilot)
        assert set(shown) == {"DEMO-001|V2", "DEMO-002|V1"}
        assert "vas_pain|parent" not in shown["DEMO-001|V2"]
        assert set(shown["DEMO-001|V2"].values()) == {"○"}

        await choose(pilot, screen, "V5", "submitted")
        assert grid_cells(pilot) == {}
        assert "No questionnaire matches" in str(screen.query_one("#grid-status").render())


async def test_an_offline_kiosk_says_so_and_runs_no_sync(kiosk: KioskApp) -> None:
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        panel = pilot.app.screen.query_one(SyncPanel)
        assert "not connected to a study server (offline kiosk)" in panel.shown.plain.lower()
        assert app_of(pilot).background is None
        await pilot.press("y")  # Sync now: a calm note, nothing runs
        await pilot.pause()
        assert app_of(pilot).background is None
        assert not pilot.app.workers


# ----------------------------------------------------------------------- with a live server


@pytest.fixture
def server(tmp_path: Path, study_key: StudyPrivateKey) -> Iterator[RunningServer]:
    key_file = tmp_path / "study-public.json"
    key_file.write_text(study_key.public_key().to_json(), encoding="utf-8")
    settings = ServerSettings(
        database_url=f"sqlite:///{tmp_path / 'server.sqlite3'}", study_public_key_file=key_file
    )
    with running_server(settings) as running:
        yield running


@pytest.fixture
def enrolled(
    kiosk_db: Path, server: RunningServer, forms: Mapping[str, Form], study: Study
) -> tuple[Path, str]:
    """The Pilot kiosk, enrolled with the server, with one response waiting to be sent."""
    store, station = station_on(kiosk_db, forms, study)
    device_id = enrol(store, server.url, server.code("DEMO"), "kiosk A")
    submit_form(station, "DEMO-001", "V2", "vas_pain")
    store.close()
    return kiosk_db, device_id


def other_kiosk_submits(
    tmp_path: Path, server: RunningServer, forms: Mapping[str, Form], study: Study
) -> None:
    """Kiosk B of the same site enrols DEMO-001 too, submits VAS well-being at V2, syncs."""
    store = init_store(
        tmp_path / "kiosk-b.db",
        passphrase=PASSPHRASE,
        site="DEMO",
        nurse_name=NURSE,
        nurse_pin=PIN,
        kdf=FAST_KDF,
        clock=clock,
    )
    station = Station(store, forms, study, clock)
    enrol(store, server.url, server.code("DEMO"), "kiosk B")
    from datetime import timedelta

    from tests.helpers.ui_constants import TODAY

    station.enrol("DEMO-001", "2019-11", TODAY - timedelta(weeks=4), actor=NURSE)
    submit_form(station, "DEMO-001", "V2", "vas_wellbeing")
    report = SyncClient(store, acknowledger=station.sessions).sync_once()
    store.close()
    assert report.error is None, str(report.error)
    assert report.acknowledged == 1


async def until(pilot: Pilot[None], done: Callable[[], bool], seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if done():
            await pilot.pause()
            return
        await pilot.pause(0.05)
    raise AssertionError("the kiosk did not get there in time")


async def test_sync_now_sends_the_queue_and_the_grid_shows_the_other_kiosks_submission(
    enrolled: tuple[Path, str],
    open_station: Opener,
    server: RunningServer,
    tmp_path: Path,
    forms: Mapping[str, Form],
    study: Study,
) -> None:
    other_kiosk_submits(tmp_path, server, forms, study)
    app = make_kiosk(enrolled[0], opener=open_station, idle_warning_s=600, idle_lock_s=900)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_grid(pilot)
        panel = screen.query_one(SyncPanel)
        assert "Waiting to send: 1" in panel.shown.plain
        assert "Last successful sync: never" in panel.shown.plain
        row = grid_cells(pilot)["DEMO-001|V2"]
        assert row["vas_wellbeing|parent"] == "○"  # due here: this kiosk has not heard yet

        await pilot.press("y")
        await until(pilot, lambda: "Waiting to send: 0" in panel.shown.plain)
        assert "No sync problems." in panel.shown.plain
        assert "never" not in panel.shown.plain
        row = grid_cells(pilot)["DEMO-001|V2"]
        assert row["vas_wellbeing|parent"] == "✔"  # submitted on kiosk B, now on the server
        assert row["vas_pain|parent"] == "✔"  # this kiosk's own, acknowledged by the server
        assert isinstance(pilot.app.screen, GridScreen)  # the UI stayed where the nurse was


async def test_a_submit_kicks_the_background_sync_which_empties_the_queue(
    enrolled: tuple[Path, str], open_station: Opener
) -> None:
    from epro.kiosk.screens.review import ReviewScreen
    from epro.kiosk.screens.thanks import ThanksScreen
    from epro.station import SessionPlan
    from tests.helpers.flows import show_item

    app = make_kiosk(enrolled[0], opener=open_station, idle_warning_s=600, idle_lock_s=900)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        kiosk = app_of(pilot)
        assert kiosk.background is not None  # enrolled: started at unlock
        station = kiosk.station
        assert station is not None
        await show_item(
            pilot, SessionPlan("DEMO-001", "V2", "vas_wellbeing", "parent", "en"), "vas_wellbeing"
        )
        await pilot.press("right", "right")
        await pilot.click("#next")
        await wait_for(pilot, ReviewScreen)
        assert station.sync.status().queue == 1
        await pilot.click("#submit")
        await wait_for(pilot, ThanksScreen)
        await until(pilot, lambda: station.sync.status().last_success is not None)
        assert station.sync.status().queue == 0
        kiosk.lock()
        await pilot.pause()
        assert kiosk.background is None  # stopped on lock


async def test_a_revoked_kiosk_shows_what_to_do_and_keeps_its_data(
    enrolled: tuple[Path, str], open_station: Opener, server: RunningServer
) -> None:
    revoke(server.settings, enrolled[1])
    app = make_kiosk(enrolled[0], opener=open_station, idle_warning_s=600, idle_lock_s=900)
    async with app.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        panel = pilot.app.screen.query_one(SyncPanel)
        await pilot.press("y")
        await until(pilot, lambda: "no longer accepts this kiosk" in panel.shown.plain)
        assert "Do not reset or wipe it" in panel.shown.plain
        assert "Ask the data manager to reinstate it" in panel.shown.plain
        assert "Waiting to send: 1" in panel.shown.plain
        assert isinstance(pilot.app.screen, StationScreen)  # no crash, no dialog in the way
        station = app_of(pilot).station
        assert station is not None
        with station.store.unit_of_work() as uow:
            (meta,) = uow.responses.list(patient="DEMO-001")
            assert not meta.purged
            assert uow.answers.load(meta)  # the answers are still on the kiosk
    assert app.background is None  # stopped when the app exits
