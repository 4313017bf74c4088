"""One patient's verified responses → the :class:`PatientRecord` every format is written from.

Rules (DESIGN §9):

* A visit's date is the earliest submission date (UTC) of its verified responses; the age at
  the visit is :func:`epro.schedule.timeline.age_at` of the roster's birth month on that date.
* A response a data manager marked **entered in error** (a bundle annotation) is exported
  with that status and the reason, and takes part in nothing else: it is neither scored nor
  does it supersede, and it gives its visit no date (a visit of such responses alone has no
  visit record).
* One form, one respondent, one visit, several verified responses: the **latest submission
  is scored** (ties broken by response id); every one of them is exported, the earlier ones
  marked ``superseded`` and listed in ``problems.csv``. The latest is what the respondent
  gave last, and a kiosk never edits a submitted response, so a second submission is a
  deliberate redo.
* Scores come from :func:`epro.scoring.trial.score_patient` over every visit, the protocol's
  baseline visit as the baseline. A patient whose visits cannot be scored keeps its
  responses, without scores, and gets a ``scoring`` row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, date
from typing import Final

from epro.bundle import RosterRecord
from epro.errors import EproError, ScheduleError
from epro.export.problems import Kind, Problem
from epro.export.records import (
    ExportResponse,
    PatientRecord,
    ResponseStatus,
    VisitRecord,
)
from epro.schedule import Study
from epro.schedule.timeline import age_at
from epro.scoring.params import ScoringParams
from epro.scoring.result import ScoreResult
from epro.scoring.trial import score_patient
from epro.scoring.visit import VisitResponse

SUPERSEDED_REASON: Final = (
    "a later submission of this form by the same respondent at this visit is the one scored"
)


def _submission_order(response: ExportResponse) -> tuple[object, str]:
    return (response.submitted_at, response.response_id)


def assemble_patient(
    code: str,
    site: str,
    roster: RosterRecord | None,
    responses: Sequence[ExportResponse],
    *,
    study: Study,
    params: ScoringParams,
    entered_in_error: Mapping[str, str] | None = None,
) -> tuple[PatientRecord, list[Problem]]:
    """The patient's record from its verified ``responses``, and what to report about it.

    ``entered_in_error`` holds the data manager's reason for each response id so marked.
    """
    problems: list[Problem] = []
    marks = entered_in_error or {}
    ordered = sorted(responses, key=_submission_order)
    valid = [r for r in ordered if r.response_id not in marks]
    # The latest of each (visit, form, respondent) is scored; earlier ones are superseded.
    latest: dict[tuple[str, str, str], ExportResponse] = {}
    for response in valid:
        latest[(response.visit, response.form_id, response.respondent)] = response
    scored_ids = {r.response_id for r in latest.values()}
    exported: list[ExportResponse] = []
    for response in ordered:
        if response.response_id in marks:
            exported.append(
                dataclasses.replace(
                    response,
                    status=ResponseStatus.ENTERED_IN_ERROR,
                    status_reason=marks[response.response_id],
                )
            )
            continue
        if response.response_id in scored_ids:
            exported.append(response)
            continue
        exported.append(
            dataclasses.replace(
                response, status=ResponseStatus.SUPERSEDED, status_reason=SUPERSEDED_REASON
            )
        )
        problems.append(
            Problem(
                Kind.SUPERSEDED,
                response.response_id,
                response.device_id,
                code,
                "one response per form and respondent per visit",
                f"{response.form_id} by the {response.respondent} at {response.visit}: "
                + SUPERSEDED_REASON,
            )
        )
    order = {visit.code: place for place, visit in enumerate(study.visits)}
    visit_codes = sorted({r.visit for r in valid}, key=lambda v: order.get(v, len(order)))
    dates = {
        visit: min(r.submitted_at.astimezone(UTC).date() for r in valid if r.visit == visit)
        for visit in visit_codes
    }
    ages = _ages(code, roster, dates, problems)
    per_visit = {
        visit: [r for r in valid if r.visit == visit and r.response_id in scored_ids]
        for visit in visit_codes
    }
    scores = _scores(code, per_visit, ages, study, params, problems)
    visits = [
        VisitRecord(
            visit=visit,
            visit_date=dates[visit],
            age_years=ages[visit],
            responses=per_visit[visit],
            scores=scores[visit].scores,
            notes=scores[visit].notes,
        )
        for visit in visit_codes
    ]
    record = PatientRecord(
        code=code,
        site=site if roster is None else roster.site,
        birth_ym=None if roster is None else roster.birth_ym,
        baseline_date=None if roster is None else roster.baseline_date,
        visits=visits,
        responses=exported,
    )
    return record, problems


def _ages(
    code: str,
    roster: RosterRecord | None,
    dates: Mapping[str, date],
    problems: list[Problem],
) -> dict[str, float | None]:
    if roster is None:
        if dates:
            problems.append(
                _roster_problem(
                    code,
                    "the patient is not on the server roster: no birth month or baseline "
                    "date, so ages are unknown",
                )
            )
        return dict.fromkeys(dates)
    ages: dict[str, float | None] = {}
    for visit, day in dates.items():
        try:
            ages[visit] = age_at(roster.birth_ym, day)
        except ScheduleError:
            ages[visit] = None
            problems.append(
                _roster_problem(
                    code, f"the roster's birth month does not fit the date of {visit}: age unknown"
                )
            )
    return ages


def _roster_problem(code: str, reason: str) -> Problem:
    """A problem with the patient's roster entry, which belongs to no single response."""
    return Problem(Kind.ROSTER, "", "", code, "roster", reason)


def _scores(
    code: str,
    per_visit: Mapping[str, Sequence[ExportResponse]],
    ages: Mapping[str, float | None],
    study: Study,
    params: ScoringParams,
    problems: list[Problem],
) -> Mapping[str, ScoreResult]:
    visits = {
        visit: [VisitResponse(r.form_id, r.respondent, r.answers) for r in responses]
        for visit, responses in per_visit.items()
    }
    try:
        return score_patient(visits, ages=ages, baseline_visit=study.baseline_visit, params=params)
    except EproError as error:
        problems.append(Problem(Kind.SCORING, "", "", code, "scoring", str(error)))
        return {visit: ScoreResult(notes={"scores": "not scored"}) for visit in visits}
