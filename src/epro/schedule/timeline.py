"""One patient's protocol on the calendar: target dates, windows, ages and what is due.

Pure functions over a :class:`Study`, a baseline date (the date of the baseline visit) and the
birth year-month. Definitions, per (visit, form, respondent) on a date ``on``:

* ``upcoming`` – the window has not opened yet (``on`` < window start);
* ``due``      – the window is open and the target date not passed (start ≤ ``on`` ≤ target);
* ``overdue``  – the target date has passed and the window is still open
  (target < ``on`` ≤ window end); a visit whose window ends on its target (V1) is never overdue;
* ``missed``   – the window has closed (``on`` > window end) and it was not done;
* ``done``     – listed in ``done``, whatever the date.

Age is counted from day 15 of the birth month (only year and month are collected). Who answers
is decided by the age on ``on`` while the visit is open, otherwise by the age at the target date.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from epro.errors import ScheduleError
from epro.schedule.model import RespondentMode, Study, Visit

#: The assumed day of birth within the birth month.
BIRTH_DAY = 15

_YEAR_MONTH = re.compile(r"(\d{4})-(\d{2})")


class DueStatus(StrEnum):
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    MISSED = "missed"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class ScheduledVisit:
    """A visit placed on one patient's calendar; the window includes both end dates."""

    visit: Visit
    target: date
    window_start: date
    window_end: date

    @property
    def code(self) -> str:
        return self.visit.code

    @property
    def week(self) -> int:
        return self.visit.week

    def contains(self, on: date) -> bool:
        return self.window_start <= on <= self.window_end

    def status_on(self, on: date) -> DueStatus:
        """The time-based status (never ``done``; completion is known only to the caller)."""
        if on < self.window_start:
            return DueStatus.UPCOMING
        if on <= self.target:
            return DueStatus.DUE
        if on <= self.window_end:
            return DueStatus.OVERDUE
        return DueStatus.MISSED

    def reference_date(self, on: date) -> date:
        """The date whose age decides the respondents: today while open, else the target."""
        return on if self.contains(on) else self.target


@dataclass(frozen=True, slots=True)
class DueForm:
    """One questionnaire one respondent owes (or owed) at one visit."""

    visit_code: str
    form_id: str
    respondent: str
    status: DueStatus
    target: date
    window_start: date
    window_end: date
    #: Age in years on the reference date (see the module docstring).
    age_years: float
    kiosk: bool


