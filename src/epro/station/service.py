"""The nurse station as a service: today's patients, completion, trends, enrolment, sessions, sync.

Everything the kiosk's staff screens show or do goes through :class:`Station`, built on the
store, schedule, scoring, session and sync-client APIs. It never imports the UI, so screens
stay thin and the kiosk package itself never speaks HTTP. Patient answers are decrypted here only to
compute trend scores and never leave as text or logs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from epro.errors import ScheduleError, SessionError
from epro.forms.model import Form, FormKind
from epro.schedule import DueStatus, age_at, age_at_baseline, due_forms, open_visit
from epro.session import QuestionnaireSession, SessionService, utc_now
from epro.station.sync import StationSync
from epro.store.domain import AuditKind, Patient, ResponseMeta, ResponseStatus

if TYPE_CHECKING:
    from epro.schedule import Study
    from epro.store import Store


#: The trend series of the patient detail, in display order (DESIGN §5.2).
TREND_SCORES: Final = ("vas_pain", "vas_wellbeing", "chaq_di", "cjadas10")

#: Study codes are pseudonyms: letters, digits and dashes only, so no name slips in.
_CODE: Final = re.compile(r"[A-Z0-9][A-Z0-9-]{2,19}")

_SUBMITTED: Final = (ResponseStatus.SUBMITTED,)
_SYNCED: Final = (ResponseStatus.SENT, ResponseStatus.ACKNOWLEDGED)


class CellStatus:
    """Completion statuses of the grid (a plain namespace: the strings are the i18n keys)."""

    UPCOMING: Final = "upcoming"
    DUE: Final = "due"
    IN_PROGRESS: Final = "in_progress"
    SUBMITTED: Final = "submitted"
    SYNCED: Final = "synced"
    OVERDUE: Final = "overdue"
    MISSED: Final = "missed"


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """One questionnaire to hand over: who answers which form at which visit, in what language."""

    patient: str
    visit: str
    form_id: str
    respondent: str
    language: str


@dataclass(frozen=True, slots=True)
class CompletionCell:
    patient: str
    visit: str
    form_id: str
    respondent: str
    status: str
    response_id: str | None = None


@dataclass(frozen=True, slots=True)
class PatientToday:
    """A patient whose visit window is open today, with that visit's questionnaire cells."""

    code: str
    visit: str
    age_years: float
    cells: tuple[CompletionCell, ...]

    @property
    def open_count(self) -> int:
        done = (CellStatus.SUBMITTED, CellStatus.SYNCED)
        return sum(1 for cell in self.cells if cell.status not in done)


@dataclass(frozen=True, slots=True)
class GridRow:
    """One patient at one visit: its cells by (form, respondent)."""

    patient: str
    visit: str
    cells: Mapping[tuple[str, str], CompletionCell]


@dataclass(frozen=True, slots=True)
class CompletionGrid:
    """All patients × kiosk visits; ``columns`` are the (form, respondent) pairs in order."""

    columns: tuple[tuple[str, str], ...]
    rows: tuple[GridRow, ...]


@dataclass(frozen=True, slots=True)
class TrendPoint:
    visit: str
    value: float | None


