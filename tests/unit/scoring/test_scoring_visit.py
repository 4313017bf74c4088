"""Scoring a visit: respondent choice, well-being fallback (§3), composites, ACR Pedi (§4)."""

from __future__ import annotations

import pytest

from epro.errors import AnswerError, FormError
from epro.forms.model import AnswerValue
from epro.scoring import ScoringParams, VisitResponse, score_form, score_visit
from epro.scoring.chaq import DOMAINS


def chaq(*domains: int, **extra: AnswerValue) -> dict[str, AnswerValue]:
    """CHAQ answers with the given domain scores (first item of each domain)."""
    answers: dict[str, AnswerValue] = {
        items[0]: s for items, s in zip(DOMAINS.values(), domains, strict=False)
    }
    answers.update(extra)
    return answers


def clinician(**values: AnswerValue) -> VisitResponse:
    answers: dict[str, AnswerValue] = {
        "phys_global": 6,
        "active_joints": 10,
        "active_joints_27": 8,
        "limited_joints": 8,
        "esr": 40,
        "jia_course": "poly",
    }
    answers.update(values)
    return VisitResponse("clinician", None, {k: v for k, v in answers.items() if v != "absent"})


def r(form: str, respondent: str | None, **answers: AnswerValue) -> VisitResponse:
    return VisitResponse(form, respondent, answers)


# (responses, age, expected wb)
WB_CASES = [
    pytest.param(
        [r("vas_wellbeing", "child", vas_wellbeing=56)], 10, 5.6, id="§3 wb = vas_wellbeing / 10"
    ),
    pytest.param(
        [
            r("vas_wellbeing", "parent", vas_wellbeing=70),
            r("vas_wellbeing", "child", vas_wellbeing=40),
        ],
        8,
        4.0,
        id="§3 both answered, child from 8",
    ),
    pytest.param(
        [
            r("vas_wellbeing", "parent", vas_wellbeing=70),
            r("vas_wellbeing", "child", vas_wellbeing=40),
        ],
        7.9,
        7.0,
        id="§3 both answered, parent below 8",
    ),
    pytest.param(
        [
            r("vas_wellbeing", "parent", vas_wellbeing=70),
            r("vas_wellbeing", "child", vas_wellbeing=40),
        ],
        None,
        4.0,
        id="§3 both answered, age unknown: child (documented choice)",
    ),
    pytest.param(
        [
            r("vas_wellbeing", "parent", vas_wellbeing=70),
            r("vas_wellbeing", "child", vas_wellbeing="skipped"),
        ],
        12,
        7.0,
        id="§3 only the parent answered: parent even from 8",
    ),
    pytest.param(
        [
            r("vas_wellbeing", "child", vas_wellbeing="skipped"),
            r("chaq", "child", chaq_wellbeing_vas=30),
            r("jamar", "child", jamar_wellbeing=9),
        ],
        10,
        3.0,
        id="§3 fallback 1: chaq_wellbeing_vas / 10",
    ),
    pytest.param(
        [
            r("chaq", "child", chaq_wellbeing_vas="skipped"),
            r("jamar", "child", jamar_wellbeing=2.5),
        ],
        10,
        2.5,
        id="§3 fallback 2: jamar_wellbeing",
    ),
    pytest.param(
        [r("vas_wellbeing", "parent", vas_wellbeing=90), r("chaq", "child", chaq_wellbeing_vas=30)],
        10,
        9.0,
        id="§3 source order beats respondent order",
    ),
    pytest.param([r("vas_pain", "child", vas_pain=20)], 10, None, id="§3 no source: wb null"),
]


@pytest.mark.parametrize(("responses", "age", "wb"), WB_CASES)
def test_wellbeing_source_and_respondent(
    responses: list[VisitResponse], age: float | None, wb: float | None
) -> None:
    result = score_visit(responses, age_years=age)
    assert result.scores["wb"] == wb
    if wb is None:
        assert result.notes["wb"] == "missing: vas_wellbeing, chaq_wellbeing_vas, jamar_wellbeing"


PARENT = chaq(1, 1, 1, 1, 1, 1, 1, 1)  # chaq_di 1
CHILD = chaq(2, 2, 2, 2, 2, 2, 2, 2)  # chaq_di 2
CHILD_TOO_FEW = chaq(2, 2, 2, 2, 2)  # 5 domains: no chaq_di

