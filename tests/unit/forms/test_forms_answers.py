"""validate_answer / validate_answers: one stored form per answer (instruments.md §2, §5)."""

from __future__ import annotations

import datetime as dt

import pytest

from epro.errors import AnswerError
from epro.forms import NA, SKIPPED, Form, Item, ItemType, Option, validate_answer, validate_answers


def make(kind: ItemType, **fields: object) -> Item:
    return Item(link_id="q", type=kind, text={"en": "Q?"}, **fields)  # type: ignore[arg-type]


CHAQ_LIKE = make(
    ItemType.CHOICE,
    options=tuple(Option(code=c, text={"en": str(c)}) for c in range(4)),
    na_option=True,
    na_text={"en": "too young"},
)
NO_SKIP = make(ItemType.BOOLEAN, allow_skip=False)
CHECKLIST = make(
    ItemType.CHECKLIST,
    options=tuple(Option(code=c, text={"en": c}) for c in ("walk", "grip", "eat")),
)
VAS = make(ItemType.VAS, min=0, max=100)
CIRCLES = make(ItemType.CIRCLES21, min=0, max=10, step=0.5)
JOINTS = make(ItemType.INTEGER, min=0, max=71)
ESR = make(ItemType.DECIMAL, min=0, max=200)
STEPPED = make(ItemType.DECIMAL, min=0, max=1, step=0.1)
DATE = make(ItemType.DATE)
TEXT = make(ItemType.TEXT, required=False)
DISPLAY = make(ItemType.DISPLAY, allow_skip=False, required=False)

ACCEPTED = [
    pytest.param(CHAQ_LIKE, 2, 2, id="choice-code"),
    pytest.param(CHAQ_LIKE, 3.0, 3, id="choice-float-becomes-int-code"),
    pytest.param(CHAQ_LIKE, "1", 1, id="choice-text-digit-becomes-int-code"),
    pytest.param(CHAQ_LIKE, NA, NA, id="na-when-item-offers-it"),
    pytest.param(CHAQ_LIKE, SKIPPED, SKIPPED, id="skipped-when-allowed"),
    pytest.param(NO_SKIP, False, False, id="boolean-false"),
    pytest.param(CHECKLIST, ["eat", "walk"], ["walk", "eat"], id="checklist-in-option-order"),
    pytest.param(CHECKLIST, [], [], id="checklist-nothing-ticked"),
    pytest.param(VAS, 0, 0, id="vas-low-end"),
    pytest.param(VAS, 100.0, 100, id="vas-float-whole-becomes-int"),
    pytest.param(CIRCLES, 7.5, 7.5, id="circles-half-step"),
    pytest.param(CIRCLES, 3, 3.0, id="circles-int-becomes-float"),
    pytest.param(JOINTS, 71, 71, id="integer-top"),
    pytest.param(ESR, 12.5, 12.5, id="decimal-no-step"),
    pytest.param(STEPPED, 0.3, 0.3, id="decimal-step-judged-exactly"),
    pytest.param(DATE, "2026-03-01", "2026-03-01", id="date-iso"),
    pytest.param(DATE, dt.date(2026, 3, 1), "2026-03-01", id="date-object"),
    pytest.param(TEXT, "  a cane  ", "a cane", id="text-trimmed"),
]

REFUSED = [
    pytest.param(CHAQ_LIKE, 4, "one of 0, 1, 2, 3 or 'na' or 'skipped'", id="choice-unknown-code"),
    pytest.param(CHAQ_LIKE, True, "one of", id="choice-bool-is-not-code-1"),
    pytest.param(CHAQ_LIKE, 2.5, "one of", id="choice-fraction"),
    pytest.param(NO_SKIP, SKIPPED, "cannot be skipped", id="skip-not-allowed"),
    pytest.param(NO_SKIP, NA, "no 'not applicable'", id="na-not-offered"),
    pytest.param(NO_SKIP, 1, "true or false", id="boolean-from-int"),
    pytest.param(CHECKLIST, "walk", "list", id="checklist-not-a-list"),
    pytest.param(CHECKLIST, ["walk", "walk"], "twice", id="checklist-duplicate"),
    pytest.param(CHECKLIST, ["run"], "codes", id="checklist-unknown-code"),
    pytest.param(VAS, 101, "from 0 to 100", id="vas-above-100"),
    pytest.param(VAS, -1, "below the lowest value, 0", id="vas-below-0"),
    pytest.param(VAS, 50.5, "whole number", id="vas-fraction"),
    pytest.param(CIRCLES, 7.25, "step", id="circles-off-step"),
    pytest.param(CIRCLES, 10.5, "above the highest value, 10", id="circles-above-10"),
    pytest.param(JOINTS, 72, "above the highest value, 71", id="integer-above-max"),
    pytest.param(ESR, float("nan"), "finite", id="decimal-nan"),
    pytest.param(ESR, "fast", "not a number", id="decimal-from-word"),
    pytest.param(STEPPED, 0.35, "step", id="decimal-off-step"),
    pytest.param(DATE, "1/3/2026", "YYYY-MM-DD", id="date-other-format"),
    pytest.param(DATE, "2026-02-30", "not a date", id="date-impossible"),
    pytest.param(TEXT, "   ", "empty", id="text-blank"),
    pytest.param(TEXT, 5, "not a text", id="text-number"),
    pytest.param(DISPLAY, "x", "takes no answer", id="display"),
]


@pytest.mark.parametrize(("item", "value", "stored"), ACCEPTED)
def test_valid_answer_is_stored_normalised(item: Item, value: object, stored: object) -> None:
    result = validate_answer(item, value)
    assert result == stored
    assert type(result) is type(stored)


