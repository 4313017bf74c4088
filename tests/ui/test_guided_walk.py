"""One visit as one guided walk: where the respondent is, how to go on, and back to the review.

Each test drives the real app by keyboard on a real store and checks what the screen says or
what was stored.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import ListView, RadioButton, RadioSet, SelectionList, Static

from epro.kiosk.app import KioskApp
from epro.kiosk.i18n import tr
from epro.kiosk.screens.dialogs import ConfirmDialog, ErrorDialog, IdleWarning, PinDialog
from epro.kiosk.screens.enrol import EnrolDialog
from epro.kiosk.screens.handover import HandoverDialog
from epro.kiosk.screens.lock import LockScreen
from epro.kiosk.screens.questionnaire import QuestionnaireScreen
from epro.kiosk.screens.review import ReviewScreen
from epro.kiosk.screens.station import StationScreen
from epro.kiosk.screens.thanks import ThanksScreen
from epro.kiosk.widgets import VasScale
from epro.station import SessionPlan
from tests.helpers.flows import app_of, type_text, unlock, wait_for
from tests.helpers.ui_constants import NURSE, PASSPHRASE, PIN

pytestmark = pytest.mark.anyio
SIZE = (80, 24)


def text_of(pilot: Pilot[None], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).render())


def questionnaire(pilot: Pilot[None]) -> QuestionnaireScreen:
    screen = pilot.app.screen
    assert isinstance(screen, QuestionnaireScreen)
    return screen


def visit(language: str) -> list[SessionPlan]:
    """DEMO-001's four parent forms, the two short ones first."""
    return [
        SessionPlan("DEMO-001", "V2", form_id, "parent", language)
        for form_id in ("vas_pain", "vas_wellbeing", "chaq", "jamar")
    ]


async def test_the_form_and_its_place_in_the_visit_show_and_the_thank_you_names_the_next(
    kiosk: KioskApp,
) -> None:
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        app_of(pilot).begin(visit("en"))
        await wait_for(pilot, QuestionnaireScreen)
        assert text_of(pilot, "#form-title") == "Pain · questionnaire 1 of 4"
        await pilot.press("end", "enter", "enter")  # the marker at 100, confirmed, go on
        await wait_for(pilot, ReviewScreen)
        assert "Pain · questionnaire 1 of 4" in "\n".join(
            str(s.render()) for s in pilot.app.screen.query(Static)
        )
        await pilot.click("#submit")
        await wait_for(pilot, ThanksScreen)
        assert text_of(pilot, "#what-next") == "Next: How are you? (questionnaire 2 of 4)."
        await pilot.press("enter")
        await wait_for(pilot, QuestionnaireScreen)
        assert text_of(pilot, "#form-title") == "How are you? · questionnaire 2 of 4"


async def test_a_number_and_enter_answer_a_question_and_go_on(kiosk: KioskApp) -> None:
    # The path the hint shows: the option's number, then Enter (two keys a question).
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        app_of(pilot).begin([SessionPlan("DEMO-001", "V2", "chaq", "parent", "en")])
        await wait_for(pilot, QuestionnaireScreen)
        screen = questionnaire(pilot)
        assert "number" in text_of(pilot, "#hint")
        assert "Enter" in text_of(pilot, "#hint")
        await pilot.press("2", "enter")
        await pilot.pause()
        assert screen.session.value("chaq_dress_a") == 1
        assert screen.session.current.link_id == "chaq_dress_b"
        await pilot.press("down", "enter", "enter")  # arrows: choose, then go on
        await pilot.pause()
        assert screen.session.value("chaq_dress_b") == 0
        assert screen.session.current.link_id == "chaq_dress_c"


async def test_a_missing_answer_is_said_in_words(kiosk: KioskApp) -> None:
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        app_of(pilot).begin([SessionPlan("DEMO-001", "V2", "chaq", "parent", "nl")])
        await wait_for(pilot, QuestionnaireScreen)
        screen = questionnaire(pilot)
        await pilot.press("enter")  # nothing chosen yet
        await pilot.pause()
        assert screen.session.current.link_id == "chaq_dress_a"
        assert text_of(pilot, "#hint") == tr("nl", "missing_answer")


