"""What the console's data pages show, read from the server database: pure functions, no HTTP.

Every function takes a :class:`Scope` — the sites its caller may see — and reads nothing
outside it: a coordinator's pages are built from queries that never fetch another site's
rows, rather than from rows filtered afterwards. The server holds routing metadata only (who
sent what, when, for which patient, visit, form and respondent), so everything here is about
what arrived and what is missing; no answer is ever read (envelopes are never selected).

Completion follows the kiosk grid: for each patient of the roster, the study protocol
(``epro.schedule``) places every visit on the calendar from the baseline date the server
holds, and decides who answers which form at that age; a (visit, form, respondent) cell is
``received`` when the server holds a response for it that is not marked entered in error,
and otherwise takes its time-based status on today's date (upcoming, due, overdue, missed).
Visits without kiosk questionnaires (screening) appear only where something arrived.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session

from epro.errors import ScheduleError
from epro.schedule import (
    DueStatus,
    RespondentMode,
    Study,
    age_at_baseline,
    due_forms,
    parse_birth_month,
    visit_calendar,
)
from epro_sync.annotations import ENTERED_IN_ERROR
from epro_sync.console import symbols
from epro_sync.console.kiosk_health import KioskHealth, kiosk_health
from epro_sync.console.scope import Scope
from epro_sync.tables import ServerModel, as_utc

_T = ServerModel.metadata.tables
_PATIENTS = _T["patients"]
_RESPONSES = _T["responses"]
_DEVICES = _T["devices"]
_ANNOTATIONS = _T["annotations"]

#: "Responses received in the last ..." on the overview.
RECENT: Final = timedelta(days=7)

Cell = tuple[str, str, str, str]  # patient, visit, form_id, respondent


def known_sites(session: Session, scope: Scope) -> list[str]:
    """The sites of the scope that have a kiosk or a patient (or that the scope names)."""
    found: set[str] = set(scope.sites or ())
    connection = session.connection()
    for table in (_DEVICES, _PATIENTS):
        query = sa.select(table.c.site).distinct().where(scope.where(table.c.site))
        found.update(connection.execute(query).scalars())
    return sorted(found)


# --------------------------------------------------------------------------------- received


class Received(NamedTuple):
    """What the server holds for one cell: valid responses, and those marked in error."""

    responses: int
    last_submitted_at: datetime | None
    entered_in_error: int = 0


def received_cells(
    session: Session, scope: Scope, patient: str | None = None
) -> dict[Cell, Received]:
    """Every cell of the scope (of one patient, if given) with a stored response, counted as
    ``/v1/completion`` counts them, then corrected for the (few) responses marked entered in
    error."""
    r = _RESPONSES.c
    key = (r.patient, r.visit, r.form_id, r.respondent)
    connection = session.connection()
    where = [scope.where(r.site)] + ([] if patient is None else [r.patient == patient])
    rows = connection.execute(
        sa.select(*key, sa.func.count(), sa.func.max(r.submitted_at)).where(*where).group_by(*key)
    )
    cells = {
        # The time as the database returns it (naive UTC on SQLite): only the CSV prints it.
        (patient, visit, form_id, respondent): Received(count, last)
        for patient, visit, form_id, respondent, count, last in rows
    }
    a = _ANNOTATIONS.c
    marked = connection.execute(
        sa.select(*key, r.submitted_at, r.response_id)
        .select_from(_ANNOTATIONS.join(_RESPONSES, a.response_id == r.response_id))
        .where(a.kind == ENTERED_IN_ERROR, *where)
    ).all()
    if not marked:
        return cells
    wrong = {row.response_id for row in marked}
    touched = {(row.patient, row.visit, row.form_id, row.respondent) for row in marked}
    patients = sorted({cell[0] for cell in touched})
    valid: dict[Cell, list[datetime]] = {}
    for row in connection.execute(
        sa.select(*key, r.submitted_at, r.response_id).where(
            scope.where(r.site), r.patient.in_(patients)
        )
    ):
        cell = (row.patient, row.visit, row.form_id, row.respondent)
        if cell in touched and row.response_id not in wrong:
            valid.setdefault(cell, []).append(as_utc(row.submitted_at))
    for cell in touched:
        times = valid.get(cell, [])
        errors = sum(
            1 for row in marked if (row.patient, row.visit, row.form_id, row.respondent) == cell
        )
        cells[cell] = Received(len(times), max(times, default=None), errors)
    return cells


# ------------------------------------------------------------------------------------- grid


class GridCell(NamedTuple):
    """One (patient, visit, form, respondent) with its status and what arrived (a named
    tuple: a large grid makes tens of thousands, and a tuple is the cheapest to make)."""

    patient: str
    visit: str
    form_id: str
    respondent: str
    status: str
    target: date | None
    window_start: date | None
    window_end: date | None
    responses: int = 0
    last_submitted_at: datetime | None = None
    entered_in_error: int = 0

    @property
    def symbol(self) -> str:
        return symbols.SYMBOLS[self.status]


@dataclass(frozen=True, slots=True)
class GridRow:
    """One patient at one visit: its cells by (form, respondent)."""

    site: str
    patient: str
    visit: str
    target: date | None
    cells: Mapping[tuple[str, str], GridCell]


@dataclass(frozen=True, slots=True)
class GridFilters:
    """The grid's filters as they come from the page's URL (None: not filtered)."""

    site: str | None = None
    visit: str | None = None
    status: str | None = None
    form: str | None = None


@dataclass(frozen=True, slots=True)
class Grid:
    """Patients × visits; ``columns`` are the (form, respondent) pairs shown, in order."""

    columns: tuple[tuple[str, str], ...]
    rows: tuple[GridRow, ...]
    filters: GridFilters
    #: Cells of each status among those shown.
    counts: Mapping[str, int]
    #: Patients whose roster entry the protocol cannot place (shown apart, not dropped).
    unplaced: tuple[str, ...] = ()

    def cells(self) -> Iterable[GridCell]:
        for row in self.rows:
            for column in self.columns:
                cell = row.cells.get(column)
                if cell is not None:
                    yield cell


@dataclass(frozen=True, slots=True)
class _Person:
    code: str
    site: str
    birth_ym: str
    baseline_date: date


def _people(session: Session, scope: Scope, code: str | None = None) -> list[_Person]:
    p = _PATIENTS.c
    query = sa.select(p.code, p.site, p.birth_ym, p.baseline_date).where(scope.where(p.site))
    if code is not None:
        query = query.where(p.code == code)
    rows = session.connection().execute(query.order_by(p.code))
    return [_Person(*row) for row in rows]


_TIMED: Final = {
    DueStatus.UPCOMING: symbols.UPCOMING,
    DueStatus.DUE: symbols.DUE,
    DueStatus.OVERDUE: symbols.OVERDUE,
    DueStatus.MISSED: symbols.MISSED,
}


def patient_cells(
    study: Study, person: _Person, received: Mapping[Cell, Received], today: date
) -> list[GridCell] | None:
    """Every cell of one patient on ``today``; None when the protocol cannot place the
    patient (a roster entry outside the study's age range)."""
    mine = {cell[1:]: got for cell, got in received.items() if cell[0] == person.code}
    protocol = {(v.code, f) for v in study.visits for f in v.forms}
    allowed = {f: set(study.form_respondents(f).respondents) for f in study.form_ids}
    done = [
        key
        for key, got in mine.items()
        if got.responses and key[:2] in protocol and key[2] in allowed.get(key[1], ())
    ]
    try:
        due = due_forms(study, person.baseline_date, person.birth_ym, today, done)
    except ScheduleError:
        return None
    kiosk_visits = {v.code for v in study.visits if v.kiosk}
    cells: list[GridCell] = []
    seen: set[tuple[str, str, str]] = set()
    for entry in due:
        key = (entry.visit_code, entry.form_id, entry.respondent)
        got = mine.get(key)
        if entry.visit_code not in kiosk_visits and got is None:
            continue  # screening forms are not collected at the kiosk
        seen.add(key)
        status = symbols.RECEIVED if entry.status is DueStatus.DONE else _TIMED[entry.status]
        cells.append(
            GridCell(
                person.code,
                *key,
                status,
                entry.target,
                entry.window_start,
                entry.window_end,
                got.responses if got else 0,
                got.last_submitted_at if got else None,
                got.entered_in_error if got else 0,
            )
        )
    calendar = {s.code: s for s in visit_calendar(study, person.baseline_date)}
    for key, got in sorted(mine.items()):
        if key in seen or not got.responses:
            continue  # arrived outside what the protocol expects: shown, as received
        scheduled = calendar.get(key[0])
        cells.append(
            GridCell(
                person.code,
                *key,
                symbols.RECEIVED,
                scheduled.target if scheduled else None,
                scheduled.window_start if scheduled else None,
                scheduled.window_end if scheduled else None,
                got.responses,
                got.last_submitted_at,
                got.entered_in_error,
            )
        )
    return cells


@dataclass(frozen=True, slots=True)
class _FormPlan:
    form_id: str
    single: bool
    #: Every respondent any rule names, in rule order.
    respondents: tuple[str, ...]
    #: The ages at which the set of respondents can change, sorted.
    thresholds: tuple[float, ...]
    #: The respondents for each age band between thresholds (bisect_right's index).
    by_band: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class _VisitPlan:
    code: str
    days: int
    before: timedelta
    after: timedelta
    kiosk: bool
    forms: tuple[_FormPlan, ...]


@dataclass(frozen=True, slots=True)
class _StudyPlan:
    """The protocol laid out once for :func:`fast_patient_cells`."""

    visits: tuple[_VisitPlan, ...]
    protocol: frozenset[tuple[str, str]]
    allowed: Mapping[str, frozenset[str]]


def _form_plan(study: Study, form_id: str) -> _FormPlan:
    entry = study.form_respondents(form_id)
    edges = sorted(
        {rule.from_age for rule in entry.rules}
        | {rule.below_age for rule in entry.rules if rule.below_age is not None}
    )
    # Band 0 holds the ages below the first edge (none when it is 0); band k the ages from
    # edge k-1 up to edge k. A band's respondents are those at its lower edge.
    first = entry.for_age(0.0) if edges[0] > 0 else ()
    bands = (first, *(entry.for_age(edge) for edge in edges))
    return _FormPlan(
        form_id, entry.mode is RespondentMode.SINGLE, entry.respondents, tuple(edges), bands
    )


_PLANS: dict[int, tuple[Study, _StudyPlan]] = {}


def _plan_of(study: Study) -> _StudyPlan:
    cached = _PLANS.get(id(study))
    if cached is not None and cached[0] is study:
        return cached[1]
    plan = _StudyPlan(
        visits=tuple(
            _VisitPlan(
                visit.code,
                7 * visit.week,
                timedelta(days=visit.window_before_days),
                timedelta(days=visit.window_after_days),
                visit.kiosk,
                tuple(_form_plan(study, form_id) for form_id in visit.forms),
            )
            for visit in study.visits
        ),
        protocol=frozenset((v.code, f) for v in study.visits for f in v.forms),
        allowed={f: frozenset(study.form_respondents(f).respondents) for f in study.form_ids},
    )
    _PLANS[id(study)] = (study, plan)
    return plan


def _age(born: date, on: date) -> float:
    """:func:`epro.schedule.age_at` for a birth date parsed once (the same arithmetic)."""
    if on < born.replace(day=1):
        raise ScheduleError(f"the date {on.isoformat()} is before the birth month")
    if on < born:
        return 0.0
    years = on.year - born.year - (1 if (on.month, on.day) < (born.month, born.day) else 0)
    last = born.replace(year=born.year + years)
    following = born.replace(year=born.year + years + 1)
    return years + (on - last).days / (following - last).days


def fast_patient_cells(
    study: Study, person: _Person, received: Mapping[Cell, Received], today: date
) -> list[GridCell] | None:
    """:func:`patient_cells`, computed without building the schedule's objects: the protocol
    is laid out once (:class:`_StudyPlan`), and who answers a form at an age is looked up by
    age band. A test holds the two equal over patients of every age, date and arrival."""
    plan = _plan_of(study)
    code = person.code
    mine = {cell[1:]: got for cell, got in received.items() if cell[0] == code}
    done = {
        key
        for key, got in mine.items()
        if got.responses and key[:2] in plan.protocol and key[2] in plan.allowed.get(key[1], ())
    }
    baseline, birth_ym = person.baseline_date, person.birth_ym
    visits_done = {key[0] for key in done}
    try:
        age_at_baseline(study, baseline, birth_ym)
        born = parse_birth_month(birth_ym)
        cells: list[GridCell] = []
        append = cells.append
        seen: set[tuple[str, str, str]] = set()
        for visit in plan.visits:
            target = baseline + timedelta(days=visit.days)
            start, end = target - visit.before, target + visit.after
            open_now = start <= today <= end
            age = _age(born, today if open_now else target)
            if today < start:
                timed = symbols.UPCOMING
            elif today <= target:
                timed = symbols.DUE
            elif today <= end:
                timed = symbols.OVERDUE
            else:
                timed = symbols.MISSED
            some_done = visit.code in visits_done
            vcode, kiosk = visit.code, visit.kiosk
            for form in visit.forms:
                fid = form.form_id
                done_here = (
                    [r for r in form.respondents if (vcode, fid, r) in done] if some_done else []
                )
                expected = form.by_band[bisect.bisect_right(form.thresholds, age)]
                if form.single and done_here:
                    expected = tuple(done_here)
                for respondent in form.respondents:
                    if respondent not in expected and respondent not in done_here:
                        continue
                    key = (vcode, fid, respondent)
                    got = mine.get(key) if mine else None
                    if got is None:
                        if kiosk:  # nothing arrived: the cell has its time status
                            append(
                                GridCell(code, vcode, fid, respondent, timed, target, start, end, 0)
                            )
                        continue
                    seen.add(key)
                    append(
                        GridCell(
                            code,
                            vcode,
                            fid,
                            respondent,
                            symbols.RECEIVED if key in done else timed,
                            target,
                            start,
                            end,
                            got.responses,
                            got.last_submitted_at,
                            got.entered_in_error,
                        )
                    )
    except ScheduleError:
        return None
    windows = {
        v.code: (
            baseline + timedelta(days=v.days),
            baseline + timedelta(days=v.days) - v.before,
            baseline + timedelta(days=v.days) + v.after,
        )
        for v in plan.visits
    }
    for key, got in sorted(mine.items()):
        if key in seen or not got.responses:
            continue
        window = windows.get(key[0])
        cells.append(
            GridCell(
                code,
                *key,
                symbols.RECEIVED,
                window[0] if window else None,
                window[1] if window else None,
                window[2] if window else None,
                got.responses,
                got.last_submitted_at,
                got.entered_in_error,
            )
        )
    return cells


_RESPONDENT_ORDER: Final = {"child": 0, "parent": 1, "staff": 2}


def order_columns(study: Study, pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """(form, respondent) pairs as the kiosk grid orders them: questionnaires in protocol
    order, child before parent, staff forms (clinician data) last."""
    forms = list(study.form_ids)
    return tuple(
        sorted(
            set(pairs),
            key=lambda p: (
                p[1] == "staff",
                forms.index(p[0]) if p[0] in forms else len(forms),
                _RESPONDENT_ORDER.get(p[1], 9),
                p,
            ),
        )
    )


def visit_order(study: Study) -> dict[str, int]:
    return {visit.code: place for place, visit in enumerate(study.visits)}


def completion_grid(
    session: Session, study: Study, scope: Scope, today: date, filters: GridFilters = GridFilters()
) -> Grid:
    """The completion grid of the scope (narrowed by ``filters``), patients in code order,
    visits in protocol order. The status filter keeps the cells of that status and the rows
    that have one; the form filter keeps that form's columns; the columns otherwise never
    change with the filters, so the reader keeps their place."""
    narrowed = scope.narrowed(filters.site)
    received = received_cells(session, narrowed)
    by_patient: dict[str, dict[Cell, Received]] = {}
    for key, got in received.items():
        by_patient.setdefault(key[0], {})[key] = got
    order = visit_order(study)
    rows: list[GridRow] = []
    pairs: set[tuple[str, str]] = set()
    counts = dict.fromkeys(symbols.STATUSES, 0)
    unplaced: list[str] = []
    unfiltered = filters.form is None and filters.visit is None and filters.status is None
    for person in _people(session, narrowed):
        cells = fast_patient_cells(study, person, by_patient.get(person.code, {}), today)
        if cells is None:
            unplaced.append(person.code)
            continue
        per_visit: dict[str, dict[tuple[str, str], GridCell]] = {}
        targets: dict[str, date | None] = {}
        if unfiltered:  # the page as first opened: every cell, no test per cell
            for item in cells:
                column = (item.form_id, item.respondent)
                pairs.add(column)
                shown_cells = per_visit.get(item.visit)
                if shown_cells is None:
                    shown_cells = per_visit[item.visit] = {}
                    targets[item.visit] = item.target
                shown_cells[column] = item
            cells = []
        for item in cells:
            if filters.form is not None and item.form_id != filters.form:
                continue
            pairs.add((item.form_id, item.respondent))
            if filters.visit is not None and item.visit != filters.visit:
                continue
            targets.setdefault(item.visit, item.target)
            if filters.status is not None and item.status != filters.status:
                per_visit.setdefault(item.visit, {})
                continue
            per_visit.setdefault(item.visit, {})[(item.form_id, item.respondent)] = item
        for visit in sorted(per_visit, key=lambda v: order.get(v, len(order))):
            shown = per_visit[visit]
            if not shown:
                continue
            for shown_cell in shown.values():
                counts[shown_cell.status] += 1
            rows.append(GridRow(person.site, person.code, visit, targets.get(visit), shown))
    return Grid(order_columns(study, pairs), tuple(rows), filters, counts, tuple(unplaced))


# --------------------------------------------------------------------------------- overview


@dataclass(frozen=True, slots=True)
class SiteOverview:
    """One site at a glance (DESIGN §9a)."""

    site: str
    patients: int
    #: Incomplete visits whose window is open on some day from today to Sunday and whose
    #: target date has not passed.
    due_this_week: int
    #: Incomplete visits past their target date with the window still open today.
    overdue: int
    #: Visits whose window has closed with at least one form missing.
    missed: int
    received_last_7_days: int
    kiosks: int
    attention: tuple[KioskHealth, ...] = field(default=())
    unplaced: tuple[str, ...] = ()


def overview(
    session: Session,
    study: Study,
    scope: Scope,
    now: datetime,
    *,
    stale_after: timedelta,
    skew_limit: timedelta,
) -> list[SiteOverview]:
    """Per site of the scope: patients, visits due this week, overdue and missed, responses
    received in the last seven days, and the kiosks needing attention."""
    today = now.date()
    sunday = today + timedelta(days=6 - today.weekday())
    received = received_cells(session, scope)
    by_patient: dict[str, dict[Cell, Received]] = {}
    for cell, got in received.items():
        by_patient.setdefault(cell[0], {})[cell] = got
    tallies: dict[str, dict[str, int]] = {}
    unplaced: dict[str, list[str]] = {}
    for person in _people(session, scope):
        tally = tallies.setdefault(
            person.site, {"patients": 0, "due_this_week": 0, "overdue": 0, "missed": 0}
        )
        tally["patients"] += 1
        cells = fast_patient_cells(study, person, by_patient.get(person.code, {}), today)
        if cells is None:
            unplaced.setdefault(person.site, []).append(person.code)
            continue
        for visit_cells in _by_visit(cells).values():
            statuses = {cell.status for cell in visit_cells}
            first = visit_cells[0]
            if symbols.MISSED in statuses:
                tally["missed"] += 1
            elif symbols.OVERDUE in statuses:
                tally["overdue"] += 1
            elif (
                statuses & {symbols.DUE, symbols.UPCOMING}
                and first.window_start is not None
                and first.window_start <= sunday
            ):
                tally["due_this_week"] += 1
    r = _RESPONSES.c
    recent: dict[str, int] = {
        site: int(count)
        for site, count in session.connection().execute(
            sa.select(r.site, sa.func.count())
            .where(scope.where(r.site), r.received_at >= now - RECENT)
            .group_by(r.site)
        )
    }
    kiosks = kiosk_health(session, scope, now, stale_after=stale_after, skew_limit=skew_limit)
    result = []
    for site in known_sites(session, scope):
        tally = tallies.get(site, {"patients": 0, "due_this_week": 0, "overdue": 0, "missed": 0})
        mine = [k for k in kiosks if k.site == site]
        result.append(
            SiteOverview(
                site=site,
                patients=tally["patients"],
                due_this_week=tally["due_this_week"],
                overdue=tally["overdue"],
                missed=tally["missed"],
                received_last_7_days=int(recent.get(site, 0)),
                kiosks=len(mine),
                attention=tuple(k for k in mine if k.problems),
                unplaced=tuple(unplaced.get(site, ())),
            )
        )
    return result


def _by_visit(cells: Sequence[GridCell]) -> dict[str, list[GridCell]]:
    grouped: dict[str, list[GridCell]] = {}
    for cell in cells:
        grouped.setdefault(cell.visit, []).append(cell)
    return grouped


# ---------------------------------------------------------------------------------- patient


@dataclass(frozen=True, slots=True)
class Arrival:
    """One stored response of the patient, as metadata (the answers stay sealed)."""

    response_id: str
    visit: str
    form_id: str
    form_version: str
    respondent: str
    submitted_at: datetime
    received_at: datetime
    device_id: str
    kiosk_label: str
    out_of_window: bool
    #: The data manager's entered-in-error mark, if any: (reason, actor, at).
    entered_in_error: tuple[str, str, datetime] | None = None


@dataclass(frozen=True, slots=True)
class CalendarVisit:
    """One protocol visit on the patient's calendar, with its cells."""

    code: str
    name: str
    week: int
    target: date
    window_start: date
    window_end: date
    kiosk: bool
    cells: tuple[GridCell, ...]

    @property
    def status(self) -> str:
        """The visit's status: the most pressing of its cells' (missed first)."""
        statuses = {cell.status for cell in self.cells}
        for status in (symbols.MISSED, symbols.OVERDUE, symbols.DUE, symbols.UPCOMING):
            if status in statuses:
                return status
        return symbols.RECEIVED if statuses else symbols.UPCOMING


@dataclass(frozen=True, slots=True)
class PatientView:
    code: str
    site: str
    baseline_date: date
    #: Age at baseline in years, or None when the protocol cannot place the roster entry.
    age_at_baseline: float | None
    calendar: tuple[CalendarVisit, ...]
    arrivals: tuple[Arrival, ...]


def patient_view(
    session: Session, study: Study, scope: Scope, code: str, today: date
) -> PatientView | None:
    """The patient's calendar and arrivals, or None when there is no such patient in the
    scope (the two are never told apart, so a page says nothing of other sites)."""
    people = _people(session, scope, code)
    if not people:
        return None
    person = people[0]
    patient_scope = Scope(frozenset({person.site}))
    r = _RESPONSES.c
    mine = received_cells(session, patient_scope, person.code)
    cells = patient_cells(study, person, mine, today) or []
    try:
        age: float | None = age_at_baseline(study, person.baseline_date, person.birth_ym)
    except ScheduleError:
        age = None
    calendar = tuple(
        CalendarVisit(
            code=s.code,
            name=s.visit.name,
            week=s.week,
            target=s.target,
            window_start=s.window_start,
            window_end=s.window_end,
            kiosk=s.visit.kiosk,
            cells=tuple(c for c in cells if c.visit == s.code),
        )
        for s in visit_calendar(study, person.baseline_date)
    )
    rows = session.connection().execute(
        _arrivals()
        .where(r.site == person.site, r.patient == person.code)
        .order_by(r.received_at, r.submitted_at, r.response_id)
    )
    arrivals = tuple(_arrival(row) for row in rows)
    return PatientView(person.code, person.site, person.baseline_date, age, calendar, arrivals)


def _arrivals() -> sa.Select[Any]:
    """Responses as arrivals: metadata, the kiosk's label and the entered-in-error mark."""
    r, d, a = _RESPONSES.c, _DEVICES.c, _ANNOTATIONS.c
    return sa.select(
        r.site,
        r.patient,
        r.response_id,
        r.visit,
        r.form_id,
        r.form_version,
        r.respondent,
        r.submitted_at,
        r.received_at,
        r.device_id,
        d.label,
        r.out_of_window,
        a.reason,
        a.actor,
        a.at,
    ).select_from(
        _RESPONSES.outerjoin(_DEVICES, d.device_id == r.device_id).outerjoin(
            _ANNOTATIONS, sa.and_(a.response_id == r.response_id, a.kind == ENTERED_IN_ERROR)
        )
    )


def _arrival(row: sa.Row[Any]) -> Arrival:
    return Arrival(
        response_id=row.response_id,
        visit=row.visit,
        form_id=row.form_id,
        form_version=row.form_version,
        respondent=row.respondent,
        submitted_at=as_utc(row.submitted_at),
        received_at=as_utc(row.received_at),
        device_id=row.device_id,
        kiosk_label=row.label or row.device_id,
        out_of_window=bool(row.out_of_window),
        entered_in_error=None if row.reason is None else (row.reason, row.actor, as_utc(row.at)),
    )


# ---------------------------------------------------------------------------- marked ones


@dataclass(frozen=True, slots=True)
class MarkedResponse:
    """A response marked entered in error, with what it was (for the data manager's list)."""

    response_id: str
    site: str
    patient: str
    visit: str
    form_id: str
    respondent: str
    submitted_at: datetime
    reason: str
    actor: str
    at: datetime


def marked_responses(session: Session, scope: Scope) -> list[MarkedResponse]:
    """Every response of the scope marked entered in error, latest mark first."""
    r, a = _RESPONSES.c, _ANNOTATIONS.c
    rows = session.connection().execute(
        sa.select(
            r.response_id,
            r.site,
            r.patient,
            r.visit,
            r.form_id,
            r.respondent,
            r.submitted_at,
            a.reason,
            a.actor,
            a.at,
        )
        .select_from(_ANNOTATIONS.join(_RESPONSES, a.response_id == r.response_id))
        .where(a.kind == ENTERED_IN_ERROR, scope.where(a.site))
        .order_by(a.at.desc(), a.id.desc())
    )
    return [
        MarkedResponse(*row[:6], as_utc(row.submitted_at), row.reason, row.actor, as_utc(row.at))
        for row in rows
    ]


def arrival(session: Session, scope: Scope, response_id: str) -> tuple[str, Arrival] | None:
    """(patient, arrival) of one stored response of the scope, or None."""
    r = _RESPONSES.c
    row = (
        session.connection()
        .execute(_arrivals().where(r.response_id == response_id, scope.where(r.site)))
        .first()
    )
    return None if row is None else (row.patient, _arrival(row))
