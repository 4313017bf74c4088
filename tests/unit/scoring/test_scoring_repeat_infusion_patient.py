"""Repeat-infusion eligibility through ``score_patient`` (instruments.md §4.1), from answers.

Each visit is built from its core set (phys_global, wb, chaq_di, active_joints,
limited_joints, esr) as real form answers: a 12-year-old answers the CHAQ and the VAS herself
(§2.1, §2.3), ``wb`` is the well-being VAS / 10 (§3), and the CHAQ domain scores are chosen so
their mean is the ``chaq_di`` asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epro.errors import AnswerError, EproError
from epro.forms.model import AnswerValue
from epro.scoring import DEFAULT_PARAMS, ScoringParams, VisitResponse
from epro.scoring.chaq import DOMAINS
from epro.scoring.repeat_infusion import ELIGIBLE, REASON
from epro.scoring.trial import score_patient

VISITS = ("V0", "V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8")
AGE = 12.0


def visit(
    phys: float,
    wb: float,
    chaq_di: float,
    active: float,
    limited: float,
    esr: float,
    *,
    treated: AnswerValue | None = False,
) -> list[VisitResponse]:
    total = Fraction(repr(chaq_di)) * 8
    assert total.denominator == 1, "chaq_di must be a mean of 8 whole domain scores"
    low, extra = divmod(int(total), 8)
    chaq = {items[0]: low + (1 if n < extra else 0) for n, items in enumerate(DOMAINS.values())}
    clinician: dict[str, AnswerValue] = {
        "phys_global": phys,
        "active_joints": active,
        "active_joints_27": min(active, 27),
        "limited_joints": limited,
        "esr": esr,
        "jia_course": "poly",
    }
    if treated is not None:
        clinician["disqualifying_treatment"] = treated
    vas = Fraction(repr(wb)) * 10
    assert vas.denominator == 1
    return [
        VisitResponse("chaq", "child", chaq),
        VisitResponse("vas_wellbeing", "child", {"vas_wellbeing": int(vas)}),
        VisitResponse("clinician", None, clinician),
    ]


# instruments.md §4.1 worked check.
BASE = visit(6, 7, 1.5, 10, 8, 40)
RESPONSE = visit(3, 4, 1.25, 5, 8, 42)  # Pedi 30 against V1
LOST = visit(5, 6, 1.5, 9, 8, 40)  # no longer Pedi 30 against V1


def scores(
    visits: dict[str, list[VisitResponse]], params: ScoringParams = DEFAULT_PARAMS
) -> dict[str, dict[str, Any]]:
    result = score_patient(visits, ages=dict.fromkeys(visits, AGE), params=params)
    return {code: dict(r.scores) | {"_notes": r.notes} for code, r in result.items()}


def test_worked_check_is_eligible_at_v3() -> None:
    """§4.1 worked check: V2 Pedi 30 yes; V3 improvements 16.7, 14.3, 0, 10, 0, 0 % → Pedi 30
    no → eligible at V3 under "lost_response"."""
    got = scores({"V1": BASE, "V2": RESPONSE, "V3": LOST})
    assert got["V2"]["acr_pedi_30"] is True
    v3 = got["V3"]
    changes = [v3[f"acr_change_{n}"] for n in ("phys_global", "wb", "chaq_di")]
    changes += [v3[f"acr_change_{n}"] for n in ("active_joints", "limited_joints", "esr")]
    assert changes == pytest.approx([100 / 6, 100 / 7, 0, 10, 0, 0])
    assert v3["acr_pedi_30"] is False
    assert v3[ELIGIBLE] is True
    assert v3[REASON] == "ACR Pedi 30 at V2, lost at V3"
    assert isinstance(v3[REASON], str)


def test_v5_after_a_response_at_v4() -> None:
    """§4.1 "the same at V5 with V4 and V5"; V3, where the response was kept, is not eligible."""
    got = scores({"V1": BASE, "V2": RESPONSE, "V3": RESPONSE, "V4": RESPONSE, "V5": LOST})
    assert (got["V3"][ELIGIBLE], got["V3"][REASON]) == (False, "ACR Pedi 30 at V2, kept at V3")
    assert (got["V5"][ELIGIBLE], got["V5"][REASON]) == (True, "ACR Pedi 30 at V4, lost at V5")


@pytest.mark.parametrize("code", [c for c in VISITS if c not in ("V3", "V5")])
def test_no_other_visit_is_ever_eligible(code: str) -> None:
    """§4.1 "No other visit is ever eligible": every visit responds and then loses it, so the
    rule would hold everywhere if it were applied everywhere; only V3 and V5 decide."""
    alternating = {c: LOST if n % 2 else RESPONSE for n, c in enumerate(VISITS)}
    got = scores({"V1": BASE, **{c: v for c, v in alternating.items() if c != "V1"}})
    assert got[code][ELIGIBLE] is None
    assert got[code][REASON] is None
    assert got[code]["_notes"][ELIGIBLE] == "a repeat infusion is decided only at V3 and V5"
    assert got["V3"][ELIGIBLE] is True
    assert got["V5"][ELIGIBLE] is True


TREATMENT_CASES = [
    pytest.param(True, False, "disqualifying treatment since the last infusion", id="yes"),
    pytest.param(False, True, "ACR Pedi 30 at V2, lost at V3", id="no"),
    pytest.param(None, None, "missing: disqualifying_treatment at V3", id="not answered"),
    pytest.param("skipped", None, "missing: disqualifying_treatment at V3", id="skipped"),
]


@pytest.mark.parametrize(("treated", "eligible", "reason"), TREATMENT_CASES)
def test_disqualifying_treatment_at_the_following_visit(
    treated: AnswerValue | None, eligible: bool | None, reason: str
) -> None:
    """§4.1: "disqualifying_treatment at V3 is not true"; an unanswered one is unknown."""
    got = scores({"V1": BASE, "V2": RESPONSE, "V3": visit(5, 6, 1.5, 9, 8, 40, treated=treated)})
    assert (got["V3"][ELIGIBLE], got["V3"][REASON]) == (eligible, reason)


def test_disqualifying_treatment_at_the_response_visit_does_not_count() -> None:
    """§4.1 reads the answer at the following visit (treatment since the last infusion)."""
    response = visit(3, 4, 1.25, 5, 8, 42, treated=True)
    assert scores({"V1": BASE, "V2": response, "V3": LOST})["V3"][ELIGIBLE] is True


def test_missing_inputs_are_named_with_their_visits() -> None:
    """§4.1: null names which inputs are missing at which visit."""
    no_esr = [r for r in RESPONSE if r.form != "clinician"] + [
        VisitResponse(
            "clinician",
            None,
            {"phys_global": 3, "active_joints": 5, "active_joints_27": 5, "limited_joints": 8},
        )
    ]
    got = scores({"V1": BASE, "V2": no_esr, "V3": LOST})
    assert got["V3"][ELIGIBLE] is None
    reason = "missing: esr at V2"
    assert got["V3"][REASON] == reason
    assert got["V3"]["_notes"][ELIGIBLE] == reason


def test_a_response_visit_not_held_is_named() -> None:
    got = scores({"V1": BASE, "V3": LOST})
    assert got["V3"][REASON] == "missing: no data at V2"
    no_baseline = scores({"V2": RESPONSE, "V3": LOST})
    assert no_baseline["V3"][REASON] == "missing: no data at V1"


def test_flare_through_answers() -> None:
    """§4.1 flare between V2 and V3: phys_global 2.5 → 3.5 and wb 0.5 → 0.7, both exactly 40 %
    worse (the well-being VAS 5 → 7)."""
    response = visit(2.5, 0.5, 1.25, 5, 8, 42)
    flare = visit(3.5, 0.7, 1.25, 5, 8, 42)
    visits = {"V1": BASE, "V2": response, "V3": flare}
    got = scores(visits, params=ScoringParams(waning="flare"))
    assert (got["V3"][ELIGIBLE], got["V3"][REASON]) == (True, "ACR Pedi 30 at V2, flare at V3")
    # Under the default, the same patient is still a responder at V3: not eligible.
    assert scores(visits)["V3"][REASON] == "ACR Pedi 30 at V2, kept at V3"


def test_visits_come_from_the_parameters() -> None:
    """§4.1: a study that decides at V4 after V3 passes those visits; V3 then decides nothing."""
    params = ScoringParams(repeat_infusion_visits=(("V3", "V4"),))
    got = scores({"V1": BASE, "V3": RESPONSE, "V4": LOST}, params=params)
    assert (got["V4"][ELIGIBLE], got["V4"][REASON]) == (True, "ACR Pedi 30 at V3, lost at V4")
    assert got["V3"]["_notes"][ELIGIBLE] == "a repeat infusion is decided only at V4"


def test_the_baseline_as_response_visit_is_refused() -> None:
    with pytest.raises(EproError, match="response visit V1 is the baseline visit"):
        score_patient(
            {"V1": BASE, "V2": LOST},
            ages={},
            params=ScoringParams(repeat_infusion_visits=(("V1", "V2"),)),
        )


def test_a_disqualifying_treatment_that_is_not_yes_or_no_is_refused() -> None:
    with pytest.raises(AnswerError, match="disqualifying_treatment: expected yes or no"):
        scores({"V1": BASE, "V2": RESPONSE, "V3": visit(5, 6, 1.5, 9, 8, 40, treated=1)})


# --- property: the decision agrees with the ACR Pedi 30 scores the export shows ------------

PHYS = st.integers(0, 20).map(lambda n: n / 2)
WB = st.integers(0, 100).map(lambda n: n / 10)
DI = st.integers(0, 24).map(lambda n: n / 8)
JOINTS = st.integers(0, 20)
ESR = st.integers(0, 120)
CORE = st.tuples(PHYS, WB, DI, JOINTS, JOINTS, ESR)


def kleene_and(values: Sequence[bool | None]) -> bool | None:
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


@settings(max_examples=60, deadline=None)
@given(v1=CORE, v2=CORE, v3=CORE, treated=st.booleans())
def test_eligibility_agrees_with_the_acr_pedi_30_columns(
    v1: tuple[float, ...], v2: tuple[float, ...], v3: tuple[float, ...], treated: bool
) -> None:
    """§4.1 under "lost_response": eligible at V3 exactly when the acr_pedi_30 score of V2 is
    true, that of V3 is false and no disqualifying treatment was given, so the export's
    columns can be checked against each other."""
    got = scores({"V1": visit(*v1), "V2": visit(*v2), "V3": visit(*v3, treated=treated)})
    p2, p3 = got["V2"]["acr_pedi_30"], got["V3"]["acr_pedi_30"]
    assert isinstance(p2, bool)
    assert isinstance(p3, bool)
    assert got["V3"][ELIGIBLE] is kleene_and([p2, not p3, not treated])


@settings(max_examples=40, deadline=None)
@given(v1=CORE, v2=CORE, v3=CORE, v4=CORE, v5=CORE, treated=st.booleans())
def test_remembering_each_forms_scores_changes_no_score(
    v1: tuple[float, ...],
    v2: tuple[float, ...],
    v3: tuple[float, ...],
    v4: tuple[float, ...],
    v5: tuple[float, ...],
    treated: bool,
) -> None:
    """score_patient scores each form once (the baseline is compared with every later visit);
    every score and note equals scoring without remembering anything."""
    from epro.scoring.trial import _score_patient

    visits = {
        "V1": visit(*v1),
        "V2": visit(*v2),
        "V3": visit(*v3, treated=treated),
        "V4": visit(*v4),
        "V5": visit(*v5),
    }
    ages = dict.fromkeys(visits, AGE)
    remembered = score_patient(visits, ages=ages)
    fresh = _score_patient(visits, ages=ages, baseline_visit="V1", params=DEFAULT_PARAMS)
    assert remembered == fresh