@pytest.mark.parametrize(("item", "value", "hint"), REFUSED)
def test_invalid_answer_names_item_and_what_is_allowed(
    item: Item, value: object, hint: str
) -> None:
    with pytest.raises(AnswerError) as caught:
        validate_answer(item, value)
    message = str(caught.value)
    assert "item q" in message
    assert hint in message


def test_free_text_is_never_echoed_in_an_answer_error() -> None:
    # Patient data never in exception messages.
    secret = "DEMO-001 lives at 12 Example Street " * 100
    with pytest.raises(AnswerError) as caught:
        validate_answer(TEXT, secret)
    assert "Example Street" not in str(caught.value)
    with pytest.raises(AnswerError) as caught:
        validate_answer(CHAQ_LIKE, "my secret answer")
    assert "secret" not in str(caught.value)


def test_validate_answers_suggests_the_variable_meant(shipped: dict[str, Form]) -> None:
    with pytest.raises(AnswerError) as caught:
        validate_answers(shipped["chaq"], {"chaq_dres_a": 1, "chaq_walk_b": 9})
    message = str(caught.value)
    assert "did you mean 'chaq_dress_a'?" in message
    assert "item chaq_walk_b" in message


def test_validate_answers_keeps_form_order(shipped: dict[str, Form]) -> None:
    answers = {"chaq_walk_a": 1, "chaq_dress_a": 0.0}
    assert list(validate_answers(shipped["chaq"], answers).items()) == [
        ("chaq_dress_a", 0),
        ("chaq_walk_a", 1),
    ]


# --- enable_when: an answer to an item that was not asked is a contradiction (§2.2, §2.1) ---


def test_stiffness_duration_without_stiffness_is_refused(shipped: dict[str, Form]) -> None:
    # instruments.md §2.2: jamar_stiffness_duration is asked only after jamar_stiffness = yes.
    answers = {"jamar_stiffness": False, "jamar_stiffness_duration": "from_15_to_60_min"}
    with pytest.raises(AnswerError) as caught:
        validate_answers(shipped["jamar"], answers)
    assert str(caught.value) == (
        "jamar_stiffness_duration is only asked when jamar_stiffness is yes; "
        "remove it or answer jamar_stiffness yes"
    )


@pytest.mark.parametrize("stiffness", [SKIPPED, None], ids=["skipped", "absent"])
def test_stiffness_duration_needs_a_given_yes(
    shipped: dict[str, Form], stiffness: str | None
) -> None:
    # §2.2: a skipped or missing jamar_stiffness does not enable the duration question.
    answers: dict[str, object] = {"jamar_stiffness_duration": "from_15_to_60_min"}
    if stiffness is not None:
        answers["jamar_stiffness"] = stiffness
    with pytest.raises(AnswerError, match="only asked when jamar_stiffness is yes"):
        validate_answers(shipped["jamar"], answers)


def test_stiffness_duration_after_a_yes_is_kept(shipped: dict[str, Form]) -> None:
    answers = {"jamar_stiffness": True, "jamar_stiffness_duration": "from_15_to_60_min"}
    assert validate_answers(shipped["jamar"], answers) == answers


def test_other_device_text_without_other_ticked_is_refused(shipped: dict[str, Form]) -> None:
    # instruments.md §2.1: chaq_devices_other belongs to the device "other".
    answers = {"chaq_devices": ["wheelchair"], "chaq_devices_other": "a tablet stand"}
    with pytest.raises(AnswerError) as caught:
        validate_answers(shipped["chaq"], answers)
    message = str(caught.value)
    assert "chaq_devices_other is only asked when chaq_devices includes 'other'" in message
    assert "tick 'other' in chaq_devices" in message
    assert "tablet" not in message  # free text is patient data


def test_other_device_text_with_other_ticked_is_kept(shipped: dict[str, Form]) -> None:
    answers = {"chaq_devices": ["other", "wheelchair"], "chaq_devices_other": "a tablet stand"}
    valid = validate_answers(shipped["chaq"], answers)
    assert valid["chaq_devices_other"] == "a tablet stand"


def test_a_skipped_unasked_item_records_nothing_false(shipped: dict[str, Form]) -> None:
    # "skipped" is the absence of an answer, so it cannot contradict jamar_stiffness = no.
    answers = {"jamar_stiffness": False, "jamar_stiffness_duration": SKIPPED}
    assert validate_answers(shipped["jamar"], answers) == answers


def test_an_invalid_condition_answer_is_reported_once(shipped: dict[str, Form]) -> None:
    answers = {"jamar_stiffness": "maybe", "jamar_stiffness_duration": "from_15_to_60_min"}
    with pytest.raises(AnswerError) as caught:
        validate_answers(shipped["jamar"], answers)
    assert str(caught.value).splitlines() == [
        "item jamar_stiffness: the answer is not true or false; answer with true or false"
        + " or 'skipped'"
    ]


def test_esr_above_the_tube_names_the_unit_and_the_limit(shipped: dict[str, Form]) -> None:
    # instruments.md §2.4: esr is in mm/h; the form caps it at 200, what the tube can read.
    with pytest.raises(AnswerError) as caught:
        validate_answers(shipped["clinician"], {"esr": 250})
    message = str(caught.value)
    assert message.startswith("item esr: the answer is above the highest value, 200;")
    assert "200 mm/h" in message
    assert "250" not in message
    assert validate_answers(shipped["clinician"], {"esr": 200}) == {"esr": 200.0}


def test_a_number_below_the_scale_says_the_lowest_value() -> None:
    with pytest.raises(AnswerError, match="below the lowest value, 0;"):
        validate_answer(ESR, -1)