class Station:
    """The staff side of one kiosk: one store, one study protocol, one set of forms."""

    def __init__(
        self,
        store: Store,
        forms: Mapping[str, Form],
        study: Study,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.forms = forms
        self.study = study
        self.sessions = SessionService(store, forms, study, clock)
        self.sync = StationSync(store, self.sessions)

    def today(self) -> date:
        return self.sessions.today()

    # --- staff -----------------------------------------------------------------------------

    def verify_pin(self, name: str, pin: str) -> bool:
        """Check a staff PIN; the store counts failures and raises StoreError once locked."""
        with self.store.unit_of_work() as uow:
            ok: bool = uow.staff.verify_pin(name, pin)
            uow.commit()
        return ok

    def outbox_count(self) -> int:
        with self.store.unit_of_work() as uow:
            count: int = uow.outbox.count_pending()
        return count

    # --- patients --------------------------------------------------------------------------

    def enrol(
        self, code: str, birth_ym: str, baseline: date, *, actor: str, language: str = "en"
    ) -> Patient:
        """Enrol a pseudonymous patient: a unique study code, age 4–18 at the baseline date."""
        code = code.strip().upper()
        if not _CODE.fullmatch(code):
            raise SessionError(
                f"study code {code!r} is not valid; use 3–20 letters, digits or dashes, "
                "e.g. DEMO-005 (never a name)"
            )
        try:
            age_at_baseline(self.study, baseline, birth_ym)
        except ScheduleError as error:
            raise SessionError(str(error)) from None
        patient = Patient(
            code=code,
            birth_ym=birth_ym.strip(),
            baseline_date=baseline,
            site=self.store.site,
            language=language,
        )
        with self.store.unit_of_work() as uow:
            if uow.patients.get(code) is not None:
                raise SessionError(f"study code {code} is already enrolled; choose another code")
            uow.patients.add(patient)
            uow.audit.append(AuditKind.ENROL, actor, detail=code)
            uow.commit()
        return patient

    def patients(self) -> list[Patient]:
        with self.store.unit_of_work() as uow:
            found: list[Patient] = uow.patients.list()
        return sorted(found, key=lambda patient: patient.code)

    def patients_today(self) -> list[PatientToday]:
        """Patients with a kiosk visit open today, each with that visit's cells."""
        today = self.today()
        rows: list[PatientToday] = []
        grid = self.completion()
        for patient in self.patients():
            scheduled = open_visit(self.study, patient.baseline_date, today)
            if scheduled is None or not scheduled.visit.kiosk:
                continue
            cells = tuple(
                cell
                for cell in grid
                if cell.patient == patient.code
                and cell.visit == scheduled.code
                and self._patient_form(cell.form_id)
            )
            age = age_at(patient.birth_ym, today)
            rows.append(PatientToday(patient.code, scheduled.code, age, cells))
        return rows

    def completion(self, patient: str | None = None) -> list[CompletionCell]:
        """The grid patient × visit × form × respondent, one status per cell."""
        today = self.today()
        with self.store.unit_of_work() as uow:
            people = uow.patients.list()
            metas = uow.responses.list(patient=patient)
        remote = self.sync.site_completion()
        cells: list[CompletionCell] = []
        for person in sorted(people, key=lambda p: p.code):
            if patient is not None and person.code != patient:
                continue
            mine = [meta for meta in metas if meta.patient == person.code]
            done = {
                (m.visit, m.form_id, m.respondent) for m in mine if m.status in _SUBMITTED + _SYNCED
            }
            done |= {key[1:] for key in remote if key[0] == person.code}
            due = due_forms(self.study, person.baseline_date, person.birth_ym, today, done)
            for entry in due:
                if entry.form_id not in self.forms:
                    continue  # a form of the protocol this kiosk does not carry
                meta = _latest(mine, entry.visit_code, entry.form_id, entry.respondent)
                status = _cell_status(entry.status, meta)
                key = (person.code, entry.visit_code, entry.form_id, entry.respondent)
                if key in remote:
                    status = CellStatus.SYNCED  # the server holds it (maybe from another kiosk)
                cells.append(
                    CompletionCell(
                        *key,
                        status,
                        None if meta is None else meta.id,
                    )
                )
        return cells

    def grid(self, *, visit: str | None = None, status: str | None = None) -> CompletionGrid:
        """The completion grid of every patient × kiosk visit, optionally filtered.

        ``visit`` keeps one visit; ``status`` keeps the rows with at least one cell of that
        status and only those cells. The columns never change with the filters, so the nurse
        does not lose her place.
        """
        kiosk_visits = self.kiosk_visits()
        cells = [c for c in self.completion() if c.visit in kiosk_visits]
        columns = self.order_columns((c.form_id, c.respondent) for c in cells)
        by_row: dict[tuple[str, str], dict[tuple[str, str], CompletionCell]] = {}
        for cell in cells:
            row = by_row.setdefault((cell.patient, cell.visit), {})
            if status is None or cell.status == status:
                row[(cell.form_id, cell.respondent)] = cell
        order = {code: n for n, code in enumerate(kiosk_visits)}
        rows = tuple(
            GridRow(patient, code, by_row[(patient, code)])
            for patient, code in sorted(by_row, key=lambda k: (k[0], order[k[1]]))
            if (visit is None or code == visit) and by_row[(patient, code)]
        )
        return CompletionGrid(columns, rows)

    def order_columns(self, pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """Distinct (form, respondent) pairs in protocol form order, child before parent."""
        form_order = list(dict.fromkeys(f for v in self.study.visits for f in v.forms))
        return _columns(set(pairs), form_order)

    def kiosk_visits(self) -> list[str]:
        """The visits with kiosk forms (V1–V8), in protocol order."""
        return [v.code for v in self.study.visits if v.kiosk]

    def trends(self, patient: str) -> dict[str, list[TrendPoint]]:
        """VAS pain, VAS well-being, CHAQ-DI and cJADAS10 per visit with submitted responses."""
        from epro.scoring import VisitResponse, score_visit

        with self.store.unit_of_work() as uow:
            person = uow.patients.get(patient)
            if person is None:
                raise SessionError(f"no patient {patient!r} is enrolled on this kiosk")
            metas = uow.responses.list(patient=patient, statuses=_SUBMITTED + _SYNCED)
            by_visit: dict[str, list[VisitResponse]] = {}
            for meta in metas:
                if meta.purged:
                    continue  # the server holds these answers now
                respondent = None if meta.respondent == "staff" else meta.respondent
                by_visit.setdefault(meta.visit, []).append(
                    VisitResponse(meta.form_id, respondent, uow.answers.load(meta))
                )
        series: dict[str, list[TrendPoint]] = {name: [] for name in TREND_SCORES}
        for visit in self.study.visits:
            responses = by_visit.get(visit.code)
            if not responses:
                continue
            day = person.baseline_date
            age = age_at(person.birth_ym, max(day, _visit_day(day, visit.week)))
            scores = score_visit(responses, age_years=age).scores
            for name in TREND_SCORES:
                value = scores.get(name)
                number = float(value) if isinstance(value, int | float) else None
                series[name].append(TrendPoint(visit.code, number))
        return series

    # --- sessions --------------------------------------------------------------------------

    def plans_for(self, patient: str, language: str) -> list[SessionPlan]:
        """The questionnaires still open at today's visit, in protocol order (the queue)."""
        for row in self.patients_today():
            if row.code == patient:
                return [
                    SessionPlan(patient, cell.visit, cell.form_id, cell.respondent, language)
                    for cell in row.cells
                    if cell.status in (CellStatus.DUE, CellStatus.OVERDUE)
                ]
        return []

    def still_open(self, plans: Sequence[SessionPlan]) -> list[SessionPlan]:
        """The plans of a queue whose form is still to do today (not started or done since)."""
        open_now = {
            (row.code, cell.visit, cell.form_id, cell.respondent)
            for row in self.patients_today()
            for cell in row.cells
            if cell.status in (CellStatus.DUE, CellStatus.OVERDUE)
        }
        return [p for p in plans if (p.patient, p.visit, p.form_id, p.respondent) in open_now]

    def start(self, plan: SessionPlan, *, actor: str) -> QuestionnaireSession:
        return self.sessions.start(
            patient=plan.patient,
            visit=plan.visit,
            form_id=plan.form_id,
            respondent=plan.respondent,
            language=plan.language,
            actor=actor,
        )

    def resume(self, response_id: str, *, actor: str) -> tuple[QuestionnaireSession, SessionPlan]:
        session = self.sessions.resume(response_id, actor=actor)
        plan = SessionPlan(
            session.patient, session.visit, session.form.id, session.respondent, session.language
        )
        return session, plan

    def drafts(self, patient: str | None = None) -> list[ResponseMeta]:
        return self.sessions.drafts(patient)

    def clinician_plan(self, patient: str, visit: str, language: str = "en") -> SessionPlan:
        """Clinician data are entered by staff at the kiosk as a staff form (never by patients),
        in the staff's language when the form has it."""
        form = self.forms.get("clinician")
        if form is None or language not in form.languages:
            language = "en"
        return SessionPlan(patient, visit, "clinician", "staff", language)

    def _patient_form(self, form_id: str) -> bool:
        form = self.forms.get(form_id)
        return form is not None and form.kind is FormKind.PATIENT


def _columns(pairs: set[tuple[str, str]], form_order: list[str]) -> tuple[tuple[str, str], ...]:
    respondent_order = {"child": 0, "parent": 1, "staff": 2}
    return tuple(
        sorted(
            pairs,
            key=lambda p: (
                p[1] == "staff",  # staff forms (clinician data) after the questionnaires
                form_order.index(p[0]) if p[0] in form_order else len(form_order),
                respondent_order.get(p[1], 9),
                p,
            ),
        )
    )


def _visit_day(baseline: date, week: int) -> date:
    from datetime import timedelta

    return baseline + timedelta(days=7 * week)


def _latest(
    metas: Sequence[ResponseMeta], visit: str, form_id: str, respondent: str
) -> ResponseMeta | None:
    matching = [
        m
        for m in metas
        if (m.visit, m.form_id, m.respondent) == (visit, form_id, respondent)
        and m.status != ResponseStatus.STOPPED
    ]
    return max(matching, key=lambda m: m.started_at, default=None)


def _cell_status(timed: DueStatus, meta: ResponseMeta | None) -> str:
    if meta is not None:
        if meta.status in _SYNCED:
            return CellStatus.SYNCED
        if meta.status in _SUBMITTED:
            return CellStatus.SUBMITTED
        if meta.status == ResponseStatus.IN_PROGRESS:
            return CellStatus.IN_PROGRESS
    if timed is DueStatus.DONE:
        return CellStatus.SUBMITTED
    return str(timed.value)


def open_station(db: Path, passphrase: str, *, forms_dir: Path | None = None) -> Station:
    """Open the store at ``db`` with the site passphrase and build the station on it.

    WrongPassphraseError when the passphrase does not unwrap the data key.
    """
    from epro.forms import default_forms_dir, load_forms
    from epro.schedule import load_study
    from epro.store import open_store

    forms = load_forms(forms_dir or default_forms_dir())
    store = open_store(db, passphrase=passphrase)
    return Station(store, forms, load_study())
