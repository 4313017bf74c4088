"""Pure scoring functions (instruments.md §2–4): CHAQ, JAMAR, VAS, JADAS, ACR Pedi.

Answers come in by the variable names of instruments.md, scores go out by the score names of
instruments.md, unrounded, each null score with a note saying why. Nothing here does I/O.
"""

from __future__ import annotations

from epro.scoring.composites import CATEGORY_LABELS
from epro.scoring.params import DEFAULT_PARAMS, ScoringParams
from epro.scoring.result import ScoreResult, ScoreValue
from epro.scoring.visit import VisitResponse, score_form, score_visit

__all__ = [
    "CATEGORY_LABELS",
    "DEFAULT_PARAMS",
    "ScoreResult",
    "ScoreValue",
    "ScoringParams",
    "VisitResponse",
    "score_form",
    "score_visit",
]
