"""Typed messages the answer widgets post upwards; the screen owns the session state."""

from __future__ import annotations

from textual.message import Message

from epro.forms.model import AnswerValue


class AnswerChanged(Message):
    """The respondent gave (or changed) the answer to one item."""

    def __init__(self, link_id: str, value: AnswerValue) -> None:
        super().__init__()
        self.link_id = link_id
        self.value = value
