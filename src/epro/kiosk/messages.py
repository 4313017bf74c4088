"""Typed messages: answer widgets post upwards (the screen owns the session state); screens post
what the respondent wants next and the app alone switches screens; sync news."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from epro.forms.model import AnswerValue

if TYPE_CHECKING:
    from epro.station import SessionPlan


class AnswerChanged(Message):
    """The respondent gave (or changed) the answer to one item."""

    def __init__(self, link_id: str, value: AnswerValue) -> None:
        super().__init__()
        self.link_id = link_id
        self.value = value


class SyncFinished(Message):
    """A sync ended (posted from its thread); ``text`` is what to tell the nurse, if anything."""

    def __init__(self, text: str | None, *, failed: bool) -> None:
        super().__init__()
        self.text = text
        self.failed = failed


class GoOn(Message):
    """The respondent pressed Enter on an answer already chosen: go on, as Next would."""


class ReviewWanted(Message):
    """The last question is done (or Back from a question opened from the review)."""

    def __init__(self, plan: SessionPlan) -> None:
        super().__init__()
        self.plan = plan


class ChangeWanted(Message):
    """A line of the review was chosen: that question, then back to the review."""

    def __init__(self, plan: SessionPlan, link_id: str) -> None:
        super().__init__()
        self.plan = plan
        self.link_id = link_id


class FormSubmitted(Message):
    """The form on screen was submitted: the thank-you, then the next form of the visit."""

    def __init__(self, plan: SessionPlan) -> None:
        super().__init__()
        self.plan = plan


class NextFormWanted(Message):
    """The thank-you's button: the next form of the queue (or "give the kiosk back")."""


class GiveBack(Message):
    """The kiosk was given back to the nurse: lock it."""