# (child answers, age, chosen chaq_di)
CHAQ_CHOICE_CASES = [
    pytest.param(CHILD, 10, 2.0, id="§2.1 child's chaq_di from 8"),
    pytest.param(CHILD, 8, 2.0, id="§2.1 child's chaq_di at exactly 8"),
    pytest.param(CHILD, 7.5, 1.0, id="§2.1 parent's chaq_di below 8"),
    pytest.param(CHILD, None, 2.0, id="§2.1 age unknown: child's"),
    pytest.param(CHILD_TOO_FEW, 10, 1.0, id="§2.1 child's not computable: parent's"),
]


@pytest.mark.parametrize(("child", "age", "di"), CHAQ_CHOICE_CASES)
def test_which_chaq_di_enters_composites(
    child: dict[str, AnswerValue], age: float | None, di: float
) -> None:
    responses = [VisitResponse("chaq", "parent", PARENT), VisitResponse("chaq", "child", child)]
    scores = score_visit(responses, age_years=age).scores
    assert scores["chaq_di"] == di
    assert scores["chaq_di_parent"] == 1.0
    assert scores["chaq_di_child"] == (2.0 if child is CHILD else None)


def test_chaq_di_of_the_chosen_respondent_enters_acr_pedi() -> None:
    base = [
        VisitResponse("chaq", "parent", PARENT),
        VisitResponse("chaq", "child", CHILD),
        clinician(),
        r("vas_wellbeing", "child", vas_wellbeing=50),
    ]
    now = [
        VisitResponse("chaq", "parent", PARENT),
        VisitResponse("chaq", "child", chaq(1, 1, 1, 1, 1, 1, 1, 1)),
        clinician(),
        r("vas_wellbeing", "child", vas_wellbeing=50),
    ]
    scores = score_visit(now, baseline=base, age_years=10).scores
    assert scores["acr_change_chaq_di"] == 50.0  # child 2 → 1; the parent's 1 → 1 would be 0


def test_single_respondent_gets_no_qualified_names() -> None:
    scores = score_visit([VisitResponse("chaq", "parent", PARENT)], age_years=5).scores
    assert scores["chaq_di"] == 1.0
    assert "chaq_di_parent" not in scores


def worked_visit(
    phys: float, wellbeing: int, domains: tuple[int, ...], joints: int, limited: int, esr: int
) -> list[VisitResponse]:
    return [
        VisitResponse("chaq", "child", chaq(*domains)),
        r("vas_wellbeing", "child", vas_wellbeing=wellbeing),
        clinician(phys_global=phys, active_joints=joints, limited_joints=limited, esr=esr),
    ]


def test_worked_acr_check_through_whole_visits() -> None:
    """§4 worked check from answers: chaq_di 1.5 = 12/8 and 1.25 = 10/8."""
    base = worked_visit(6, 70, (2, 2, 2, 2, 1, 1, 1, 1), 10, 8, 40)
    now = worked_visit(3, 40, (2, 2, 1, 1, 1, 1, 1, 1), 5, 8, 42)
    scores = score_visit(now, baseline=base, age_years=10).scores
    assert scores["acr_pedi_30"] is True
    assert scores["acr_pedi_50"] is False
    assert scores["acr_change_wb"] == 300 / 7
    assert scores["acr_change_esr"] == -5.0


def test_chaq_di_at_exactly_30_percent_counts_as_improved() -> None:
    """§4 exact arithmetic: DI 10/6 → 7/6 is 30 % (in floats 29.999…)."""
    base = worked_visit(10, 100, (2, 2, 2, 2, 1, 1), 10, 8, 40)
    # phys_global stays 10, so chaq_di must be the third improved variable.
    now = worked_visit(10, 70, (2, 1, 1, 1, 1, 1), 7, 8, 40)
    scores = score_visit(now, baseline=base, age_years=10).scores
    assert scores["acr_change_chaq_di"] == 30.0
    assert scores["acr_pedi_30"] is True
    assert scores["acr_pedi_50"] is False


def test_acr_compares_like_with_like_across_an_age_threshold() -> None:
    """At baseline (age 7) the rule alone would take the parent's well-being; the visit
    (age 8) takes the child's, so the baseline uses the child's too."""
    base = [
        r("vas_wellbeing", "parent", vas_wellbeing=80),
        r("vas_wellbeing", "child", vas_wellbeing=50),
    ]
    now = [
        r("vas_wellbeing", "parent", vas_wellbeing=80),
        r("vas_wellbeing", "child", vas_wellbeing=40),
    ]
    scores = score_visit(now, baseline=base, age_years=8, baseline_age_years=7).scores
    assert scores["acr_change_wb"] == 20.0
    alone = score_visit(base, age_years=7).scores
    assert alone["wb"] == 8.0


