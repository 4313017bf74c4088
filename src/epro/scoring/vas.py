"""The trial's stand-alone VAS forms (instruments.md §2.3): the score is the value itself."""

from __future__ import annotations

from epro.scoring import answers as read
from epro.scoring.answers import Answers
from epro.scoring.result import ScoreResult, ScoreSheet, missing_note


def vas_value(answers: Answers, name: str) -> int | None:
    """A 0–100 VAS answer; None when skipped or absent."""
    value = read.number(answers, name, 0, 100, integer=True)
    return None if value is None else int(value)


def score_vas(form_id: str, answers: Answers) -> ScoreResult:
    """``vas_pain`` or ``vas_wellbeing``: the form's single item, which shares its name."""
    sheet = ScoreSheet()
    sheet.put(form_id, vas_value(answers, form_id), missing_note([form_id]))
    return sheet.result()
