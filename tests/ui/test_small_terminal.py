"""Every screen at 80×24, the kiosk's own minimum, in English and in Dutch.

One walk per language visits every screen type: the lock screen and the PIN, the station and
each of its dialogs, the grid and a patient's detail, every question of every form (for a
parent and for a child, also with the "no answer yet" words showing), the skip and
"not applicable" questions, the review, the thank-you and the hand-back, the inactivity
warning. At each stop, every widget that matters (texts, answers, buttons, fields) must lie
inside the window and inside each container around it, and a button's label must fit it.
In Dutch, no English chrome text may be on screen.
"""

from __future__ import annotations

import re

import pytest
from rich.cells import cell_len
from textual.containers import ScrollableContainer
from textual.css.query import NoMatches
from textual.errors import NoWidget
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Label,
    ListView,
    RadioButton,
    SelectionList,
    Static,
)

from epro.forms.model import FormKind
from epro.kiosk import i18n
from epro.kiosk.app import KioskApp
from epro.kiosk.screens.dialogs import ConfirmDialog, IdleWarning, PinDialog
from epro.kiosk.screens.enrol import EnrolDialog
from epro.kiosk.screens.grid import GridScreen
from epro.kiosk.screens.handover import HandoverDialog
from epro.kiosk.screens.lock import LockScreen
from epro.kiosk.screens.patient import PatientScreen
from epro.kiosk.screens.questionnaire import QuestionnaireScreen
from epro.kiosk.screens.review import ReviewScreen
from epro.kiosk.screens.station import StationScreen
from epro.kiosk.screens.thanks import GiveBackScreen, ThanksScreen
from epro.kiosk.size import MIN_SIZE
from epro.kiosk.widgets import AnswerWidget
from epro.station import SessionPlan
from tests.helpers.flows import app_of, type_text, wait_for
from tests.helpers.ui_constants import NURSE, PASSPHRASE, PIN

pytestmark = pytest.mark.anyio

#: What a respondent or nurse must see whole: texts, answers, buttons, fields, lists.
MATTERS = (Button, Input, AnswerWidget, RadioButton, SelectionList, ListView, DataTable, Label)
TEXT_IDS = ("question", "hint", "form-title", "progress-text", "who", "what-next", "group")

#: English words the Dutch chrome never uses (form texts are Dutch by construction).
ENGLISH = re.compile(
    r"\b(the|and|your|you|please|Next|Back|Submit|Cancel|Skip|Start|Resume|Enrol|Unlock|"
    r"Lock|questionnaire|answer|visit|Patient|Confirm|Thank|Done|Continue|Sync|Detail)\b"
)


def shown(widget: Widget) -> bool:
    """Displayed, and so is every container around it."""
    node = widget
    while isinstance(node, Widget) and node is not widget.screen:
        if not node.display:
            return False
        node = node.parent  # type: ignore[assignment]
    return True


def matters(widget: Widget) -> bool:
    if isinstance(widget, MATTERS):
        return True
    return isinstance(widget, Static) and (widget.id in TEXT_IDS or widget.has_class("title"))


def inside_a_list(widget: Widget) -> bool:
    """Rows of a scrolling list are reached by scrolling; the list itself must fit."""
    return any(
        isinstance(node, ScrollableContainer | ListView | DataTable | SelectionList)
        for node in widget.ancestors_with_self[1:]
        if node is not widget.screen
    )


def problems_at(pilot: Pilot[None], stop: str) -> list[str]:
    screen = pilot.app.screen
    window = screen.region
    found: list[str] = []
    for widget in screen.query(Widget):
        if not (matters(widget) and shown(widget)) or inside_a_list(widget):
            continue
        name = f"{stop}: {type(widget).__name__}#{widget.id}"
        try:
            region = screen.find_widget(widget).region
        except NoWidget:
            found.append(f"{name} is not on screen")
            continue
        if region.area == 0:
            if isinstance(widget, Static) and not str(widget.render()).strip():
                continue  # an empty text takes no room
            found.append(f"{name} has no room")
            continue
        if not window.contains_region(region):
            found.append(f"{name} at {region} is outside the {window.size} window")
            continue
        for node in widget.ancestors[:-1]:
            if isinstance(node, Widget) and node is not screen:
                outer = screen.find_widget(node).region if node.display else None
                if outer is not None and not outer.contains_region(region):
                    found.append(f"{name} is cut by {type(node).__name__}#{node.id}")
                    break
        if isinstance(widget, Button):
            label = str(widget.label)
            if cell_len(label) > widget.content_region.width:
                found.append(f"{name}: label {label!r} does not fit its button")
    return found


