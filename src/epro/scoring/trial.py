"""Scoring every visit of one patient: each visit's scores, ACR Pedi against the baseline.

This is the scoring the export runs (DESIGN §9: composites and ACR Pedi need several responses,
so scoring at export is the source of truth). It is :func:`epro.scoring.score_visit` per visit,
with the baseline visit's responses as the baseline of every later visit, so its numbers are
those of ``epro score VISIT.json --baseline BASE.json`` on the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from epro.scoring.params import DEFAULT_PARAMS, ScoringParams
from epro.scoring.result import ScoreResult
from epro.scoring.visit import VisitResponse, score_visit


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
    return scored
