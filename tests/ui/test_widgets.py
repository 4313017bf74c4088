"""Answer widgets start empty and post AnswerChanged only when the respondent acts.

instruments.md §5: no default or preselected answer; the VAS has no marker until the
respondent acts (first arrow key or a click places it) and must be confirmed.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

from epro.forms.model import AnswerValue, Item
from epro.kiosk.messages import AnswerChanged
from epro.kiosk.widgets import (
    AnswerWidget,
    ChoiceScale,
    Circles21,
    NumberEntry,
    VasScale,
    answer_widget_for,
)
from tests.helpers import ui_items as items

pytestmark = pytest.mark.anyio


class WidgetHarness(App[None]):
    """Mounts one answer widget and records every AnswerChanged it posts."""

    def __init__(self, item: Item, language: str = "en") -> None:
        super().__init__()
        self.item = item
        self.language = language
        self.posted: list[tuple[str, AnswerValue]] = []

    def compose(self) -> ComposeResult:
        widget = answer_widget_for(self.item, self.language)
        assert widget is not None
        yield widget

    def on_mount(self) -> None:
        self.query_one(AnswerWidget).focus()

    def on_answer_changed(self, message: AnswerChanged) -> None:
        self.posted.append((message.link_id, message.value))


def widget_of(app: WidgetHarness, kind: type[Any]) -> Any:
    return app.query_one(kind)


async def test_vas_starts_without_a_marker_and_posts_nothing_unasked() -> None:
    # instruments.md §5: no marker until the respondent acts.
    app = WidgetHarness(items.VAS)
    async with app.run_test(size=(80, 24)) as pilot:
        vas = widget_of(app, VasScale)
        assert vas.marker is None
        assert vas.pending is None
        assert "▼" not in str(vas.render())
        await pilot.press("enter")  # confirming nothing must not invent an answer
        assert app.posted == []


async def test_vas_first_arrow_places_the_marker_then_keys_move_it_and_enter_confirms() -> None:
    # instruments.md §5: arrow keys move 1, PgUp/PgDn 10; the marker must be confirmed.
    app = WidgetHarness(items.VAS)
    async with app.run_test(size=(80, 24)) as pilot:
        vas = widget_of(app, VasScale)
        await pilot.press("right")
        assert vas.marker == 50
        assert app.posted == []  # placed, not yet confirmed
        await pilot.press("right", "right", "pageup", "left")
        assert vas.marker == 61
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown", "pagedown", "pagedown")
        assert vas.marker == 1
        await pilot.press("pagedown", "enter")
        assert vas.marker == 0
        assert app.posted == [("vas_pain", 0)]


async def test_vas_click_on_the_line_places_the_marker_where_clicked() -> None:
    app = WidgetHarness(items.VAS)
    async with app.run_test(size=(81, 24)) as pilot:
        vas = widget_of(app, VasScale)
        width = vas.size.width
        await pilot.click(VasScale, offset=(width - 1, 1))
        assert vas.marker == 100
        await pilot.click(VasScale, offset=(0, 1))
        assert vas.marker == 0
        await pilot.press("enter")
        assert app.posted == [("vas_pain", 0)]


async def test_circles_start_with_nothing_selected_and_a_click_selects_that_circle() -> None:
    # instruments.md §5: 21 numbered circles, nothing selected initially.
    app = WidgetHarness(items.CIRCLES)
    async with app.run_test(size=(80, 24)) as pilot:
        circles = widget_of(app, Circles21)
        assert circles.selected is None
        assert "●" not in str(circles.render())
        cell = circles._cell()
        await pilot.click(Circles21, offset=(cell * 15 + 1, 0))
        assert app.posted == [("jamar_pain", 7.5)]
        assert "●" in str(circles.render())


async def test_circles_arrow_keys_move_and_enter_selects() -> None:
    app = WidgetHarness(items.CIRCLES)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        assert app.posted == []  # no highlight yet, so nothing to select
        await pilot.press("right", "right", "right", "enter")
        assert app.posted == [("jamar_pain", 1.0)]
        await pilot.press("left", "space")
        assert app.posted[-1] == ("jamar_pain", 0.5)


async def test_single_choice_starts_unselected_and_posts_the_option_code() -> None:
    app = WidgetHarness(items.CHOICE)
    async with app.run_test(size=(80, 24)) as pilot:
        choice = widget_of(app, ChoiceScale)
        assert choice.pending is None
        assert "(●)" not in str(choice.render())
        await pilot.press("down", "down", "enter")
        assert app.posted == [("chaq_walk_a", 1)]
        await pilot.click(ChoiceScale, offset=(3, choice.row_height * 3))
        assert app.posted[-1] == ("chaq_walk_a", 3)
        assert str(choice.render()).count("(●)") == 1


async def test_checklist_starts_empty_and_posts_ticked_codes_in_form_order() -> None:
    app = WidgetHarness(items.CHECKLIST)
    async with app.run_test(size=(80, 24)) as pilot:
        checklist = widget_of(app, ChoiceScale)
        assert "[x]" not in str(checklist.render())
        await pilot.press("up", "space")  # last option first
        await pilot.press("up", "up", "space")
        assert app.posted == [
            ("chaq_devices", ["jar_opener"]),
            ("chaq_devices", ["walking_aid", "jar_opener"]),
        ]
        await pilot.press("space")
        assert app.posted[-1] == ("chaq_devices", ["jar_opener"])


async def test_yes_no_starts_unselected_and_posts_a_boolean() -> None:
    app = WidgetHarness(items.BOOLEAN, language="nl")
    async with app.run_test(size=(80, 24)) as pilot:
        yes_no = widget_of(app, ChoiceScale)
        assert yes_no.pending is None
        assert "Ja" in str(yes_no.render())
        await pilot.press("down", "down", "enter")
        assert app.posted == [("jamar_stiffness", False)]


@pytest.mark.parametrize(
    ("item", "typed", "expected"),
    [(items.INTEGER, "12", 12), (items.DECIMAL, "3.5", 3.5), (items.DECIMAL, "3,5", 3.5)],
    ids=["integer", "decimal", "decimal-comma"],
)
async def test_number_entry_starts_empty_and_posts_the_typed_number(
    item: Item, typed: str, expected: AnswerValue
) -> None:
    app = WidgetHarness(item)
    async with app.run_test(size=(80, 24)) as pilot:
        entry = app.query_one(Input)
        assert entry.value == ""
        assert widget_of(app, NumberEntry).pending is None
        await pilot.press("enter")
        assert app.posted == []
        await pilot.press(*typed, "enter")
        assert app.posted == [(item.link_id, expected)]


async def test_number_outside_the_range_is_refused_with_a_message_naming_the_range() -> None:
    app = WidgetHarness(items.INTEGER)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("9", "9", "enter")
        assert app.posted == []
        problem = app.query_one("#problem")
        assert "0 to 71" in str(problem.render())


async def test_a_decimal_in_a_whole_number_field_is_refused_in_dutch_with_the_range() -> None:
    # instruments.md §2.4: never altered to fit ("3,5" used to become 35), always explained.
    app = WidgetHarness(items.INTEGER, language="nl")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3", ",", "5", "enter")
        assert app.posted == []
        assert app.query_one(Input).value == "3,5"  # every key typed is still on screen
        problem = str(app.query_one("#problem").render())
        assert problem == '"3,5" is geen heel getal. Typ een heel getal van 0 tot en met 71.'
