"""CHAQ scoring, instruments.md §2.1: domains, aids and help, the disability index."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epro.errors import AnswerError
from epro.forms.model import AnswerValue
from epro.scoring import ScoringParams, score_form
from epro.scoring.chaq import DOMAINS, chaq_di, domain_scores

ORDER = list(DOMAINS)


def by_domain(*scores: int | None, **extra: AnswerValue) -> dict[str, AnswerValue]:
    """Answers whose first item per domain holds the score (None: every item not applicable)."""
    answers: dict[str, AnswerValue] = {}
    for domain, score in zip(ORDER, scores, strict=True):
        first, *rest = DOMAINS[domain]
        answers[first] = "na" if score is None else score
        for item in rest:
            answers[item] = "na" if score is None else 0
    answers.update(extra)
    return answers


# (answers, expected chaq_di, expected domains scored)
CASES = [
    pytest.param(
        by_domain(1, 2, 0, 2, 0, 1, 2, 1), Fraction(9, 8), 8, id="§2.1 worked check 1.125"
    ),
    pytest.param(
        by_domain(3, 3, 3, 3, 3, 3, None, None), Fraction(3), 6, id="§2.1 6 domains enough"
    ),
    pytest.param(by_domain(3, 3, 3, 3, 3, None, None, None), None, 5, id="§2.1 5 domains too few"),
    pytest.param(by_domain(*[None] * 8), None, 0, id="§2.1 all na: nothing scored"),
    pytest.param(
        by_domain(0, 0, 0, 1, 0, 0, 0, 0, chaq_devices=["walking_aid"]),
        Fraction(2, 8),
        8,
        id="§2.1 aid raises scored domain 1 to 2",
    ),
    pytest.param(
        by_domain(0, 0, 0, 3, 0, 0, 0, 0, chaq_devices=["wheelchair"]),
        Fraction(3, 8),
        8,
        id="§2.1 aid: a 3 stays 3",
    ),
    pytest.param(
        by_domain(0, 0, 0, 0, 0, 0, None, None, chaq_devices=["jar_opener"]),
        Fraction(0),
        6,
        id="§2.1 aid on unscored domain scores nothing",
    ),
    pytest.param(
        by_domain(0, 0, 0, 0, 0, 0, 0, 0, chaq_help=["eat"]),
        Fraction(2, 8),
        8,
        id="§2.1 help on scored domain raises 0 to 2",
    ),
    pytest.param(
        by_domain(0, 0, 0, 0, 0, None, None, None, chaq_help=["reach", "grip"]),
        None,
        5,
        id="§2.1 help on unscored domains creates no score",
    ),
    pytest.param(
        by_domain(0, 0, 0, 0, 0, 0, 0, 0, chaq_devices=["other"], chaq_devices_other="x"),
        Fraction(0),
        8,
        id="§2.1 device other raises nothing",
    ),
]


@pytest.mark.parametrize(("answers", "di", "scored"), CASES)
def test_chaq_di_follows_the_rules(
    answers: dict[str, AnswerValue], di: Fraction | None, scored: int
) -> None:
    result = score_form("chaq", answers)
    assert result.scores["chaq_domains_scored"] == scored
    assert result.scores["chaq_di"] == (None if di is None else float(di))
    assert chaq_di(answers) == di


DOMAIN_CASES = [
    pytest.param(
        {"chaq_dress_a": 0, "chaq_dress_b": 2, "chaq_dress_c": 1}, 2, id="§2.1 highest item"
    ),
    pytest.param({"chaq_dress_a": "na", "chaq_dress_b": 1}, 1, id="§2.1 na excluded"),
    pytest.param({"chaq_dress_a": "skipped", "chaq_dress_b": 0}, 0, id="§2.1 skipped excluded"),
    pytest.param(
        {"chaq_dress_a": "na", "chaq_dress_b": "skipped"}, None, id="§2.1 na+skipped unscored"
    ),
    pytest.param({}, None, id="§2.1 absent unscored"),
    pytest.param({"chaq_dress_d": 3, "chaq_devices": ["dressing_aid"]}, 3, id="§2.1 a 3 stays 3"),
    pytest.param({"chaq_dress_a": 1, "chaq_help": ["dress"]}, 2, id="§2.1 help raises to 2"),
    pytest.param({"chaq_dress_a": 2.0}, 2, id="integral float accepted"),
    pytest.param({"chaq_dress_a": "na", "chaq_help": ["dress"]}, None, id="§2.1 help never scores"),
]


@pytest.mark.parametrize(("answers", "dress"), DOMAIN_CASES)
def test_dress_domain_score(answers: dict[str, AnswerValue], dress: int | None) -> None:
    assert domain_scores(answers)["dress"] == dress


def test_five_scored_domains_give_null_with_the_reason() -> None:
    result = score_form("chaq", by_domain(1, 1, 1, 1, 1, None, None, None))
    assert result.scores["chaq_di"] is None
    assert result.notes["chaq_di"] == "only 5 scored domains, 6 needed"
    assert result.scores["chaq_reach"] is None
    assert "no scored item" in result.notes["chaq_reach"]
    assert result.scores["chaq_walk"] == 1


def test_minimum_domains_is_a_parameter() -> None:
    answers = by_domain(1, 1, 1, 1, 2, None, None, None)
    assert chaq_di(answers, ScoringParams(chaq_min_domains=5)) == Fraction(6, 5)


def test_aid_floor_is_a_parameter() -> None:
    answers = by_domain(0, 0, 0, 0, 0, 0, 0, 0, chaq_help=["walk"])
    assert chaq_di(answers, ScoringParams(chaq_aid_floor=3)) == Fraction(3, 8)


@pytest.mark.parametrize(
    ("answers", "fragment"),
    [
        pytest.param({"chaq_walk_a": 4}, "chaq_walk_a", id="above the scale"),
        pytest.param({"chaq_walk_a": -1}, "chaq_walk_a", id="below the scale"),
        pytest.param({"chaq_walk_a": 1.5}, "whole number", id="not a code"),
        pytest.param({"chaq_walk_a": True}, "expected a number", id="boolean"),
        pytest.param({"chaq_walk_a": "maybe"}, "expected a number", id="unknown text"),
        pytest.param({"chaq_devices": ["jetpack"]}, "'jetpack'", id="unknown device"),
        pytest.param({"chaq_help": "walk"}, "list of codes", id="help not a list"),
        pytest.param({"chaq_pain_vas": 101}, "chaq_pain_vas", id="VAS above 100"),
    ],
)
def test_answers_off_the_scale_are_refused_by_name(
    answers: dict[str, AnswerValue], fragment: str
) -> None:
    with pytest.raises(AnswerError, match=fragment):
        score_form("chaq", answers)


def test_refusal_does_not_repeat_the_value() -> None:
    with pytest.raises(AnswerError) as caught:
        score_form("chaq", {"chaq_grip_a": 9876})
    assert "9876" not in str(caught.value)


ITEM = st.one_of(st.integers(0, 3), st.sampled_from(["na", "skipped", None]))
ITEMS = [item for items in DOMAINS.values() for item in items]


@st.composite
def chaq_answers(draw: st.DrawFn) -> dict[str, AnswerValue]:
    answers: dict[str, AnswerValue] = {}
    for item in ITEMS:
        value = draw(ITEM)
        if value is not None:
            answers[item] = value
    answers["chaq_devices"] = draw(
        st.lists(st.sampled_from(["walking_aid", "jar_opener", "bath_seat", "other"]), unique=True)
    )
    answers["chaq_help"] = draw(st.lists(st.sampled_from(ORDER), unique=True))
    return answers


@settings(max_examples=200, deadline=None)
@given(chaq_answers())
def test_chaq_di_stays_between_0_and_3(answers: dict[str, AnswerValue]) -> None:
    di = chaq_di(answers, ScoringParams(chaq_min_domains=1))
    assert di is None or 0 <= di <= 3


@settings(max_examples=200, deadline=None)
@given(chaq_answers(), st.data())
def test_chaq_di_never_falls_when_an_item_score_rises(
    answers: dict[str, AnswerValue], data: st.DataObject
) -> None:
    raisable = [item for item in ITEMS if isinstance(answers.get(item), int) and answers[item] != 3]
    if not raisable:
        return
    item = data.draw(st.sampled_from(raisable))
    value = answers[item]
    assert isinstance(value, int)
    params = ScoringParams(chaq_min_domains=1)
    before = chaq_di(answers, params)
    after = chaq_di({**answers, item: value + 1}, params)
    assert before is not None
    assert after is not None
    assert after >= before
