"""Data integrity at the kiosk: each test replays the keys of a reported problem under Pilot.

Every test drives the real app on a real encrypted store and then reads back what was stored
(the store, or the session the screen drives), never only what a screen shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from epro.forms.model import NA, AnswerValue
from epro.kiosk.app import KioskApp
from epro.kiosk.screens.dialogs import ConfirmDialog, PinDialog
from epro.kiosk.screens.lock import LockScreen
from epro.kiosk.screens.questionnaire import QuestionnaireScreen
from epro.kiosk.screens.review import ReviewScreen
from epro.kiosk.screens.station import StationScreen
from epro.kiosk.screens.thanks import ThanksScreen
from epro.station import SessionPlan
from epro.store import ResponseStatus, open_store
from tests.helpers.flows import app_of, type_text, unlock, wait_for
from tests.helpers.ui_constants import NURSE, PASSPHRASE, PIN, TODAY, clock

pytestmark = pytest.mark.anyio
SIZE = (100, 32)

Stored = dict[tuple[str, str, str, str], tuple[ResponseStatus, dict[str, AnswerValue]]]


def stored(db: Path) -> Stored:
    """Every response in the store: (patient, visit, form, respondent) → (status, answers)."""
    found: Stored = {}
    with open_store(db, passphrase=PASSPHRASE, clock=clock) as store, store.unit_of_work() as uow:
        for meta in uow.responses.list():
            key = (meta.patient, meta.visit, meta.form_id, meta.respondent)
            found[key] = (meta.status, uow.answers.load(meta))
    return found


def shown_text(pilot: Pilot[None]) -> str:
    """Every text on the screen on top (dialogs included), as the nurse reads it."""
    return "\n".join(str(static.render()) for static in pilot.app.screen.query(Static))


def questionnaire(pilot: Pilot[None]) -> QuestionnaireScreen:
    screen = pilot.app.screen
    assert isinstance(screen, QuestionnaireScreen)
    return screen


async def start_chaq(pilot: Pilot[None]) -> QuestionnaireScreen:
    await unlock(pilot, PASSPHRASE, NURSE, PIN)
    app_of(pilot).begin([SessionPlan("DEMO-001", "V2", "chaq", "parent", "en")])
    await wait_for(pilot, QuestionnaireScreen)
    return questionnaire(pilot)


async def unlock_again(pilot: Pilot[None]) -> None:
    """After a lock the store stays open: only the nurse's name and PIN are asked."""
    await pilot.click("#unlock")
    await wait_for(pilot, PinDialog)
    await type_text(pilot, NURSE)
    await pilot.press("enter")
    await type_text(pilot, PIN)
    await pilot.press("enter")
    await wait_for(pilot, StationScreen)


# --- 1. focus order and "not applicable" ---------------------------------------------------


async def test_tab_three_times_and_enter_never_stores_not_applicable_over_a_chosen_answer(
    kiosk: KioskApp, kiosk_db: Path
) -> None:
    # instruments.md §2 and §5: "na" is an answer the respondent gives, never one the kiosk
    # puts in place of the answer chosen. Reported: on question 1 Tab ×3 reached Next, on
    # later questions the same keys reached "not applicable", which replaced the chosen
    # answer and moved on, twice in one visit.
    async with kiosk.run_test(size=SIZE) as pilot:
        await start_chaq(pilot)
        for option in (0, 1, 2):  # the parent's answers to questions 1, 2 and 3
            await pilot.press(*["down"] * (option + 1), "enter")
            await pilot.press("tab", "tab", "tab", "enter")
            await pilot.pause()
    answers = stored(kiosk_db)[("DEMO-001", "V2", "chaq", "parent")][1]
    chosen = {"chaq_dress_a": 0, "chaq_dress_b": 1, "chaq_dress_c": 2}
    assert answers["chaq_dress_a"] == 0
    assert {link_id: chosen.get(link_id) for link_id in answers} == answers


async def tab_stops(pilot: Pilot[None]) -> list[str]:
    """The ids Tab reaches from the answer, in order, until it comes back to the answer."""
    screen = questionnaire(pilot)
    answer = screen.focused
    stops: list[str] = []
    for _ in range(10):
        await pilot.press("tab")
        if screen.focused is answer:
            return stops
        stops.append(str(screen.focused.id if screen.focused is not None else None))
    raise AssertionError(f"Tab never came back to the answer: {stops}")


