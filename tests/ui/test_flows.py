"""Kiosk flows under Pilot on a real encrypted SQLite store (DESIGN §5).

Each test drives the app like a nurse and a respondent would (keys and clicks), then opens the
store, or the sealed envelope with the study key, to check what was really kept.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from textual.pilot import Pilot

from epro.crypto import StudyPrivateKey, open_sealed
from epro.forms.model import NA, SKIPPED, AnswerValue, ItemType
from epro.kiosk.app import KioskApp
from epro.kiosk.screens.dialogs import ConfirmDialog, PinDialog
from epro.kiosk.screens.lock import LockScreen
from epro.kiosk.screens.questionnaire import QuestionnaireScreen
from epro.kiosk.screens.review import ReviewScreen
from epro.kiosk.screens.station import StationScreen
from epro.kiosk.screens.thanks import ThanksScreen
from epro.kiosk.widgets import VasScale
from epro.protocol import Envelope
from epro.scoring import score_form
from epro.session.submission import SEAL_INFO
from epro.store import ResponseStatus, open_store
from tests.helpers.flows import app_of, type_text, unlock, wait_for
from tests.helpers.ui_constants import NURSE, PASSPHRASE, PIN, clock

pytestmark = pytest.mark.anyio
SIZE = (100, 32)


async def start_first_patient(pilot: Pilot[None]) -> None:
    """DEMO-001 (6 years, so the parent answers) is the first row; start its queue."""
    await pilot.press("s")
    await pilot.pause()
    await pilot.click("#go")
    await wait_for(pilot, QuestionnaireScreen)


async def answer_current(pilot: Pilot[None], step: int) -> AnswerValue | None:
    """Answer the item on screen by keyboard, varying by step; returns what was entered."""
    screen = pilot.app.screen
    assert isinstance(screen, QuestionnaireScreen)
    item = screen.session.current
    if item.type is ItemType.CHOICE:
        if item.na_option and step % 7 == 3:
            await pilot.click("#na")  # chosen like an option; Next moves on
            await pilot.click("#next")
            await pilot.pause()
            return NA
        choice = step % len(item.options)
        await pilot.press(*["down"] * (choice + 1), "enter")
        value: AnswerValue | None = item.options[choice].code
    elif item.type is ItemType.CHECKLIST:
        await pilot.press("down", "space", "down", "down", "space")
        value = [str(item.options[0].code), str(item.options[2].code)]
    elif item.type is ItemType.VAS:
        await pilot.press("right", *["right"] * step, "pageup", "enter")
        value = 50 + step + 10
    else:
        value = None  # optional free text left empty
    await pilot.click("#next")
    await pilot.pause()
    return value


async def answer_whole_form(pilot: Pilot[None]) -> dict[str, AnswerValue]:
    entered: dict[str, AnswerValue] = {}
    step = 0
    while isinstance(pilot.app.screen, QuestionnaireScreen):
        link_id = pilot.app.screen.session.current.link_id
        value = await answer_current(pilot, step)
        if value is not None:
            entered[link_id] = value
        step += 1
        assert step < 80, "the questionnaire never reached the review"
    await wait_for(pilot, ReviewScreen)
    return entered


def sealed_document(db: Path, study_key: StudyPrivateKey, form_id: str) -> dict[str, object]:
    with open_store(db, passphrase=PASSPHRASE, clock=clock) as store, store.unit_of_work() as uow:
        metas = uow.responses.list(patient="DEMO-001", statuses=[ResponseStatus.SUBMITTED])
        meta = next(m for m in metas if m.form_id == form_id)
        entry = uow.outbox.get(meta.id)
    assert entry is not None
    envelope = Envelope.model_validate_json(entry.envelope_json)
    plain = open_sealed(base64.b64decode(envelope.sealed), study_key, info=SEAL_INFO)
    document: dict[str, object] = json.loads(plain)
    return document


async def test_chaq_answers_reach_the_sealed_envelope_exactly_as_entered_and_scored(
    kiosk: KioskApp, kiosk_db: Path, study_key: StudyPrivateKey
) -> None:
    # DESIGN §5.1–5.4; instruments.md §2.1 (every CHAQ item, devices, help, both VAS).
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await start_first_patient(pilot)
        entered = await answer_whole_form(pilot)
        assert {"chaq_devices", "chaq_help", "chaq_pain_vas", "chaq_wellbeing_vas"} <= set(entered)
        assert NA in entered.values()
        await pilot.click("#submit")
        await wait_for(pilot, ThanksScreen)
    document = sealed_document(kiosk_db, study_key, "chaq")
    assert document["answers"] == entered
    scores = document["scores"]
    assert isinstance(scores, dict)
    expected = score_form("chaq", entered).scores["chaq_di"]
    assert expected is not None
    assert scores["chaq_di"] == pytest.approx(expected)


async def test_a_confirmed_skip_is_stored_as_skipped_and_a_refused_one_is_not(
    kiosk: KioskApp,
) -> None:
    # instruments.md §5: skipping is explicit and needs a confirmation; it stores "skipped".
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await start_first_patient(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, QuestionnaireScreen)
        first = screen.session.current.link_id
        await pilot.click("#skip")
        await wait_for(pilot, ConfirmDialog)
        await pilot.click("#no")
        await wait_for(pilot, QuestionnaireScreen)
        assert screen.session.value(first) is None
        await pilot.click("#skip")
        await wait_for(pilot, ConfirmDialog)
        await pilot.click("#yes")
        await wait_for(pilot, QuestionnaireScreen)
        assert screen.session.value(first) == SKIPPED
        assert screen.session.current.link_id != first


async def test_timeout_locks_keeps_the_draft_and_only_a_nurse_resumes_it(
    kiosk: KioskApp, kiosk_db: Path, study_key: StudyPrivateKey
) -> None:
    # DESIGN §5.5: after a warning the kiosk locks; the draft stays; a nurse resumes it.
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await start_first_patient(pilot)
        first = await answer_current(pilot, 1)
        kiosk.settings.idle_warning_s, kiosk.settings.idle_lock_s = 0.05, 0.1
        await wait_for(pilot, LockScreen, tries=200)
        assert kiosk.session is None
        assert "DEMO" not in "".join(str(w.render()) for w in kiosk.screen.query("Static"))
        kiosk.settings.idle_warning_s, kiosk.settings.idle_lock_s = 600, 900
        await pilot.click("#unlock")  # the store is open: only the PIN is asked now
        await wait_for(pilot, PinDialog)
        await type_text(pilot, NURSE)
        await pilot.press("enter")
        await type_text(pilot, PIN)
        await pilot.press("enter")
        await wait_for(pilot, StationScreen)
        await pilot.press("r")
        await wait_for(pilot, ConfirmDialog)  # whose draft it is, before it is reopened
        await pilot.click("#yes")
        await wait_for(pilot, QuestionnaireScreen)
        screen = app_of(pilot).screen
        assert isinstance(screen, QuestionnaireScreen)
        assert screen.session.index == 1  # carries on where it stopped
        answers = {screen.session.items()[0].link_id: first}
        answers.update(await answer_whole_form(pilot))
        await pilot.click("#submit")
        await wait_for(pilot, ThanksScreen)
    assert sealed_document(kiosk_db, study_key, "chaq")["answers"] == answers


async def test_wrong_passphrase_says_so_and_keeps_the_kiosk_locked(kiosk: KioskApp) -> None:
    async with kiosk.run_test(size=SIZE) as pilot:
        await type_text(pilot, "not the passphrase")
        await pilot.press("enter")
        for _ in range(100):
            await pilot.pause(0.02)
            if "did not unlock" in str(kiosk.screen.query_one("#lock-problem").render()):
                break
        assert "did not unlock" in str(kiosk.screen.query_one("#lock-problem").render())
        assert isinstance(kiosk.screen, LockScreen)
        assert kiosk.station is None


async def test_a_wrong_pin_is_refused_and_the_station_stays_closed(kiosk: KioskApp) -> None:
    async with kiosk.run_test(size=SIZE) as pilot:
        await type_text(pilot, PASSPHRASE)
        await pilot.press("enter")
        await wait_for(pilot, PinDialog)
        await type_text(pilot, NURSE)
        await pilot.press("enter")
        await type_text(pilot, "9999")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(kiosk.screen, PinDialog)
        assert "not recognised" in str(kiosk.screen.query_one("#pin-problem").render())
        assert kiosk.actor is None


async def test_vas_on_screen_has_no_marker_until_the_respondent_acts(kiosk: KioskApp) -> None:
    # instruments.md §5, shown inside a real session (CHAQ pain VAS).
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await start_first_patient(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, QuestionnaireScreen)
        screen.session.go_to("chaq_pain_vas")
        await screen.show_current()
        vas = screen.query_one(VasScale)
        assert vas.marker is None
        await pilot.click("#next")  # Next without a marker stores nothing
        assert screen.session.value("chaq_pain_vas") is None
        assert screen.session.current.link_id == "chaq_pain_vas"


async def test_inactivity_first_warns_and_a_key_keeps_the_session(kiosk: KioskApp) -> None:
    # DESIGN §5.5: a warning comes before the lock; any key dismisses it.
    from epro.kiosk.screens.dialogs import IdleWarning

    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await start_first_patient(pilot)
        kiosk.settings.idle_warning_s = 0.05
        await wait_for(pilot, IdleWarning, tries=200)
        kiosk.settings.idle_warning_s = 600
        await pilot.press("space")
        await wait_for(pilot, QuestionnaireScreen)
        assert kiosk.session is not None


async def test_handover_in_dutch_runs_the_session_in_dutch_and_stores_the_language(
    kiosk: KioskApp, kiosk_db: Path
) -> None:
    # DESIGN §5.3: one language per session, chosen by the nurse at handover.
    from textual.widgets import RadioButton, RadioSet, SelectionList

    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("s")
        await pilot.pause()
        forms = kiosk.screen.query_one(SelectionList)
        forms.deselect("chaq")
        forms.deselect("jamar")
        kiosk.screen.query_one("#language", RadioSet).query(RadioButton).last().toggle()
        await pilot.click("#go")
        await wait_for(pilot, QuestionnaireScreen)
        screen = kiosk.screen
        assert isinstance(screen, QuestionnaireScreen)
        assert "Vraag 1 van 1" in str(screen.query_one("#progress-text").render())
        assert screen.query_one("#next").label.plain == "Volgende"  # type: ignore[attr-defined]
        assert screen.session.form.id == "vas_pain"
        assert kiosk.queue[0].form_id == "vas_wellbeing"
    with (
        open_store(kiosk_db, passphrase=PASSPHRASE, clock=clock) as store,
        store.unit_of_work() as uow,
    ):
        drafts = uow.responses.list(patient="DEMO-001")
    assert [(m.form_id, m.language) for m in drafts] == [("vas_pain", "nl")]


async def test_review_lists_every_answer_and_a_line_leads_back_to_change_it(
    kiosk: KioskApp,
) -> None:
    # instruments.md §5: Back is allowed until Submit; the review lists every answer.
    from textual.widgets import ListView

    from epro.station import SessionPlan

    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        kiosk.begin([SessionPlan("DEMO-001", "V2", "vas_wellbeing", "parent", "en")])
        await wait_for(pilot, QuestionnaireScreen)
        await pilot.press("left", "enter")
        await pilot.click("#next")
        await wait_for(pilot, ReviewScreen)
        lines = kiosk.screen.query_one(ListView)
        assert len(lines) == 1
        assert "50 / 100" in str(lines.query("Label").first().render())
        lines.focus()
        await pilot.press("enter")
        await wait_for(pilot, QuestionnaireScreen)
        vas = kiosk.screen.query_one(VasScale)
        assert vas.marker == 50  # the respondent's own answer, not a default
        await pilot.press("pagedown", "enter")
        await pilot.click("#next")
        await wait_for(pilot, ReviewScreen)
        assert "40 / 100" in str(kiosk.screen.query("Label").first().render())


async def test_a_number_out_of_range_keeps_the_question_on_screen_with_the_range(
    kiosk: KioskApp,
) -> None:
    # instruments.md §2.4: active_joints is 0–71; bad input gets a message, never an answer.
    from epro.station import SessionPlan

    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        kiosk.begin([SessionPlan("DEMO-001", "V2", "clinician", "staff", "en")])
        await wait_for(pilot, QuestionnaireScreen)
        screen = kiosk.screen
        assert isinstance(screen, QuestionnaireScreen)
        screen.session.go_to("active_joints")
        await screen.show_current()
        await type_text(pilot, "99")
        await pilot.click("#next")
        await pilot.pause()
        assert screen.session.current.link_id == "active_joints"
        assert screen.session.value("active_joints") is None
        assert "0 to 71" in str(screen.query_one("#problem").render())
        screen.query_one("#entry").focus()
        await pilot.press("backspace", "backspace", "1", "2")
        await pilot.click("#next")
        await pilot.pause()
        assert screen.session.value("active_joints") == 12
        assert screen.session.current.link_id != "active_joints"


async def test_clinician_data_with_the_repeat_infusion_items_left_empty_or_answered(
    kiosk: KioskApp, kiosk_db: Path, study_key: StudyPrivateKey
) -> None:
    # instruments.md §4.1: clinician 1.1.0 asks infusion_given and disqualifying_treatment;
    # both are optional (the form cannot see the visit): Next passes an empty one, and a yes
    # chosen by keyboard is sealed as true.
    from epro.station import SessionPlan

    typed = {
        "phys_global": "4.5",
        "active_joints": "6",
        "active_joints_27": "5",
        "limited_joints": "3",
        "esr": "30",
        "crp": "",
    }
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        kiosk.begin([SessionPlan("DEMO-001", "V2", "clinician", "staff", "en")])
        await wait_for(pilot, QuestionnaireScreen)
        screen = kiosk.screen
        assert isinstance(screen, QuestionnaireScreen)
        while isinstance(kiosk.screen, QuestionnaireScreen):
            link_id = screen.session.current.link_id
            if link_id in typed:
                await type_text(pilot, typed[link_id])
            elif link_id == "jia_course":
                await pilot.press("down", "down", "enter")  # poly
            elif link_id == "disqualifying_treatment":
                await pilot.press("down", "enter")  # yes
            await pilot.click("#next")
            await pilot.pause()
        await wait_for(pilot, ReviewScreen)
        await pilot.click("#submit")
        await wait_for(pilot, ThanksScreen)
    document = sealed_document(kiosk_db, study_key, "clinician")
    assert document["form_version"] == "1.1.0"
    answers = document["answers"]
    assert isinstance(answers, dict)
    assert "infusion_given" not in answers
    assert answers["disqualifying_treatment"] is True
    assert answers["jia_course"] == "poly"
    assert answers["esr"] == 30
