"""Scoring every visit of one patient: each visit's scores, ACR Pedi against the baseline, and
the repeat-infusion decision (instruments.md §4.1).

This is the scoring the export runs (DESIGN §9: composites and ACR Pedi need several responses,
so scoring at export is the source of truth). It is :func:`epro.scoring.score_visit` per visit,
with the baseline visit's responses as the baseline of every later visit, so its numbers are
those of ``epro score VISIT.json --baseline BASE.json`` on the same answers; the repeat-infusion
scores are those of ``epro score`` with ``"visit"`` in the file and ``--previous``.

Every visit carries ``repeat_infusion_eligible`` and ``repeat_infusion_reason``: computed at
the following visits of ``params.repeat_infusion_visits`` (V3, V5), null with a note saying
where the rule applies at every other visit, so a column of them is never silently empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from epro.errors import EproError
from epro.scoring.params import DEFAULT_PARAMS, ScoringParams
from epro.scoring.repeat_infusion import (
    DISQUALIFYING,
    Comparison,
    InfusionInputs,
    VisitCoreSet,
    decide,
    not_decided,
)
from epro.scoring.result import ScoreResult
from epro.scoring.visit import (
    VisitResponse,
    clinician_flag,
    compared_core_sets,
    core_set,
    score_visit,
)


def score_patient(
    visits: Mapping[str, Sequence[VisitResponse]],
    *,
    ages: Mapping[str, float | None],
    baseline_visit: str = "V1",
    params: ScoringParams = DEFAULT_PARAMS,
) -> dict[str, ScoreResult]:
    """The scores of each visit in ``visits`` (visit code → that visit's responses).

    ``ages`` gives the patient's age in years at each visit (None when unknown). The baseline
    visit itself has no ACR Pedi (nothing to compare with); a patient without a baseline visit
    has none at any visit.
    """
    baseline = visits.get(baseline_visit)
    scored: dict[str, ScoreResult] = {}
    for code, responses in visits.items():
        against = None if code == baseline_visit else baseline
        scored[code] = score_visit(
            responses,
            baseline=against,
            age_years=ages.get(code),
            params=params,
            baseline_age_years=ages.get(baseline_visit),
        )
    responses_of = {following: response for response, following in params.repeat_infusion_visits}
    for code, result in scored.items():
        if code in responses_of:
            decision = repeat_infusion(
                visits,
                ages=ages,
                baseline_visit=baseline_visit,
                response_visit=responses_of[code],
                following_visit=code,
                params=params,
            )
        else:
            decision = not_decided(list(responses_of))
        scored[code] = result.merged(decision)
    return scored


def _compare(
    visits: Mapping[str, Sequence[VisitResponse]],
    ages: Mapping[str, float | None],
    before: str,
    after: str,
    params: ScoringParams,
) -> Comparison:
    earlier, later = visits.get(before), visits.get(after)
    if earlier and later:
        old, new = compared_core_sets(
            later,
            earlier,
            age_years=ages.get(after),
            baseline_age_years=ages.get(before),
            params=params,
        )
        return Comparison(VisitCoreSet(before, old), VisitCoreSet(after, new))
    # A visit without responses is one gap; the other visit's inputs still name their own.
    return Comparison(
        VisitCoreSet(before, core_set(earlier, ages.get(before), params) if earlier else None),
        VisitCoreSet(after, core_set(later, ages.get(after), params) if later else None),
    )


def repeat_infusion(
    visits: Mapping[str, Sequence[VisitResponse]],
    *,
    ages: Mapping[str, float | None],
    baseline_visit: str,
    response_visit: str,
    following_visit: str,
    params: ScoringParams = DEFAULT_PARAMS,
) -> ScoreResult:
    """The repeat-infusion decision at ``following_visit`` (§4.1), from the visits' responses."""
    if response_visit == baseline_visit:
        raise EproError(
            f"repeat_infusion_visits: the response visit {response_visit} is the baseline visit; "
            "ACR Pedi 30 needs a response visit after the baseline"
        )
    inputs = InfusionInputs(
        response=_compare(visits, ages, baseline_visit, response_visit, params),
        kept=_compare(visits, ages, baseline_visit, following_visit, params),
        between=_compare(visits, ages, response_visit, following_visit, params),
        disqualifying_treatment=clinician_flag(visits.get(following_visit, []), DISQUALIFYING),
    )
    return decide(inputs, params)
