"""What every answer widget offers the questionnaire screen."""

from __future__ import annotations

from textual.widget import Widget

from epro.forms.model import AnswerValue, Item
from epro.kiosk.messages import AnswerChanged


class AnswerWidget(Widget, can_focus=True):
    """Base of the answer widgets: knows its item, holds no default, posts ``AnswerChanged``."""

    def __init__(self, item: Item, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="answer")
        self.item = item

    @property
    def pending(self) -> AnswerValue | None:
        """What the respondent has set but not yet confirmed (None = nothing yet)."""
        return None

    @property
    def is_blank(self) -> bool:
        """Nothing entered at all (an optional item may then be passed by)."""
        return self.pending is None

    def confirm(self) -> bool:
        """Post the pending answer; False when there is nothing to confirm yet."""
        value = self.pending
        if value is None:
            return False
        self.post_message(AnswerChanged(self.item.link_id, value))
        return True