async def test_tab_reaches_the_same_buttons_in_the_same_order_on_every_question(
    kiosk: KioskApp,
) -> None:
    # instruments.md §5 (Back is allowed until Submit): the first Tab from the answer is Next
    # on every question, and the others keep their order; on question 1, which has no Back,
    # no other button moves up in its place.
    async with kiosk.run_test(size=SIZE) as pilot:
        screen = await start_chaq(pilot)
        seen: dict[str, list[str]] = {}
        for link_id in ("chaq_dress_a", "chaq_dress_b", "chaq_dress_c", "chaq_devices"):
            screen.session.go_to(link_id)
            await screen.show_current()
            await pilot.pause()
            seen[link_id] = await tab_stops(pilot)
        await pilot.pause()
    assert seen["chaq_dress_a"] == ["next", "skip", "na"]
    assert seen["chaq_dress_b"] == seen["chaq_dress_c"] == ["next", "skip", "na", "back"]
    assert seen["chaq_devices"] == ["next", "skip", "back"]  # a checklist has no "na"


async def test_not_applicable_only_selects_and_asks_before_it_replaces_an_answer(
    kiosk: KioskApp, kiosk_db: Path
) -> None:
    # instruments.md §2: "na" is an answer, so it is chosen like one and Next moves on; over
    # an answer already chosen it asks first, and "no" keeps that answer.
    async with kiosk.run_test(size=SIZE) as pilot:
        screen = await start_chaq(pilot)
        await pilot.click("#na")  # question 1 has no answer yet
        await pilot.pause()
        assert screen.session.value("chaq_dress_a") == NA
        assert screen.session.current.link_id == "chaq_dress_a"
        assert str(screen.query_one("#hint").render()).startswith('Your answer: "')
        assert screen.focused is not None
        assert screen.focused.id == "next"
        await pilot.press("enter")
        await pilot.pause()
        assert screen.session.current.link_id == "chaq_dress_b"
        await pilot.press("down", "down", "enter")  # question 2: "with some difficulty"
        await pilot.click("#na")
        await wait_for(pilot, ConfirmDialog)
        await pilot.click("#no")
        await wait_for(pilot, QuestionnaireScreen)
        assert screen.session.value("chaq_dress_b") == 1
        await pilot.click("#na")
        await wait_for(pilot, ConfirmDialog)
        await pilot.click("#yes")
        await wait_for(pilot, QuestionnaireScreen)
        assert screen.session.current.link_id == "chaq_dress_b"
    answers = stored(kiosk_db)[("DEMO-001", "V2", "chaq", "parent")][1]
    assert answers == {"chaq_dress_a": NA, "chaq_dress_b": NA}


# --- 2. typed numbers ----------------------------------------------------------------------


async def enter_number(
    pilot: Pilot[None], link_id: str, typed: str, *, enter: bool = False
) -> QuestionnaireScreen:
    """Bring ``link_id`` of the clinician form on screen, type ``typed``, then Next (or Enter
    in the field, which stores the answer and stays)."""
    screen = questionnaire(pilot)
    screen.session.go_to(link_id)
    await screen.show_current()
    await pilot.pause()
    await type_text(pilot, typed)
    if enter:
        await pilot.press("enter")
    else:
        await pilot.click("#next")
    await pilot.pause()
    return screen


async def start_clinician(pilot: Pilot[None]) -> None:
    await unlock(pilot, PASSPHRASE, NURSE, PIN)
    app_of(pilot).begin([SessionPlan("DEMO-001", "V2", "clinician", "staff", "en")])
    await wait_for(pilot, QuestionnaireScreen)


async def test_a_decimal_comma_is_read_as_the_decimal_separator(
    kiosk: KioskApp, kiosk_db: Path
) -> None:
    # instruments.md §2.4 (clinician data): a value is stored as typed or refused, never
    # altered. Reported: "3,5" became 35 and an ESR of "2,5" was stored as 25.0.
    async with kiosk.run_test(size=SIZE) as pilot:
        await start_clinician(pilot)
        screen = await enter_number(pilot, "phys_global", "3,5", enter=True)
        assert str(screen.query_one("#problem").render()) == ""
        screen = await enter_number(pilot, "esr", "2,5")
        assert screen.session.current.link_id != "esr"
    answers = stored(kiosk_db)[("DEMO-001", "V2", "clinician", "staff")][1]
    assert answers == {"phys_global": 3.5, "esr": 2.5}


