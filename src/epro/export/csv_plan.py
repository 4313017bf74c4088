"""The fast way the long and wide files render cells: each distinct answer of an item once.

The export writes millions of cells that repeat: the same link id, the same choice code and
its label, the same missing word. :class:`ItemCells` renders an answer of one item of one form
version through the reference functions of :mod:`epro.export.csv_cells` the first time it
sees it and keeps the text, so later rows only look it up. :func:`quoted` applies the csv
module's minimal quoting to one cell, so rows can be joined as text and written in large
chunks; the reference writers keep the csv module itself and a test holds both byte-equal.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Hashable, Mapping
from typing import Final

from epro.export.records import Missing, absent_reason
from epro.forms.model import AnswerValue, Item, ItemType

#: At most this many distinct answers are kept per item; numbers with many decimals or a
#: long run of distinct codes are then rendered each time rather than held without bound.
MEMO_LIMIT: Final = 4096

_buffer = io.StringIO()
_writer = csv.writer(_buffer, lineterminator="\n")


def _csv_quoted(text: str) -> str:
    """The cell as the csv module writes it (the rule for ``\\r`` changed between Pythons)."""
    _buffer.seek(0)
    _buffer.truncate()
    # Two cells, so an empty one is never quoted as a row of its own would be.
    _writer.writerow([text, ""])
    return _buffer.getvalue()[:-2]


def quoted(text: str) -> str:
    """One cell with minimal quoting: only a cell holding a comma, quote or line break
    is quoted (quotes doubled); that rare cell goes through the csv module itself."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return _csv_quoted(text)
    return text


def answer_key(value: AnswerValue) -> Hashable:
    """A key under which equal answers render equally: ``True`` and ``1`` stay apart."""
    if isinstance(value, list):
        return (list, tuple(value))
    return (type(value), value)


class ItemCells:
    """The rendered cells of one item of one form version, each distinct answer once.

    ``render(value)`` gives the text for a present answer (not None); ``absent(answers)`` why
    a response without one holds none, which only the item's condition can make depend on
    the other answers.
    """

    __slots__ = ("_always_asked", "_memo", "_memo_ok", "_render", "item", "link_id")

    def __init__(self, item: Item, render: Callable[[Item, AnswerValue], str]) -> None:
        self.item = item
        self.link_id = item.link_id
        self._render = render
        self._memo: dict[Hashable, str] = {}
        # Free text is rarely repeated and may be long: render it each time.
        self._memo_ok = item.type is not ItemType.TEXT
        self._always_asked = item.enable_when is None or not item.enable_when.conditions

    def absent(self, answers: Mapping[str, AnswerValue]) -> Missing:
        if self._always_asked:
            return Missing.NOT_REACHED
        return absent_reason(self.item, answers)

    def render(self, value: AnswerValue) -> str:
        if not self._memo_ok:
            return self._render(self.item, value)
        key = answer_key(value)
        found = self._memo.get(key)
        if found is None:
            found = self._render(self.item, value)
            if len(self._memo) < MEMO_LIMIT:
                self._memo[key] = found
        return found
