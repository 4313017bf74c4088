"""The study protocol as frozen objects: visits, windows and who answers which form at what age.

These objects are what ``forms/study.toml`` becomes after validation (``epro.schedule.parse``).
They hold no dates of any patient; ``epro.schedule.timeline`` places them on a calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from epro.errors import ScheduleError
from epro.forms.errors import Problem


class RespondentMode(StrEnum):
    """How the age rules of one form combine.

    ``single``: exactly one respondent at any age (CHAQ: parent below 8, child from 8), so the
    rules must neither overlap nor leave a gap. ``all``: every rule that fits the age applies
    (JAMAR: the parent always, the child in addition from 7); a respondent may not have two
    overlapping rules, and some respondent must fit every age.
    """

    SINGLE = "single"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class AgeRule:
    """One respondent for one form over an age band: ``from_age`` ≤ age < ``below_age``."""

    respondent: str
    from_age: float = 0.0
    #: ``None`` means no upper bound.
    below_age: float | None = None

    def applies(self, age_years: float) -> bool:
        if age_years < self.from_age:
            return False
        return self.below_age is None or age_years < self.below_age


@dataclass(frozen=True, slots=True)
class FormRespondents:
    """The respondents of one form by age, in the order the kiosk should offer them."""

    form_id: str
    mode: RespondentMode
    rules: tuple[AgeRule, ...]

    def for_age(self, age_years: float) -> tuple[str, ...]:
        return tuple(rule.respondent for rule in self.rules if rule.applies(age_years))

    @property
    def respondents(self) -> tuple[str, ...]:
        """Every respondent any rule names, each once, in rule order."""
        return tuple(dict.fromkeys(rule.respondent for rule in self.rules))


@dataclass(frozen=True, slots=True)
class Visit:
    """One protocol visit; the window is in days around the target date, both ends included."""

    code: str
    week: int
    window_before_days: int
    window_after_days: int
    forms: tuple[str, ...]
    #: False when no questionnaire is answered at the kiosk (screening: clinician data only).
    kiosk: bool
    is_baseline: bool
    name: str = ""


@dataclass(frozen=True, slots=True)
class Study:
    """A validated study protocol. Look-ups raise :class:`ScheduleError` on unknown names."""

    id: str
    title: str
    visits: tuple[Visit, ...]
    respondents: tuple[FormRespondents, ...]
    baseline_visit: str
    #: Age range at the baseline visit in completed years, both included: 4 and 18 admit
    #: every age from the 4th birthday up to the day before the 19th.
    min_age_years: int
    max_age_years: int
    source: str = "<memory>"
    warnings: tuple[Problem, ...] = ()
    #: The protocol version (amendments change it); empty when the file gives none.
    version: str = ""
    #: The study public key's fingerprint (32–64 lower-case hex digits, normalised) that a
    #: kiosk checks the enrolling server's study key against; empty when the file gives none.
    study_key_fingerprint: str = ""

    def visit(self, code: str) -> Visit:
        for visit in self.visits:
            if visit.code == code:
                return visit
        known = ", ".join(v.code for v in self.visits)
        raise ScheduleError(f"unknown visit {code!r} in study {self.id}; use one of: {known}")

    @property
    def baseline(self) -> Visit:
        return self.visit(self.baseline_visit)

    @property
    def form_ids(self) -> tuple[str, ...]:
        """Every form due at some visit, each once, in protocol order."""
        return tuple(dict.fromkeys(form for visit in self.visits for form in visit.forms))

    def form_respondents(self, form_id: str) -> FormRespondents:
        for entry in self.respondents:
            if entry.form_id == form_id:
                return entry
        known = ", ".join(entry.form_id for entry in self.respondents)
        raise ScheduleError(f"unknown form {form_id!r} in study {self.id}; use one of: {known}")

    def respondents_for(self, form_id: str, age_years: float) -> tuple[str, ...]:
        """Who answers ``form_id`` at this age, e.g. ``("parent", "child")`` for JAMAR at 7."""
        if age_years < 0:
            raise ScheduleError(f"age {age_years} is negative; an age is counted from birth")
        return self.form_respondents(form_id).for_age(age_years)