async def test_the_review_takes_arrows_at_once_and_a_changed_answer_returns_to_it(
    kiosk: KioskApp,
) -> None:
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        plan = SessionPlan("DEMO-001", "V2", "chaq", "parent", "en")
        app_of(pilot).begin([plan])
        await wait_for(pilot, QuestionnaireScreen)
        screen = questionnaire(pilot)
        for link_id in screen.session.form.link_ids:  # answered in the store, not by hand
            item = screen.session.form.item(link_id)
            if item.options and item.type.value == "choice":
                screen.session.answer(link_id, item.options[0].code)
        screen.session.go_to(screen.session.items()[-1].link_id)
        await screen.show_current()
        await pilot.press("end", "enter", "enter")
        await wait_for(pilot, ReviewScreen)
        review = pilot.app.screen
        listing = review.query_one(ListView)
        assert review.focused is listing  # not Submit: one Enter does not send the form
        await pilot.press("down")
        assert listing.index == 1
        await pilot.press("enter")  # the second question
        await wait_for(pilot, QuestionnaireScreen)
        changed = questionnaire(pilot)
        assert changed.session.current.link_id == "chaq_dress_b"
        await pilot.press("3", "enter")
        await wait_for(pilot, ReviewScreen)
        assert changed.session.value("chaq_dress_b") == 2


async def test_a_vas_reaches_both_ends_with_home_and_end(kiosk: KioskApp) -> None:
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        app_of(pilot).begin([SessionPlan("DEMO-001", "V2", "vas_pain", "parent", "en")])
        await wait_for(pilot, QuestionnaireScreen)
        vas = pilot.app.screen.query_one(VasScale)
        await pilot.press("home")
        assert vas.marker == 0
        await pilot.press("end")
        assert vas.marker == 100
        await pilot.press("enter")
        await pilot.pause()
        assert questionnaire(pilot).session.value("vas_pain") == 100


async def test_the_start_dialog_names_the_visit_and_its_forms_follow_the_respondent(
    kiosk: KioskApp,
) -> None:
    # DEMO-002 is 10: the child and the parent answer; each has its own forms.
    async with kiosk.run_test(size=SIZE) as pilot:
        await unlock(pilot, PASSPHRASE, NURSE, PIN)
        await pilot.press("down", "s")
        await wait_for(pilot, HandoverDialog)
        dialog = pilot.app.screen
        assert isinstance(dialog, HandoverDialog)
        assert "DEMO-002, visit V1" in str(dialog.query(".title").first().render())
        forms = dialog.query_one("#forms", SelectionList)
        child_forms = [str(forms.get_option_at_index(n).prompt) for n in range(forms.option_count)]
        assert "Everyday things (CHAQ)" in child_forms
        assert "chaq" not in child_forms
        parent = dialog.query_one("#respondent", RadioSet).query(RadioButton).last()
        parent.value = True
        await pilot.pause()
        parent_values = [forms.get_option_at_index(n).value for n in range(forms.option_count)]
        assert set(forms.selected) == set(parent_values)
        assert parent_values == [p.form_id for p in dialog.plans if p.respondent == "parent"]
        await pilot.click("#go")
        await wait_for(pilot, QuestionnaireScreen)
        assert questionnaire(pilot).plan.respondent == "parent"
        assert {p.respondent for p in app_of(pilot).queue} <= {"parent"}
        assert app_of(pilot).place == (1, len(parent_values))


async def test_escape_closes_every_dialog(kiosk: KioskApp) -> None:
    async with kiosk.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_text(pilot, PASSPHRASE)
        await pilot.press("enter")
        await wait_for(pilot, PinDialog)
        await pilot.press("escape")
        await wait_for(pilot, LockScreen)
        await unlock_with_pin(pilot)
        for key, dialog in (("s", HandoverDialog), ("e", EnrolDialog), ("c", ConfirmDialog)):
            await pilot.press(key)
            await wait_for(pilot, dialog)
            await pilot.press("escape")
            await wait_for(pilot, StationScreen)
        app = app_of(pilot)
        app.push_screen(ErrorDialog("title", "message"))
        await wait_for(pilot, ErrorDialog)
        await pilot.press("escape")
        await wait_for(pilot, StationScreen)
        app.begin([SessionPlan("DEMO-001", "V2", "chaq", "parent", "en")])
        await wait_for(pilot, QuestionnaireScreen)
        await pilot.click("#skip")
        await wait_for(pilot, ConfirmDialog)
        await pilot.press("escape")
        await wait_for(pilot, QuestionnaireScreen)
        assert questionnaire(pilot).session.value("chaq_dress_a") is None
        app.push_screen(IdleWarning("en"))
        await wait_for(pilot, IdleWarning)
        await pilot.press("escape")
        await wait_for(pilot, QuestionnaireScreen)


async def unlock_with_pin(pilot: Pilot[None]) -> None:
    await pilot.click("#unlock")
    await wait_for(pilot, PinDialog)
    await type_text(pilot, NURSE)
    await pilot.press("enter")
    await type_text(pilot, PIN)
    await pilot.press("enter")
    await wait_for(pilot, StationScreen)