async def test_a_typed_number_that_cannot_be_read_never_lets_an_earlier_answer_stand_for_it(
    kiosk: KioskApp, kiosk_db: Path
) -> None:
    # instruments.md §2.4: what is on screen is what is stored, or the question stays with a
    # message; Next must not move on keeping the earlier answer while showing another.
    async with kiosk.run_test(size=SIZE) as pilot:
        await start_clinician(pilot)
        screen = await enter_number(pilot, "active_joints", "35")
        screen.session.back()  # the nurse goes back to correct it
        await screen.show_current()
        await pilot.pause()
        await pilot.press("backspace", "backspace", *"3,5")
        await pilot.click("#next")
        await pilot.pause()
        assert screen.session.current.link_id == "active_joints"
        assert "whole number" in str(screen.query_one("#problem").render())
    answers = stored(kiosk_db)[("DEMO-001", "V2", "clinician", "staff")][1]
    assert answers == {"active_joints": 35}


@pytest.mark.parametrize(
    ("link_id", "typed", "problem"),
    [
        ("active_joints", "3,5", "whole number"),
        ("active_joints", "3.5", "whole number"),
        ("active_joints", "1.000", "whole number"),
        ("esr", "1.000", "thousands"),
        ("esr", "1,000", "thousands"),
        ("esr", "1.000,5", "thousands"),
        ("esr", "2,5 mm", "not a number"),
    ],
)
async def test_a_number_the_kiosk_cannot_read_for_sure_is_refused_with_a_message(
    kiosk: KioskApp, kiosk_db: Path, link_id: str, typed: str, problem: str
) -> None:
    # instruments.md §2.4: a whole-number field takes no decimals, and a point or comma that
    # may separate thousands ("1.000" is 1000 in Dutch, 1 in English) is never guessed at.
    async with kiosk.run_test(size=SIZE) as pilot:
        await start_clinician(pilot)
        screen = await enter_number(pilot, link_id, typed)
        assert screen.session.current.link_id == link_id
        assert problem in str(screen.query_one("#problem").render())
    assert stored(kiosk_db)[("DEMO-001", "V2", "clinician", "staff")][1] == {}


# --- 3. which patient, visit and respondent ------------------------------------------------


async def test_the_station_cursor_stays_on_its_row_after_a_dialog_so_the_data_go_to_that_patient(
    kiosk: KioskApp, kiosk_db: Path
) -> None:
    # DESIGN §5.3: a session is for one patient, visit and respondent, the one the nurse
    # chose. Reported: the cursor jumped back to the first row after every dialog, and the
    # clinician data went to the first patient.
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("down")  # DEMO-002, the second row
        await pilot.press("s")  # the handover dialog, then Cancel
        await pilot.pause()
        await pilot.click("#cancel")
        await wait_for(pilot, StationScreen)
        await pilot.press("d")  # the patient detail, then back
        await pilot.pause()
        await pilot.press("escape")
        await wait_for(pilot, StationScreen)
        await pilot.press("c")  # clinician data: the nurse is asked to check whose first
        await wait_for(pilot, ConfirmDialog)
        assert "Patient DEMO-002 · visit V1 · respondent: staff" in shown_text(pilot)
        await pilot.click("#yes")
        await wait_for(pilot, QuestionnaireScreen)
        assert "Patient DEMO-002 · visit V1 · respondent: staff" in shown_text(pilot)
        await type_text(pilot, "4")
        await pilot.press("enter")
        await pilot.pause()
    clinician = {key[:2] for key in stored(kiosk_db) if key[2] == "clinician"}
    assert clinician == {("DEMO-002", "V1")}


