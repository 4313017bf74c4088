"""The normalised table every export format is written from.

The pipeline turns each verified, opened envelope into an :class:`ExportResponse`, gathers all
of one patient's responses into a :class:`PatientRecord` with a :class:`VisitRecord` per visit
(scores computed from every response of that visit), and hands the records, one patient at a
time, to each :class:`FormatWriter`. Every writer turns this one table into its own files; none
of them reads the bundle, opens a seal or computes a score.

Missing data stay distinguishable everywhere (instruments.md §2): an answer may be ``"na"``
(not applicable, an answer the instrument offers) or ``"skipped"`` (the respondent chose to
skip); an item of a submitted form with no answer is *not asked* when the form's branching
left it out (or the version answered has no such item) and *not reached* otherwise; a form
that was not submitted at a visit is *not collected* (:func:`absent_reason`). Formats that
need numbers use :data:`MISSING_CODES`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

from epro.forms.enablement import rule_holds
from epro.forms.model import AnswerValue, Form, Item
from epro.scoring.result import ScoreValue


class Missing(StrEnum):
    """Why a cell holds no answer."""

    NOT_APPLICABLE = "na"
    SKIPPED = "skipped"
    NOT_REACHED = "not_reached"
    NOT_COLLECTED = "not_collected"
    #: The form never asked it: its branching (``enable_when``) left it out given earlier
    #: answers, or the version answered has no such item.
    NOT_ASKED = "not_asked"


#: Numeric user-missing codes (SPSS): one range, -9 … -5, that no answer of any form can take
#: (every numeric item is 0 or more).
MISSING_CODES: Final[Mapping[Missing, int]] = {
    Missing.NOT_APPLICABLE: -8,
    Missing.SKIPPED: -7,
    Missing.NOT_REACHED: -9,
    Missing.NOT_COLLECTED: -6,
    Missing.NOT_ASKED: -5,
}

#: Plain labels of the missing codes, for codebooks and value labels.
MISSING_LABELS: Final[Mapping[Missing, str]] = {
    Missing.NOT_APPLICABLE: "not applicable (an answer the instrument offers)",
    Missing.SKIPPED: "skipped by the respondent after a confirmation",
    Missing.NOT_REACHED: "not reached (the form was submitted without this item answered)",
    Missing.NOT_COLLECTED: "not collected (the form was not submitted at this visit)",
    Missing.NOT_ASKED: "not asked (the form's branching left it out given earlier answers, "
    "or the version answered has no such item)",
}


def absent_reason(item: Item | None, answers: Mapping[str, AnswerValue]) -> Missing:
    """Why a submitted response holds no answer for ``item`` (None: its version has none)."""
    if item is None or not rule_holds(item.enable_when, answers):
        return Missing.NOT_ASKED
    return Missing.NOT_REACHED


class ResponseStatus(StrEnum):
    """A response's standing in the export."""

    #: Verified and part of the analysis.
    VALID = "valid"
    #: Marked "entered in error" by a data manager: kept in the long file, left out of scores
    #: and analysis.
    ENTERED_IN_ERROR = "entered_in_error"
    #: Verified, but a later submission of the same form by the same respondent at the same
    #: visit is the one scored: kept in the long file (``PatientRecord.responses``), left out
    #: of the visit's responses, its scores and the analysis.
    SUPERSEDED = "superseded"


@dataclass(frozen=True, slots=True)
class ExportResponse:
    """One verified response: routing fields, receipt, provenance and validated answers.

    ``answers`` holds only the items that have an answer (``"na"`` and ``"skipped"``
    included); an answerable item of the form that is absent was not reached.
    """

    response_id: str
    site: str
    device_id: str
    patient: str
    visit: str
    form_id: str
    form_version: str
    form_sha256: str
    respondent: str
    language: str
    started_at: datetime
    submitted_at: datetime
    received_at: datetime
    receipt_id: str
    out_of_window: bool
    out_of_window_reason: str | None
    #: The envelope's ``sha256`` (hash of what the kiosk signed): the response's source id.
    envelope_sha256: str
    answers: Mapping[str, AnswerValue]
    status: ResponseStatus = ResponseStatus.VALID
    #: The data manager's reason when ``status`` is not valid.
    status_reason: str | None = None


