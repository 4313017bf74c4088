"""The kiosk shell: the size guard, one calm error path, enrolment and the staff screens."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from epro.kiosk.app import KioskApp, make_kiosk
from epro.kiosk.screens.dialogs import ErrorDialog
from epro.kiosk.screens.enrol import EnrolDialog
from epro.kiosk.screens.lock import LockScreen
from epro.kiosk.screens.patient import PatientScreen
from epro.kiosk.screens.station import StationScreen
from epro.kiosk.screens.too_small import TooSmallScreen
from tests.helpers.flows import type_text, unlock, wait_for
from tests.helpers.ui_constants import NURSE, PASSPHRASE, PIN

pytestmark = pytest.mark.anyio


async def test_a_too_small_terminal_is_refused_until_it_is_big_enough(kiosk: KioskApp) -> None:
    async with kiosk.run_test(size=(70, 20)) as pilot:
        await pilot.pause()
        assert isinstance(kiosk.screen, TooSmallScreen)
        assert "80×24" in str(kiosk.screen.query_one("#too-small").render())
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert isinstance(kiosk.screen, LockScreen)


async def test_an_unreadable_store_gives_a_dialog_not_a_traceback(tmp_path: Path) -> None:
    # One handler turns a failed worker into a calm dialog.
    db = tmp_path / "kiosk.db"
    db.write_bytes(b"this is not a database" * 100)
    app = make_kiosk(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, PASSPHRASE)
        await pilot.press("enter")
        await wait_for(pilot, ErrorDialog)
        message = str(app.screen.query_one("#error-message").render())
        assert "Traceback" not in message
        assert message  # staff see what is wrong (no session is running)
        await pilot.click("#ok")
        await wait_for(pilot, LockScreen)
        assert app.is_running


async def test_a_nurse_enrols_a_patient_who_then_shows_in_the_grid(kiosk: KioskApp) -> None:
    async with kiosk.run_test(size=(100, 32)) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("e")
        await wait_for(pilot, EnrolDialog)
        await type_text(pilot, "DEMO-010")
        await pilot.press("enter")
        await type_text(pilot, "2017-01")
        await pilot.press("enter")
        await pilot.press("enter")  # the baseline date starts as today (2026-03-10)
        await wait_for(pilot, StationScreen)
        station = kiosk.station
        assert station is not None
        assert "DEMO-010" in [row.code for row in station.patients_today()]
        assert kiosk.screen.query_one(DataTable).row_count == 3


async def test_enrolment_with_a_too_young_patient_explains_the_age_rule(kiosk: KioskApp) -> None:
    # instruments.md §1: ages 4–18 at baseline.
    async with kiosk.run_test(size=(100, 32)) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("e")
        await wait_for(pilot, EnrolDialog)
        await type_text(pilot, "DEMO-011")
        await pilot.press("enter")
        await type_text(pilot, "2024-01")
        await pilot.press("enter")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(kiosk.screen, EnrolDialog)
        assert "4–18" in str(kiosk.screen.query_one("#enrol-problem").render())


async def test_patient_detail_shows_every_visit_and_the_trend_series(kiosk: KioskApp) -> None:
    # Forms by their titles, respondents and scores in words: the ids are for the data manager.
    async with kiosk.run_test(size=(100, 32)) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("d")
        await wait_for(pilot, PatientScreen)
        text = " ".join(str(s.render()) for s in kiosk.screen.query("Static"))
        for name in ("V1", "V8", "Everyday things (CHAQ) · parent", "Pain (VAS)", "cJADAS-10"):
            assert name in text
        for form_id in ("vas_pain", "chaq·", "chaq_di", "cjadas10", "·parent"):
            assert form_id not in text
        await pilot.press("escape")
        await wait_for(pilot, StationScreen)


async def test_high_contrast_theme_is_used_when_asked(kiosk_db: Path) -> None:
    app = make_kiosk(kiosk_db, high_contrast=True)
    async with app.run_test(size=(100, 30)):
        assert app.theme == "epro-high-contrast"
        assert app.current_theme.background == "#000000"


async def test_lock_from_the_station_forgets_the_nurse(kiosk: KioskApp) -> None:
    async with kiosk.run_test(size=(100, 32)) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("l")
        await wait_for(pilot, LockScreen)
        assert kiosk.actor is None
        assert not kiosk.screen.query("#passphrase")  # the store stays open; the PIN is asked


@pytest.mark.parametrize("language", ["en", "nl"])
async def test_enrolment_keeps_its_labels_starts_on_today_and_says_what_is_wrong_in_sentences(
    kiosk: KioskApp, language: str
) -> None:
    from textual.widgets import Input, Label

    from epro.kiosk.i18n import tr

    kiosk.language = kiosk.staff_language = language
    async with kiosk.run_test(size=(80, 24)) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("e")
        await wait_for(pilot, EnrolDialog)
        dialog = kiosk.screen
        labels = [str(label.render()) for label in dialog.query(".field-label")]
        assert labels == [tr(language, key) for key in ("study_code", "birth_ym", "baseline")]
        assert dialog.query_one("#baseline", Input).value == "2026-03-10"  # the test's today
        problem = dialog.query_one("#enrol-problem", Label)
        for typed, expected in (
            (("Jan de Vries", "2017-01"), tr(language, "enrol_code_bad")),
            (("DEMO-012", "januari"), tr(language, "enrol_birth_bad")),
            (("DEMO-001", "2017-01"), tr(language, "enrol_taken", code="DEMO-001")),
        ):
            for field, text in zip(("#code", "#birth"), typed, strict=True):
                dialog.query_one(field, Input).value = text
            dialog.query_one("#baseline", Input).focus()
            await pilot.press("enter")  # Enter in the last field saves
            await pilot.pause()
            said = str(problem.render())
            assert said == expected
            assert said[0].isupper()
            assert said.endswith(".")
            assert problem.region.width <= 80  # the sentence wraps inside the dialog
            assert labels == [str(label.render()) for label in dialog.query(".field-label")]


async def test_the_nurse_switches_the_station_to_dutch_and_its_dialogs_follow(
    kiosk: KioskApp,
) -> None:
    # The site's language is English here; the nurse's own choice is one key away.
    from epro.kiosk.i18n import tr

    async with kiosk.run_test(size=(80, 24)) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("t")
        await wait_for(pilot, StationScreen)
        await pilot.pause()
        screen = kiosk.screen
        assert tr("nl", "station_title") in str(screen.query(".title").first().render())
        footer = {b.description for _, b, *_ in screen.active_bindings.values() if b.show}
        assert {"Starten", "Hervatten", "Inschrijven"} <= footer
        await pilot.press("e")
        await wait_for(pilot, EnrolDialog)
        assert str(kiosk.screen.query(".title").first().render()) == tr("nl", "enrol")