def english_at(pilot: Pilot[None], stop: str) -> list[str]:
    """English chrome words on a Dutch screen (texts, labels, options, footer keys)."""
    screen = pilot.app.screen
    texts: list[str] = []
    for widget in screen.query(Widget):
        if not shown(widget):
            continue
        if isinstance(widget, Button):
            texts.append(str(widget.label))
        elif isinstance(widget, Static | Label):
            texts.append(str(widget.render()))
        elif isinstance(widget, SelectionList):
            texts += [str(widget.get_option_at_index(n).prompt) for n in range(widget.option_count)]
        elif isinstance(widget, DataTable):
            texts += [str(column.label) for column in widget.columns.values()]
        elif isinstance(widget, Input):
            texts.append(widget.placeholder)
    texts += [
        binding.description
        for _, binding, *_ in screen.active_bindings.values()
        if binding.show  # what the footer shows
    ]
    found = []
    for text in texts:
        text = text.replace("English", "")  # the name of the other language, on purpose
        if (match := ENGLISH.search(text)) is not None:
            found.append(f"{stop}: {match.group(0)!r} in {text!r}")
    return found


def answer_everything(screen: QuestionnaireScreen) -> None:
    """Answers in the store (the walk is about the screens, not the keys)."""
    session = screen.session
    for item in session.items():
        kind = item.type.value
        if kind == "choice":
            session.answer(item.link_id, item.options[0].code)
        elif kind == "checklist":
            session.answer(item.link_id, [str(item.options[0].code)])
        elif kind == "boolean":
            session.answer(item.link_id, False)
        elif kind == "vas":
            session.answer(item.link_id, 50)
        elif kind == "circles21":
            session.answer(item.link_id, 5.0)


class Walk:
    def __init__(self, pilot: Pilot[None], language: str) -> None:
        self.pilot = pilot
        self.language = language
        self.problems: list[str] = []

    async def stop(self, name: str) -> None:
        await self.pilot.pause()
        self.problems += problems_at(self.pilot, name)
        if self.language == "nl":
            self.problems += english_at(self.pilot, name)


async def walk_every_question(walk: Walk, plan: SessionPlan) -> None:
    app = app_of(walk.pilot)
    app.begin([plan])
    await wait_for(walk.pilot, QuestionnaireScreen)
    screen = app.screen
    assert isinstance(screen, QuestionnaireScreen)
    for item in screen.session.items():  # the questions shown (conditions as they stand)
        if item.type.value == "display":
            continue
        screen.session.go_to(item.link_id)
        await screen.show_current()
        await walk.stop(f"{plan.form_id}/{plan.respondent}/{item.link_id}")
        if screen.session.value(item.link_id) is None and item.required:
            await screen.next_pressed()  # the "no answer yet" words take room too
            await walk.stop(f"{plan.form_id}/{plan.respondent}/{item.link_id} (missing)")
    app.lock()
    await wait_for(walk.pilot, LockScreen)


@pytest.mark.parametrize("language", ["en", "nl"])
async def test_every_screen_fits_80_by_24(kiosk: KioskApp, language: str) -> None:
    assert MIN_SIZE == (80, 24)
    kiosk.settings.language = language
    kiosk.language = kiosk.staff_language = language
    async with kiosk.run_test(size=MIN_SIZE) as pilot:
        walk = Walk(pilot, language)
        await walk.stop("lock")
        await type_text(pilot, PASSPHRASE)
        await pilot.press("enter")
        await wait_for(pilot, PinDialog)
        await walk.stop("pin")
        await pilot.press("escape")
        await pin_again(pilot)
        await walk.stop("station")
        for key, dialog, name in (
            ("s", HandoverDialog, "start"),
            ("c", ConfirmDialog, "clinician"),
        ):
            await pilot.press(key)
            await wait_for(pilot, dialog)
            await walk.stop(name)
            await pilot.press("escape")
            await wait_for(pilot, StationScreen)
        await pilot.press("down", "s")  # DEMO-002: child and parent
        await wait_for(pilot, HandoverDialog)
        await walk.stop("start, two respondents")
        await pilot.press("escape")
        await wait_for(pilot, StationScreen)
        await pilot.press("e")
        await wait_for(pilot, EnrolDialog)
        await type_text(pilot, "DEMO-011")
        await pilot.press("enter")
        await type_text(pilot, "2024-01")
        await pilot.press("enter", "enter")  # too young: the longest error
        await walk.stop("enrol, with its error")
        await pilot.press("escape")
        await wait_for(pilot, StationScreen)
        await pilot.press("g")
        await wait_for(pilot, GridScreen)
        await walk.stop("grid")
        await pilot.press("d")
        await wait_for(pilot, PatientScreen)
        await walk.stop("detail")
        await pilot.press("escape", "escape")
        await wait_for(pilot, StationScreen)
        app = app_of(pilot)
        station = app.station
        assert station is not None
        for patient, visit, respondent in (
            ("DEMO-001", "V2", "parent"),
            ("DEMO-002", "V1", "child"),
        ):
            for form_id, form in station.forms.items():
                if form.kind is FormKind.PATIENT:
                    plan = SessionPlan(patient, visit, form_id, respondent, language)
                    await walk_every_question(walk, plan)
                    await pin_again(pilot)
        await walk_every_question(
            walk, SessionPlan("DEMO-001", "V2", "clinician", "staff", language)
        )
        await pin_again(pilot)
        await dialogs_and_ends(walk, language)
    assert walk.problems == []