def test_composites_of_a_visit() -> None:
    responses = [*worked_visit(6, 70, (1,) * 8, 12, 8, 40)]
    scores = score_visit(responses, age_years=10).scores
    assert scores["esrn"] == 2.0
    assert scores["jadas71"] == 6 + 7 + 12 + 2
    assert scores["jadas27"] == 6 + 7 + 8 + 2
    assert scores["jadas10"] == 6 + 7 + 10 + 2
    assert scores["cjadas10"] == 6 + 7 + 10
    assert scores["jadas71_category"] == 3


def test_missing_esr_is_named_in_the_composite_note() -> None:
    responses = [r("vas_wellbeing", "child", vas_wellbeing=10), clinician(esr="skipped")]
    result = score_visit(responses, age_years=10)
    assert result.scores["jadas71"] is None
    assert result.notes["jadas71"] == "missing: esr"
    assert result.notes["esrn"] == "missing: esr"
    assert result.scores["cjadas10"] == 1 + 6 + 10


def test_missing_course_nulls_categories_of_a_visit() -> None:
    responses = [r("vas_wellbeing", "child", vas_wellbeing=10), clinician(jia_course="absent")]
    result = score_visit(responses, age_years=10)
    assert result.scores["jadas10_category"] is None
    assert result.notes["jadas10_category"] == "missing: jia_course"


def test_no_baseline_gives_null_acr_with_note() -> None:
    result = score_visit(worked_visit(3, 40, (1,) * 8, 5, 8, 42))
    assert result.scores["acr_pedi_30"] is None
    assert result.notes["acr_pedi_30"] == "no baseline visit given"


def test_child_age_parameters_move_the_choice() -> None:
    responses = [
        r("vas_wellbeing", "parent", vas_wellbeing=70),
        r("vas_wellbeing", "child", vas_wellbeing=40),
    ]
    assert (
        score_visit(responses, age_years=9, params=ScoringParams(wellbeing_child_age=10)).scores[
            "wb"
        ]
        == 7.0
    )


def test_jamar_child_version_used_from_seven() -> None:
    """§2.2 rule: the child's JAMAR counts from 7 years."""
    parent = r("jamar", "parent", jamar_joints=["a"])
    child = r("jamar", "child", jamar_joints=["a", "b"])
    assert score_visit([parent, child], age_years=7).scores["jamar_joint_count"] == 2
    assert score_visit([parent, child], age_years=6.9).scores["jamar_joint_count"] == 1


def test_unknown_form_is_refused_with_a_suggestion() -> None:
    with pytest.raises(FormError, match="did you mean 'chaq'"):
        score_form("chac", {})


def test_form_twice_for_one_respondent_is_refused() -> None:
    with pytest.raises(AnswerError, match="appears twice"):
        score_visit([r("vas_pain", "child", vas_pain=1), r("vas_pain", "child", vas_pain=2)])


def test_unnamed_respondent_next_to_a_named_one_is_refused() -> None:
    with pytest.raises(AnswerError, match="name the respondent"):
        score_visit([r("vas_pain", None, vas_pain=1), r("vas_pain", "child", vas_pain=2)])


@pytest.mark.parametrize(
    ("values", "name"),
    [
        pytest.param({"phys_global": 10.5}, "phys_global", id="§2.4 phys_global above 10"),
        pytest.param({"active_joints": 72}, "active_joints", id="§2.4 active_joints above 71"),
        pytest.param({"esr": -1}, "esr", id="§2.4 negative esr"),
        pytest.param({"jia_course": "systemic"}, "jia_course", id="§2.4 unknown course"),
    ],
)
def test_clinician_values_off_the_scale_are_refused(
    values: dict[str, AnswerValue], name: str
) -> None:
    with pytest.raises(AnswerError, match=name):
        score_visit([clinician(**values)])


def test_acr_uses_the_same_chaq_respondent_at_baseline_across_an_age_threshold() -> None:
    """Baseline at 7 would take the parent's CHAQ; the visit at 8 takes the child's, so the
    baseline uses the child's too (like with like)."""
    base = [VisitResponse("chaq", "parent", PARENT), VisitResponse("chaq", "child", CHILD)]
    now = [VisitResponse("chaq", "parent", PARENT), VisitResponse("chaq", "child", PARENT)]
    scores = score_visit(now, baseline=base, age_years=8, baseline_age_years=7).scores
    assert scores["acr_change_chaq_di"] == 50.0  # child 2 → 1; parent 1 → 1 would be 0
