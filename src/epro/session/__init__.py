"""Questionnaire sessions: the state machine between the kiosk screens and the encrypted store.

``SessionService`` starts, resumes, stops and acknowledges responses; a
``QuestionnaireSession`` is one respondent answering one form. No UI here: the kiosk drives
it, and tests drive it without one.
"""

from epro.session.questionnaire import QuestionnaireSession, ReviewLine, SubmitResult
from epro.session.service import SessionService, utc_now

__all__ = [
    "QuestionnaireSession",
    "ReviewLine",
    "SessionService",
    "SubmitResult",
    "utc_now",
]