async def pin_again(pilot: Pilot[None]) -> None:
    await pilot.click("#unlock")
    await wait_for(pilot, PinDialog)
    await type_text(pilot, NURSE)
    await pilot.press("enter")
    await type_text(pilot, PIN)
    await pilot.press("enter")
    await wait_for(pilot, StationScreen)


async def dialogs_and_ends(walk: Walk, language: str) -> None:
    """The skip and "not applicable" questions, the review, thank-you, hand-back, warning."""
    pilot = walk.pilot
    app = app_of(pilot)
    assert app.station is not None
    baseline = app.station.today()
    app.station.enrol("DEMO-003", f"{baseline.year - 7}-01", baseline, actor=NURSE)
    plans = [
        SessionPlan("DEMO-003", "V1", form_id, "parent", language)
        for form_id in ("chaq", "vas_pain")
    ]
    app.begin(plans)
    await wait_for(pilot, QuestionnaireScreen)
    await pilot.press("1", "tab", "tab", "tab", "enter")  # "not applicable" over an answer
    await wait_for(pilot, ConfirmDialog)
    await walk.stop("not applicable over an answer")
    await pilot.press("escape")
    await wait_for(pilot, QuestionnaireScreen)
    await pilot.click("#skip")
    await wait_for(pilot, ConfirmDialog)
    await walk.stop("skip")
    await pilot.press("escape")
    app.push_screen(IdleWarning(language))
    await wait_for(pilot, IdleWarning)
    await walk.stop("inactivity warning")
    await pilot.press("escape")
    await wait_for(pilot, QuestionnaireScreen)
    screen = app.screen
    assert isinstance(screen, QuestionnaireScreen)
    answer_everything(screen)
    screen.session.go_to(screen.session.items()[-1].link_id)
    await screen.show_current()
    await pilot.press("end", "enter", "enter")
    await wait_for(pilot, ReviewScreen)
    await walk.stop("review")
    review = app.screen
    assert isinstance(review, ReviewScreen)
    missing = [line.item.link_id for line in review.session.review() if line.missing_required]
    assert missing == [], walk.problems
    await pilot.click("#submit")
    await wait_for(pilot, ThanksScreen)
    await walk.stop("thank you, with what comes next")
    await pilot.press("enter")
    await wait_for(pilot, QuestionnaireScreen)
    await pilot.press("end", "enter", "enter")
    await wait_for(pilot, ReviewScreen)
    await pilot.click("#submit")
    await wait_for(pilot, ThanksScreen)
    await walk.stop("thank you, the last")
    await pilot.press("enter")
    await wait_for(pilot, GiveBackScreen)
    await walk.stop("give back")
    try:
        pilot.app.screen.query_one("#done")
    except NoMatches:  # pragma: no cover - the walk above must end here
        raise AssertionError("the hand-back screen has no Done button") from None


def test_the_english_words_the_dutch_walk_looks_for_are_in_the_english_chrome() -> None:
    # The check above can fail: the words it looks for do occur in the English texts.
    english = " ".join(i18n._EN.values())
    for word in ("Next", "Back", "Submit", "Cancel", "Skip", "Start", "Resume", "your"):
        assert ENGLISH.search(word) is not None
        assert word in english
