"""Inputs that would silently change a score are refused (instruments.md §2.2, §2.4, §3).

Scoring is also called without the form layer in front of it (station trends, the Python API),
so it must not take an off-grid value or an ambiguous respondent as if it were an answer.
"""

from __future__ import annotations

import pytest

from epro.errors import AnswerError
from epro.forms.model import AnswerValue
from epro.scoring import VisitResponse, score_form, score_visit


def r(form: str, respondent: str | None, **answers: AnswerValue) -> VisitResponse:
    return VisitResponse(form, respondent, answers)


@pytest.mark.parametrize(
    ("response", "name"),
    [
        pytest.param(
            r("clinician", None, phys_global=0.7),
            "phys_global",
            id="§2.4 phys_global is 0.0-10.0 in 0.5 steps: 0.7 refused",
        ),
        pytest.param(
            r("jamar", "child", jamar_wellbeing=3.3),
            "jamar_wellbeing",
            id="§2.2 well-being is 21 circles 0.0-10.0 in 0.5 steps: 3.3 refused",
        ),
        pytest.param(
            r("jamar", "child", jamar_pain=0.25),
            "jamar_pain",
            id="§2.2 pain is 21 circles in 0.5 steps: 0.25 refused",
        ),
        pytest.param(
            r("jamar", "child", jamar_activity=9.9),
            "jamar_activity",
            id="§2.2 activity is 21 circles in 0.5 steps: 9.9 refused",
        ),
    ],
)
def test_value_between_two_steps_of_the_scale_is_refused(
    response: VisitResponse, name: str
) -> None:
    with pytest.raises(AnswerError, match=f"{name}: the answer is not on a step"):
        score_visit([response], age_years=10)


@pytest.mark.parametrize("value", [0, 0.5, 4.5, 9.5, 10])
def test_every_half_step_of_phys_global_is_accepted(value: float) -> None:
    """§2.4: 0.0-10.0 in 0.5 steps, both ends included; it enters cJADAS10 unchanged (§3)."""
    responses = [
        r("clinician", None, phys_global=value, active_joints=0),
        r("vas_wellbeing", "child", vas_wellbeing=0),
    ]
    assert score_visit(responses, age_years=10).scores["cjadas10"] == value + 0 + 0


def test_circle_scales_accept_their_half_steps() -> None:
    """§2.2: 21 circles 0.0, 0.5 … 10.0; jamar_wellbeing is the last wb source (§3)."""
    responses = [r("jamar", "child", jamar_pain=10, jamar_activity=0, jamar_wellbeing=7.5)]
    assert score_visit(responses, age_years=10).scores["wb"] == 7.5


def test_clinician_data_given_twice_in_one_visit_is_refused() -> None:
    """§2.4: one set of clinician data per visit; two ESRs must not be resolved by list order."""
    first = r("clinician", "parent", esr=10)
    second = r("clinician", "child", esr=90)
    with pytest.raises(AnswerError, match="clinician"):
        score_visit([first, second], age_years=10)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("staff", "parent", id="§3 staff is no respondent of a patient form"),
        pytest.param("mother", "father", id="§3 only parent and child can be chosen between"),
    ],
)
def test_two_responses_must_be_the_parent_and_the_child(first: str, second: str) -> None:
    """§3: 'the child's answer is used from 8 years, else the parent's' needs exactly those two;
    any other pair would be decided by list order, a silently arbitrary well-being."""
    responses = [
        r("vas_wellbeing", first, vas_wellbeing=10),
        r("vas_wellbeing", second, vas_wellbeing=90),
    ]
    with pytest.raises(AnswerError, match="'parent' or 'child'"):
        score_visit(responses, age_years=12)


def test_unknown_respondent_of_a_single_response_is_refused() -> None:
    with pytest.raises(AnswerError, match="'parent' or 'child'"):
        score_visit([r("chaq", "nurse", chaq_walk_a=1)], age_years=12)


def test_staff_may_enter_the_clinician_form() -> None:
    scores = score_visit([r("clinician", "staff", esr=30)], age_years=12).scores
    assert scores["esrn"] == (30 - 20) / 10  # §3 esrn = (esr − 20) / 10


def test_error_in_the_baseline_visit_says_it_is_the_baseline() -> None:
    with pytest.raises(AnswerError, match="baseline visit: esr"):
        score_visit([r("clinician", None, esr=10)], baseline=[r("clinician", None, esr=-3)])


@pytest.mark.parametrize("age", [-1, float("nan"), float("inf")])
def test_impossible_age_is_refused(age: float) -> None:
    """§2.1/§3: the age decides between child and parent; a negative or non-finite age is a
    data error, not 'below 8'."""
    responses = [
        r("vas_wellbeing", "parent", vas_wellbeing=10),
        r("vas_wellbeing", "child", vas_wellbeing=90),
    ]
    with pytest.raises(AnswerError, match="age"):
        score_visit(responses, age_years=age)
    with pytest.raises(AnswerError, match="age"):
        score_visit(responses, baseline=responses, age_years=10, baseline_age_years=age)


def test_single_form_scoring_refuses_off_grid_circles_too() -> None:
    with pytest.raises(AnswerError, match="jamar_pain"):
        score_form("jamar", {"jamar_pain": 2.2})
