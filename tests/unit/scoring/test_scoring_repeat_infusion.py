"""Repeat-infusion eligibility, instruments.md §4.1: the pure rule by tables of cases.

Core sets are written (phys_global, wb, chaq_di, active_joints, limited_joints, esr), as in
instruments.md; every expected decision and reason is worked out by hand from the rule.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epro.errors import EproError
from epro.schedule import load_study
from epro.scoring import DEFAULT_PARAMS, ScoringParams
from epro.scoring.acr_pedi import CORE_SET
from epro.scoring.repeat_infusion import (
    ELIGIBLE,
    REASON,
    Comparison,
    InfusionInputs,
    VisitCoreSet,
    decide,
    not_decided,
    params_for_protocol,
    visits_from_protocol,
)

Core = tuple[float | None, ...] | None


def core(values: Core) -> dict[str, Fraction | None] | None:
    if values is None:
        return None
    return {
        name: None if v is None else Fraction(repr(v))
        for name, v in zip(CORE_SET, values, strict=True)
    }


def inputs(
    v1: Core, v2: Core, v3: Core, treated: bool | None, visits: str = "V1 V2 V3"
) -> InfusionInputs:
    base, response, following = visits.split()

    def side(code: str, values: Core) -> VisitCoreSet:
        return VisitCoreSet(code, core(values))

    return InfusionInputs(
        response=Comparison(side(base, v1), side(response, v2)),
        kept=Comparison(side(base, v1), side(following, v3)),
        between=Comparison(side(response, v2), side(following, v3)),
        disqualifying_treatment=treated,
    )


# instruments.md §4 / §4.1 worked check.
V1 = (6, 7, 1.5, 10, 8, 40)
V2 = (3, 4, 1.25, 5, 8, 42)  # improvements 50, 42.9, 16.7, 50, 0, -5 %: Pedi 30 yes
V3 = (5, 6, 1.5, 9, 8, 40)  # improvements 16.7, 14.3, 0, 10, 0, 0 %: Pedi 30 no

LOST_RESPONSE_CASES = [
    pytest.param(
        V1, V2, V3, False, True, "ACR Pedi 30 at V2, lost at V3", id="§4.1 worked check: eligible"
    ),
    pytest.param(
        V1, V2, V2, False, False, "ACR Pedi 30 at V2, kept at V3", id="§4.1 response kept at V3"
    ),
    pytest.param(V1, V1, V3, False, False, "no ACR Pedi 30 at V2", id="§4.1 no response at V2"),
    pytest.param(
        V1,
        V2,
        V3,
        True,
        False,
        "disqualifying treatment since the last infusion",
        id="§4.1 disqualifying treatment",
    ),
    pytest.param(
        V1,
        V1,
        V3,
        True,
        False,
        "no ACR Pedi 30 at V2; disqualifying treatment since the last infusion",
        id="§4.1 both failures named",
    ),
    pytest.param(
        V1,
        V2,
        V3,
        None,
        None,
        "missing: disqualifying_treatment at V3",
        id="§4.1 unanswered disqualifying_treatment is unknown, not no",
    ),
    pytest.param(
        V1,
        (3, 4, 1.25, 5, 8, None),
        V3,
        False,
        None,
        "missing: esr at V2",
        id="§4.1 esr missing at the response visit",
    ),
    pytest.param(
        (6, 7, 1.5, 10, 8, None),
        V2,
        V3,
        False,
        None,
        "missing: esr at V1",
        id="§4.1 esr missing at baseline: both comparisons, named once",
    ),
    pytest.param(
        (6, None, 1.5, 10, 8, None),
        V2,
        (5, 6, None, 9, 8, None),
        None,
        None,
        "missing: wb at V1, chaq_di at V3, esr at V1 and V3, disqualifying_treatment at V3",
        id="§4.1 every missing input with its visits, in core-set order",
    ),
    pytest.param(
        V1, None, V3, False, None, "missing: no data at V2", id="§4.1 response visit without data"
    ),
    pytest.param(
        None,
        V2,
        V3,
        None,
        None,
        "missing: no data at V1, disqualifying_treatment at V3",
        id="§4.1 no baseline visit",
    ),
    pytest.param(
        V1,
        (3, 4, 1.25, 5, 8, None),
        V2,
        None,
        False,
        "ACR Pedi 30 at V3, so the effect has not waned",
        id="§4.1 response at V2 unknown but kept at V3: not eligible whatever V2 was",
    ),
    pytest.param(
        V1,
        (3, 4, 1.25, 5, 8, None),
        V3,
        True,
        False,
        "disqualifying treatment since the last infusion",
        id="§4.1 disqualifying treatment decides despite missing inputs",
    ),
    pytest.param(
        V1,
        V1,
        None,
        None,
        False,
        "no ACR Pedi 30 at V2",
        id="§4.1 no response at V2 decides without the following visit",
    ),
]


@pytest.mark.parametrize(("v1", "v2", "v3", "treated", "eligible", "reason"), LOST_RESPONSE_CASES)
def test_lost_response_rule(
    v1: Core, v2: Core, v3: Core, treated: bool | None, eligible: bool | None, reason: str
) -> None:
    result = decide(inputs(v1, v2, v3, treated))
    assert result.scores[ELIGIBLE] is eligible
    assert result.scores[REASON] == reason
    if eligible is None:
        assert result.notes[ELIGIBLE] == reason
    else:
        assert ELIGIBLE not in result.notes


def test_v5_is_decided_from_v4_like_v3_from_v2() -> None:
    """§4.1: "the same at V5 with V4 and V5", the reason naming those visits."""
    result = decide(inputs(V1, V2, V3, False, visits="V1 V4 V5"))
    assert result.scores == {ELIGIBLE: True, REASON: "ACR Pedi 30 at V4, lost at V5"}
    missing = decide(inputs(V1, V2, None, False, visits="V1 V4 V5"))
    assert missing.scores[REASON] == "missing: no data at V5"


def test_the_response_is_always_acr_pedi_30_whatever_levels_a_study_reports() -> None:
    """§4.1 reads ACR Pedi 30 even when a study reports only Pedi 50 and 70."""
    params = ScoringParams(acr_levels=(50, 70))
    assert decide(inputs(V1, V2, V3, False), params).scores[ELIGIBLE] is True


# Flare (Brunner 2002) between V2 and V3. FV2 responds against V1: improvements 58.3, 92.9,
# 16.7, 50, 0, -5 % (Pedi 30 yes).
FV2 = (2.5, 0.5, 1.25, 5, 8, 42)
FV2_ZERO_JOINTS = (2.5, 0.5, 1.25, 0, 8, 42)

FLARE_CASES = [
    pytest.param(
        FV2,
        (3.5, 0.7, 1.25, 5, 8, 42),
        True,
        "ACR Pedi 30 at V2, flare at V3",
        # 0.5 → 0.7 is exactly 40 % worse; in binary floats it comes out 39.999… %.
        id="§4.1 flare: two variables exactly 40 % worse (exact arithmetic)",
    ),
    pytest.param(
        FV2,
        (3.5, 0.5, 1.25, 5, 8, 58.8),
        True,
        "ACR Pedi 30 at V2, flare at V3",
        id="§4.1 flare: esr 42 → 58.8 is exactly 40 % worse",
    ),
    pytest.param(
        FV2,
        (3.5, 0.5, 1.25, 5, 8, 58.79),
        False,
        "ACR Pedi 30 at V2, no flare at V3",
        id="§4.1 flare: just under 40 % worse does not count",
    ),
    pytest.param(
        FV2,
        (3.5, 0.6, 1.25, 5, 8, 42),
        False,
        "ACR Pedi 30 at V2, no flare at V3",
        id="§4.1 flare: one variable 40 % worse is not enough",
    ),
    pytest.param(
        FV2,
        (3.5, 0.7, 1.25, 3, 8, 42),
        True,
        "ACR Pedi 30 at V2, flare at V3",
        id="§4.1 flare: one remaining variable improved by ≥ 30 % is allowed",
    ),
    pytest.param(
        FV2,
        (3.5, 0.7, 1.25, 3, 8, 29.4),
        False,
        "ACR Pedi 30 at V2, no flare at V3",
        id="§4.1 flare: two remaining improved (esr by exactly 30 %) is no flare",
    ),
    pytest.param(
        FV2,
        (3.5, 0.7, 1.25, 3, 8, 29.5),
        True,
        "ACR Pedi 30 at V2, flare at V3",
        id="§4.1 flare: esr about 29.8 % better is not improved, so only one improved",
    ),
    pytest.param(
        FV2_ZERO_JOINTS,
        (3.5, 0.5, 1.25, 1, 8, 42),
        True,
        "ACR Pedi 30 at V2, flare at V3",
        id="§4.1 flare with the §4 zero rule: 0 → 1 active joint counts as worsened",
    ),
    pytest.param(
        FV2_ZERO_JOINTS,
        (3.5, 0.5, 1.25, 0, 8, 42),
        False,
        "ACR Pedi 30 at V2, no flare at V3",
        id="§4.1 flare with the §4 zero rule: 0 → 0 is no change",
    ),
    pytest.param(
        V1,
        (3.5, 0.7, 1.25, 5, 8, 42),
        False,
        "no ACR Pedi 30 at V2",
        id="§4.1 flare without a response at V2 is not eligible",
    ),
]


@pytest.mark.parametrize(("v2", "v3", "eligible", "reason"), FLARE_CASES)
def test_flare_rule(v2: Core, v3: Core, eligible: bool, reason: str) -> None:
    params = ScoringParams(waning="flare")
    result = decide(inputs(V1, v2, v3, False), params).scores
    assert (result[ELIGIBLE], result[REASON]) == (eligible, reason)


def test_flare_zero_rule_follows_the_acr_parameter() -> None:
    """§4.1 "the zero rules of §4 apply": with 0 → more not counted as worse, no flare."""
    params = ScoringParams(waning="flare", acr_zero_baseline_worsens=False)
    result = decide(inputs(V1, FV2_ZERO_JOINTS, (3.5, 0.5, 1.25, 1, 8, 42), False), params)
    assert result.scores[ELIGIBLE] is False


def test_flare_reads_the_response_and_following_visits_not_the_baseline() -> None:
    """§4.1 flare is "between the response visit and the following visit": a baseline gap
    leaves the response unknown, but a missing V3 value is what the flare lacks."""
    params = ScoringParams(waning="flare")
    no_baseline_esr = (6, 7, 1.5, 10, 8, None)
    result = decide(inputs(no_baseline_esr, FV2, (3.5, 0.7, 1.25, 5, 8, 42), False), params)
    assert result.scores[REASON] == "missing: esr at V1"
    no_flare = decide(inputs(no_baseline_esr, FV2, FV2, False), params)
    assert no_flare.scores[REASON] == "no flare between V2 and V3"
    gap = decide(inputs(V1, FV2, (3.5, 0.7, None, 5, 8, 42), False), params)
    assert gap.scores[REASON] == "missing: chaq_di at V3"


def test_other_visits_carry_null_scores_saying_where_the_rule_applies() -> None:
    """§4.1 "no other visit is ever eligible"."""
    result = not_decided(["V3", "V5"])
    assert result.scores == {ELIGIBLE: None, REASON: None}
    assert result.notes[ELIGIBLE] == "a repeat infusion is decided only at V3 and V5"


# --- property: a decided result never depends on what is missing ------------------------

VALUE = st.integers(0, 120).map(lambda n: n / 2)
MAYBE = st.one_of(st.none(), VALUE)
SIX = st.tuples(*[MAYBE] * 6)


def filled(values: Core, fill: tuple[float, ...]) -> Core:
    if values is None:
        return fill
    return tuple(f if v is None else v for v, f in zip(values, fill, strict=True))


@settings(max_examples=300, deadline=None)
@given(
    visits=st.tuples(*[st.one_of(st.none(), SIX)] * 3),
    fills=st.tuples(*[st.tuples(*[VALUE] * 6)] * 3),
    treated=st.one_of(st.none(), st.booleans()),
    fill_treated=st.booleans(),
    waning=st.sampled_from(["lost_response", "flare"]),
)
def test_a_decision_made_with_gaps_holds_whatever_fills_them(
    visits: tuple[Core, Core, Core],
    fills: tuple[tuple[float, ...], ...],
    treated: bool | None,
    fill_treated: bool,
    waning: Literal["lost_response", "flare"],
) -> None:
    """§4.1: the rule is "and" over its three conditions. A yes or no reached with inputs
    missing stays the same once they are given, and a null becomes a yes or no."""
    params = replace(DEFAULT_PARAMS, waning=waning)
    partial = decide(inputs(*visits, treated), params).scores[ELIGIBLE]
    v1, v2, v3 = (filled(v, f) for v, f in zip(visits, fills, strict=True))
    complete = decide(
        inputs(v1, v2, v3, fill_treated if treated is None else treated), params
    ).scores[ELIGIBLE]
    assert complete is not None
    if partial is not None:
        assert complete is partial


# --- which visits: derived from the study protocol ----------------------------------------


def test_the_shipped_protocol_gives_the_default_visits() -> None:
    """§4.1 / study.toml: the visits named "possible repeat infusion" are V3 and V5, after V2
    and V4, which are the defaults of the rule's parameters."""
    study = load_study()
    pairs = visits_from_protocol(study.visits, study.baseline_visit)
    assert pairs == (("V2", "V3"), ("V4", "V5"))
    assert pairs == DEFAULT_PARAMS.repeat_infusion_visits
    params = params_for_protocol(study.visits, study.baseline_visit, ScoringParams(waning="flare"))
    assert (params.repeat_infusion_visits, params.waning) == (pairs, "flare")


