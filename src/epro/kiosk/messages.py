"""Typed messages: answer widgets post upwards (the screen owns the session state); sync news."""

from __future__ import annotations

from textual.message import Message

from epro.forms.model import AnswerValue


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
