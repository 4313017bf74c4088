"""JAMAR (instruments.md §2.2) and stand-alone VAS (§2.3) scoring."""

from __future__ import annotations

import pytest

from epro.errors import AnswerError
from epro.forms.model import AnswerValue
from epro.scoring import ScoringParams, score_form
from epro.scoring.jamar import JAFS_ITEMS, PRQL_ITEMS


def jafs(*values: AnswerValue) -> dict[str, AnswerValue]:
    return dict(zip(JAFS_ITEMS, values, strict=False))


ALL_ONES = jafs(*[1] * 15)

# (answers, jafs_total, jafs_lower, jafs_hand, jafs_upper)
JAFS_CASES = [
    pytest.param(ALL_ONES, 15, 5, 5, 5, id="§2.2 sum of 15 items"),
    pytest.param(jafs(*[2] * 15), 30, 10, 10, 10, id="§2.2 maximum 30"),
    pytest.param({**ALL_ONES, "jamar_jafs_01": "na"}, 14, 4, 5, 5, id="§2.2 na counts 0"),
    pytest.param(
        {**ALL_ONES, "jamar_jafs_07": "skipped"}, None, 5, None, 5, id="§2.2 skipped → null"
    ),
    pytest.param(jafs(*[1] * 14), None, 5, 5, None, id="§2.2 absent → null"),
]


@pytest.mark.parametrize(("answers", "total", "lower", "hand", "upper"), JAFS_CASES)
def test_jafs_scores(
    answers: dict[str, AnswerValue],
    total: int | None,
    lower: int | None,
    hand: int | None,
    upper: int | None,
) -> None:
    scores = score_form("jamar", answers).scores
    assert (
        scores["jafs_total"],
        scores["jafs_lower"],
        scores["jafs_hand"],
        scores["jafs_upper"],
    ) == (
        total,
        lower,
        hand,
        upper,
    )


def test_skipped_jafs_item_is_named_in_the_note() -> None:
    notes = score_form("jamar", {**ALL_ONES, "jamar_jafs_07": "skipped"}).notes
    assert notes["jafs_total"] == "missing: jamar_jafs_07"
    assert notes["jafs_hand"] == "missing: jamar_jafs_07"


def test_jafs_missing_allowance_is_a_parameter() -> None:
    answers = {**ALL_ONES, "jamar_jafs_07": "skipped"}
    scores = score_form("jamar", answers, ScoringParams(jafs_max_missing=1)).scores
    assert scores["jafs_total"] == 14


PRQL_CASES = [
    pytest.param(dict.fromkeys(PRQL_ITEMS, 3), 15, 15, 30, id="§2.2 PRQL maximum"),
    pytest.param(
        {**dict.fromkeys(PRQL_ITEMS, 1), "jamar_prql_02": 3}, 7, 5, 12, id="§2.2 PRQL sums"
    ),
    pytest.param(
        {**dict.fromkeys(PRQL_ITEMS, 1), "jamar_prql_09": "skipped"},
        5,
        None,
        None,
        id="§2.2 PRQL gap",
    ),
]


@pytest.mark.parametrize(("answers", "physical", "psychosocial", "total"), PRQL_CASES)
def test_prql_scores(
    answers: dict[str, AnswerValue],
    physical: int | None,
    psychosocial: int | None,
    total: int | None,
) -> None:
    scores = score_form("jamar", answers).scores
    assert (scores["prql_physical"], scores["prql_psychosocial"], scores["prql_total"]) == (
        physical,
        psychosocial,
        total,
    )


@pytest.mark.parametrize(
    ("joints", "count"),
    [
        pytest.param(["knee_left", "wrist_right"], 2, id="§2.2 groups ticked"),
        pytest.param([], 0, id="§2.2 none ticked is 0"),
        pytest.param("skipped", None, id="§2.2 skipped is null"),
    ],
)
def test_joint_count(joints: AnswerValue, count: int | None) -> None:
    assert score_form("jamar", {"jamar_joints": joints}).scores["jamar_joint_count"] == count


def test_circle_scale_above_ten_is_refused() -> None:
    with pytest.raises(AnswerError, match="jamar_pain"):
        score_form("jamar", {"jamar_pain": 10.5})


VAS_CASES = [
    pytest.param("vas_pain", {"vas_pain": 37}, 37, id="§2.3 pain is the value"),
    pytest.param("vas_wellbeing", {"vas_wellbeing": 0}, 0, id="§2.3 well-being 0"),
    pytest.param("vas_wellbeing", {"vas_wellbeing": 100}, 100, id="§2.3 well-being 100"),
    pytest.param("vas_pain", {"vas_pain": "skipped"}, None, id="§2.3 skipped is null"),
    pytest.param("vas_pain", {}, None, id="§2.3 absent is null"),
]


@pytest.mark.parametrize(("form", "answers", "value"), VAS_CASES)
def test_vas_score_is_the_answer(
    form: str, answers: dict[str, AnswerValue], value: int | None
) -> None:
    result = score_form(form, answers)
    assert result.scores == {form: value}
    if value is None:
        assert result.notes == {form: f"missing: {form}"}


def test_vas_above_100_is_refused() -> None:
    with pytest.raises(AnswerError, match="vas_pain"):
        score_form("vas_pain", {"vas_pain": 101})
