"""One patient, from the byte spans of the bundle to the record every writer is given.

For one patient: read its responses from the bundle, check and open each envelope
(:class:`~epro.export.verify.Verifier`), turn the rejected ones into ``problems.csv`` rows,
keep the first copy of a response id the bundle holds twice, assemble and score the record
(:func:`~epro.export.assemble.assemble_patient`) and, when asked, de-identify it. Everything
here is per patient and needs no other patient, so it runs in worker processes
(:mod:`epro.export.parallel`) as well as inline, with the same result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from epro.bundle import RosterRecord, Span, read_span
from epro.export.assemble import assemble_patient
from epro.export.catalogue import Catalogue
from epro.export.deidentify import Deidentifier
from epro.export.problems import Kind, Problem
from epro.export.records import ExportResponse, PatientRecord, ResponseStatus
from epro.export.verify import Check, Rejected, Verifier
from epro.scoring.params import ScoringParams


@dataclass(frozen=True, slots=True)
class PatientTask:
    """A patient to export: true code, the code written, roster entry, where its responses are."""

    code: str
    written_code: str
    site: str
    roster: RosterRecord | None
    spans: tuple[Span, ...]
    count: int
    #: (response id, reason) of each of the patient's responses marked entered in error.
    entered_in_error: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PatientResult:
    """The record the writers get, the rows for ``problems.csv``, and what was counted."""

    record: PatientRecord
    problems: tuple[Problem, ...]
    rejected: int
    superseded: int
    entered_in_error: int = 0


class PatientExporter:
    """Everything one process needs to export patients of one bundle."""

    def __init__(
        self,
        bundle: Path,
        verifier: Verifier,
        catalogue: Catalogue,
        params: ScoringParams,
        deidentifier: Deidentifier | None,
    ) -> None:
        self._bundle = bundle
        self._verifier = verifier
        self._catalogue = catalogue
        self._params = params
        self._deidentifier = deidentifier

    def export(self, task: PatientTask) -> PatientResult:
        problems: list[Problem] = []
        verified: list[ExportResponse] = []
        seen: set[str] = set()
        rejected = 0
        for span in task.spans:
            for stored in read_span(self._bundle, span, "response"):
                outcome = self._verifier.check(stored)
                if isinstance(outcome, Rejected):
                    rejected += 1
                    problems.append(_rejected(outcome, outcome.check, outcome.reason))
                elif outcome.response_id in seen:
                    rejected += 1
                    problems.append(
                        _rejected(
                            outcome,
                            Check.BUNDLE_RECORD,
                            "the bundle holds this response twice; the first copy is exported",
                        )
                    )
                else:
                    seen.add(outcome.response_id)
                    verified.append(outcome)
        marks = dict(task.entered_in_error)
        record, found = assemble_patient(
            task.code,
            task.site,
            task.roster,
            verified,
            study=self._catalogue.study,
            params=self._params,
            entered_in_error=marks,
        )
        problems.extend(found)
        for response_id in sorted(marks.keys() - seen):
            problems.append(
                Problem(
                    Kind.ANNOTATION,
                    response_id,
                    "",
                    task.code,
                    "annotation",
                    "marked entered in error on the server, but the bundle holds no verified "
                    "response with this id for this patient; the mark changes nothing",
                )
            )
        superseded = sum(problem.kind is Kind.SUPERSEDED for problem in found)
        wrong = sum(r.status is ResponseStatus.ENTERED_IN_ERROR for r in record.responses)
        if self._deidentifier is not None:
            record = self._deidentifier.patient(record, self._catalogue.forms)
            problems = [self._deidentifier.problem(problem) for problem in problems]
        return PatientResult(record, tuple(problems), rejected, superseded, wrong)


def _rejected(response: Rejected | ExportResponse, check: Check, reason: str) -> Problem:
    return Problem(
        Kind.REJECTED,
        response.response_id,
        response.device_id,
        response.patient,
        check.value,
        reason,
    )
