"""The visit schedule: the study protocol (``forms/study.toml``) and what is due when.

Pure apart from :func:`load_study`; never imports the kiosk UI. The public names are re-exported
here, so callers write ``from epro.schedule import due_forms``.
"""

from __future__ import annotations

from epro.schedule.collect import STUDY_CODES
from epro.schedule.model import AgeRule, FormRespondents, RespondentMode, Study, Visit
from epro.schedule.parse import default_study_path, load_study, parse_study
from epro.schedule.timeline import (
    BIRTH_DAY,
    DueForm,
    DueStatus,
    ScheduledVisit,
    age_at,
    age_at_baseline,
    due_forms,
    in_window,
    open_visit,
    parse_birth_month,
    scheduled_visit,
    visit_calendar,
)

__all__ = [
    "BIRTH_DAY",
    "STUDY_CODES",
    "AgeRule",
    "DueForm",
    "DueStatus",
    "FormRespondents",
    "RespondentMode",
    "ScheduledVisit",
    "Study",
    "Visit",
    "age_at",
    "age_at_baseline",
    "default_study_path",
    "due_forms",
    "in_window",
    "load_study",
    "open_visit",
    "parse_birth_month",
    "parse_study",
    "scheduled_visit",
    "visit_calendar",
]