async def test_the_station_cursor_follows_its_patient_when_an_enrolment_adds_a_row_above(
    kiosk: KioskApp,
) -> None:
    # DESIGN §5.2: the rows are refilled after the enrol dialog; the cursor keeps its patient,
    # not its place, when the new patient sorts in above.
    from epro.kiosk.screens.enrol import EnrolDialog
    from epro.kiosk.widgets.completion_table import CompletionTable

    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("down", "e")
        await wait_for(pilot, EnrolDialog)
        await type_text(pilot, "DEMO-000")
        await pilot.press("enter")
        await type_text(pilot, "2016-01")
        await pilot.press("enter")
        assert pilot.app.screen.query_one("#baseline", Input).value == TODAY.isoformat()
        await pilot.press("enter")  # the baseline date is today's already
        await wait_for(pilot, StationScreen)
        table = pilot.app.screen.query_one(CompletionTable)
        assert table.row_count == 3
        assert table.selected_patient() == "DEMO-002"


async def test_clinician_data_start_only_once_the_nurse_confirms_whose_they_are(
    kiosk: KioskApp, kiosk_db: Path
) -> None:
    # DESIGN §5.3: staff data are for one patient and visit; Cancel starts nothing.
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("c")
        await wait_for(pilot, ConfirmDialog)
        assert "Patient DEMO-001 · visit V2" in shown_text(pilot)
        await pilot.click("#no")
        await wait_for(pilot, StationScreen)
        assert kiosk.session is None
    assert stored(kiosk_db) == {}


async def test_resume_names_the_patient_visit_form_and_respondent_before_reopening_a_draft(
    kiosk: KioskApp, kiosk_db: Path
) -> None:
    # DESIGN §5.5: only a nurse resumes a draft, so she sees whose it is before handing over.
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        station = app_of(pilot).station
        assert station is not None
        draft = station.start(SessionPlan("DEMO-002", "V1", "jamar", "child", "en"), actor=NURSE)
        await pilot.press("down", "r")  # DEMO-002
        await wait_for(pilot, ConfirmDialog)
        text = shown_text(pilot)
        assert "Patient DEMO-002 · visit V1 · respondent: child" in text
        assert "Form: How is it going?" in text  # the title, not the id
        await pilot.click("#yes")
        await wait_for(pilot, QuestionnaireScreen)
        assert kiosk.session is not None
        assert kiosk.session.response_id == draft.response_id
        await pilot.press("down", "enter")  # the child's first answer
        await pilot.pause()
    answers = stored(kiosk_db)[("DEMO-002", "V1", "jamar", "child")][1]
    assert answers == {"jamar_jafs_01": 0}


# --- 4. the queue after a lock ---------------------------------------------------------------


async def test_resuming_after_an_inactivity_lock_carries_on_with_the_rest_of_the_queue(
    kiosk: KioskApp, kiosk_db: Path
) -> None:
    # DESIGN §5.4–5.5: after the lock only a nurse resumes, and the session goes on with
    # the forms of the queue still to come. Reported: after a lock and resume the rest of
    # the visit's queue silently disappeared.
    from textual.widgets import SelectionList

    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("s")
        await pilot.pause()
        forms = kiosk.screen.query_one(SelectionList)
        forms.deselect("chaq")
        forms.deselect("jamar")  # the queue: vas_pain, then vas_wellbeing
        await pilot.click("#go")
        await wait_for(pilot, QuestionnaireScreen)
        await pilot.press("right", "enter")  # vas_pain placed at 50 and confirmed
        kiosk.settings.idle_warning_s, kiosk.settings.idle_lock_s = 0.05, 0.1
        await wait_for(pilot, LockScreen, tries=200)
        kiosk.settings.idle_warning_s, kiosk.settings.idle_lock_s = 600, 900
        await unlock_again(pilot)
        await pilot.press("r")
        await wait_for(pilot, ConfirmDialog)
        assert "Then: How are you?" in shown_text(pilot)  # the nurse sees what follows
        await pilot.click("#yes")
        await wait_for(pilot, QuestionnaireScreen)
        await pilot.click("#next")
        await wait_for(pilot, ReviewScreen)
        await pilot.click("#submit")
        await wait_for(pilot, ThanksScreen)
        await pilot.press("enter")
        for _ in range(20):
            await pilot.pause(0.02)
    responses = stored(kiosk_db)
    assert responses[("DEMO-001", "V2", "vas_pain", "parent")] == (
        ResponseStatus.SUBMITTED,
        {"vas_pain": 50},
    )
    assert responses[("DEMO-001", "V2", "vas_wellbeing", "parent")][0] is (
        ResponseStatus.IN_PROGRESS
    )