def test_a_repeat_infusion_visit_right_after_the_baseline_is_refused() -> None:
    study = load_study()
    visits = [
        replace(v, name="possible repeat infusion") if v.code == "V2" else v for v in study.visits
    ]
    with pytest.raises(EproError, match=r"V2 .* not after the baseline visit V1"):
        visits_from_protocol(visits, "V1")
    first = [replace(study.visits[0], name="Possible repeat infusion"), *study.visits[1:]]
    with pytest.raises(EproError, match="is the first visit"):
        visits_from_protocol(first, "V1")


def test_a_protocol_without_repeat_infusion_visits_gives_none() -> None:
    study = load_study()
    plain = [replace(v, name=f"Week {v.week}") for v in study.visits]
    assert visits_from_protocol(plain, "V1") == ()
    assert not_decided([]).notes[ELIGIBLE] == (
        "no visit of the protocol is a possible repeat-infusion visit"
    )


PARAM_PROBLEMS = [
    pytest.param({"waning": "gone"}, "waning must be one of lost_response, flare", id="waning"),
    pytest.param({"repeat_infusion_visits": (("V2",),)}, "pairs", id="not a pair"),
    pytest.param({"repeat_infusion_visits": (("V3", "V3"),)}, "follow itself", id="self"),
    pytest.param(
        {"repeat_infusion_visits": (("V2", "V3"), ("V1", "V3"))}, "only once", id="V3 twice"
    ),
    pytest.param({"flare_min_worsened": 0}, "flare_min_worsened", id="flare needs one"),
]


@pytest.mark.parametrize(("change", "fragment"), PARAM_PROBLEMS)
def test_impossible_rule_settings_are_refused(change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(EproError, match=fragment):
        ScoringParams(**change)