def parse_birth_month(birth_ym: str) -> date:
    """``'2014-03'`` → 15 March 2014. Raises ``ScheduleError`` on anything else."""
    match = _YEAR_MONTH.fullmatch(birth_ym.strip()) if isinstance(birth_ym, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
        raise ScheduleError(
            f"birth month {birth_ym!r} is not a year and month; write it as YYYY-MM, e.g. 2014-03"
        )
    return date(int(match.group(1)), int(match.group(2)), BIRTH_DAY)


def age_at(birth_ym: str, on: date) -> float:
    """Age in years on ``on``: completed years plus the elapsed part of the current year.

    Exactly the whole number on the birthday (day 15 of the birth month), so "from 8 years"
    starts on that day. Raises ``ScheduleError`` for a malformed month or a date before birth.
    """
    born = parse_birth_month(birth_ym)
    if on < born.replace(day=1):
        raise ScheduleError(f"the date {on.isoformat()} is before the birth month {birth_ym}")
    if on < born:
        return 0.0  # within the birth month, before the assumed day
    years = on.year - born.year - (1 if (on.month, on.day) < (born.month, BIRTH_DAY) else 0)
    last = born.replace(year=born.year + years)
    following = born.replace(year=born.year + years + 1)
    return years + (on - last).days / (following - last).days


def age_at_baseline(study: Study, baseline: date, birth_ym: str) -> float:
    """The age at the baseline visit, checked against the study's age range."""
    born = parse_birth_month(birth_ym)
    if baseline < born:
        raise ScheduleError(
            f"baseline {baseline.isoformat()} is before the birth month {birth_ym}; "
            "check both dates"
        )
    age = age_at(birth_ym, baseline)
    # Completed years, both limits included: 18 admits an age up to the day before 19.
    if not study.min_age_years <= int(age) <= study.max_age_years:
        raise ScheduleError(
            f"the patient is {age:.1f} years old at baseline {baseline.isoformat()}; "
            f"study {study.id} admits ages {study.min_age_years}–{study.max_age_years} — "
            "check the birth month and the baseline date"
        )
    return age


def visit_calendar(study: Study, baseline: date) -> list[ScheduledVisit]:
    """Every visit with its target date (baseline + 7 × week days) and window."""
    calendar: list[ScheduledVisit] = []
    for visit in study.visits:
        target = baseline + timedelta(days=7 * visit.week)
        try:
            start = target - timedelta(days=visit.window_before_days)
            end = target + timedelta(days=visit.window_after_days)
        except OverflowError:
            raise ScheduleError(f"baseline {baseline.isoformat()} is out of range") from None
        calendar.append(ScheduledVisit(visit, target, start, end))
    return calendar


def scheduled_visit(study: Study, baseline: date, visit_code: str) -> ScheduledVisit:
    """One visit on the calendar; ``ScheduleError`` naming the known codes if unknown."""
    study.visit(visit_code)  # raises with the list of codes
    return next(s for s in visit_calendar(study, baseline) if s.code == visit_code)


def open_visit(study: Study, baseline: date, on: date) -> ScheduledVisit | None:
    """The visit whose window contains ``on`` (windows never overlap), or ``None``."""
    return next((s for s in visit_calendar(study, baseline) if s.contains(on)), None)


def in_window(study: Study, baseline: date, visit_code: str, on: date) -> bool:
    """Whether ``on`` lies in the visit's window; outside it a session needs a staff override."""
    return scheduled_visit(study, baseline, visit_code).contains(on)


def due_forms(
    study: Study,
    baseline: date,
    birth_ym: str,
    on: date,
    done: Collection[tuple[str, str, str]] = (),
) -> list[DueForm]:
    """Every (visit, form, respondent) of the protocol with its status on ``on``.

    ``done`` holds ``(visit_code, form_id, respondent)`` triples already submitted. A done
    respondent is listed even if the age rule names another one at the reference date (the
    birthday fell inside the window); for a single-respondent form it then replaces the others.
    """
    age_at_baseline(study, baseline, birth_ym)
    _check_done(study, done)
    finished = set(done)
    result: list[DueForm] = []
    for scheduled in visit_calendar(study, baseline):
        on_ref = scheduled.reference_date(on)
        age = age_at(birth_ym, on_ref)
        timed = scheduled.status_on(on)
        for form_id in scheduled.visit.forms:
            entry = study.form_respondents(form_id)
            done_here = [r for r in entry.respondents if (scheduled.code, form_id, r) in finished]
            expected = list(entry.for_age(age))
            if entry.mode is RespondentMode.SINGLE and done_here:
                expected = done_here
            ordered = [r for r in entry.respondents if r in expected or r in done_here]
            for respondent in ordered:
                status = DueStatus.DONE if respondent in done_here else timed
                result.append(
                    DueForm(
                        visit_code=scheduled.code,
                        form_id=form_id,
                        respondent=respondent,
                        status=status,
                        target=scheduled.target,
                        window_start=scheduled.window_start,
                        window_end=scheduled.window_end,
                        age_years=age,
                        kiosk=scheduled.visit.kiosk,
                    )
                )
    return result


def _check_done(study: Study, done: Collection[tuple[str, str, str]]) -> None:
    for entry in done:
        if len(entry) != 3:
            raise ScheduleError(f"done entry {entry!r} must be (visit, form, respondent)")
        visit_code, form_id, respondent = entry
        visit = study.visit(visit_code)
        if form_id not in visit.forms:
            raise ScheduleError(
                f"form {form_id!r} is not due at visit {visit_code}; "
                f"that visit has: {', '.join(visit.forms)}"
            )
        allowed = study.form_respondents(form_id).respondents
        if respondent not in allowed:
            raise ScheduleError(
                f"{respondent!r} does not answer {form_id!r}; use one of: {', '.join(allowed)}"
            )