@dataclass(frozen=True, slots=True)
class VisitRecord:
    """One patient's visit: its responses (valid ones only) and the scores of them all."""

    visit: str
    #: The visit's date: the earliest submission of its valid responses (date-shifted when
    #: de-identified).
    visit_date: date
    #: Age in years at the visit date (birth month, day 15 assumed), or None if unknown.
    age_years: float | None
    responses: Sequence[ExportResponse]
    scores: Mapping[str, ScoreValue]
    #: Why each null score is null (instruments.md names the inputs).
    notes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """Everything exported about one patient, visits in protocol order."""

    code: str
    site: str
    birth_ym: str | None
    baseline_date: date | None
    visits: Sequence[VisitRecord]
    #: Every response of the patient in submission order, entered-in-error ones included.
    responses: Sequence[ExportResponse]


@dataclass(frozen=True, slots=True)
class ExportContext:
    """What every writer may need besides the records: forms, protocol, options."""

    #: Every known form version, by (form id, version).
    forms: Mapping[tuple[str, str], Form]
    #: Visit codes in protocol order (``V0`` … ``V8``) with their week offsets.
    visit_weeks: Mapping[str, int]
    #: Visits at which an infusion may be given (``V1``, ``V3``, ``V5``).
    infusion_visits: Sequence[str]
    baseline_visit: str
    study_id: str
    study_version: str
    deidentified: bool
    #: When the bundle was made; exports use it instead of the clock so that the same bundle
    #: and options give the same bytes.
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WrittenFile:
    """A file a writer produced, relative to the output folder, with its row count."""

    path: Path
    rows: int | None = None


class FormatWriter(Protocol):
    """One adapter per outside format: takes the table patient by patient, writes its files.

    ``begin`` is called once before the first patient, ``add_patient`` once per patient in
    code order, and ``finish`` once at the end; it returns every file written (relative to the
    output folder). A writer keeps in memory only what its format forces it to.
    """

    def begin(self, out: Path, context: ExportContext) -> None: ...

    def add_patient(self, patient: PatientRecord) -> None: ...

    def finish(self) -> list[WrittenFile]: ...


class PatientRenderer(Protocol):
    """One format's share of one patient, rendered where the patient is exported.

    A renderer is made in the main process, before any patient, and sent as it is to each
    worker process: it holds the export's context and builds its caches on first use.
    ``render`` is a pure function of the record (and the context), so a worker's part is
    the same as the main process would make.
    """

    def render(self, patient: PatientRecord) -> Any: ...


@runtime_checkable
class PartWriter(Protocol):
    """A :class:`FormatWriter` whose per-patient work can be done in a worker process.

    ``renderer`` (after ``begin``) gives a fresh :class:`PatientRenderer`;
    ``add_part`` takes what it rendered for one patient, in patient order, and only
    appends it. ``add_patient(p)`` is ``add_part(renderer.render(p))``: the same bytes
    wherever the rendering ran.
    """

    def begin(self, out: Path, context: ExportContext) -> None: ...

    def add_patient(self, patient: PatientRecord) -> None: ...

    def finish(self) -> list[WrittenFile]: ...

    def renderer(self) -> PatientRenderer: ...

    def add_part(self, part: Any) -> None: ...


#: ``run(job, items)``: ``job`` applied to every item, results in the items' order — in the
#: export's worker processes when it has them (``job`` and the items must then pickle).
JobRunner = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]


def run_here(job: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
    """A :data:`JobRunner` that runs every job in this process."""
    return (job(item) for item in items)


@runtime_checkable
class FinishesInParallel(Protocol):
    """A writer whose ``finish`` has independent pieces of work (the analysis's figure pages):
    the pipeline hands it a :data:`JobRunner` on its workers before calling ``finish``."""

    def run_jobs_with(self, run: JobRunner) -> None: ...
