"""How the CSV files write a cell, and how they open a file, so that equal records give equal bytes.

One rendering for each kind of value, used by the long, wide and scores files alike:

* numbers: a whole number without a decimal point (``3``, also for the float ``3.0``), any other
  float as Python's shortest round-trip ``repr`` (``7.5``, ``1.125``);
* yes/no: ``1`` and ``0``;
* dates ``YYYY-MM-DD``; times in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, the rendering the
  kiosk signs;
* missing answers: the words of :class:`~epro.export.records.Missing`, never an empty cell
  (an empty cell means "nothing to say", e.g. a score that is null or a ticked-nothing list).

Files are UTF-8 without a byte-order mark, with ``\\n`` line ends and minimal quoting.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO

from epro.errors import FormError
from epro.export.records import (
    ExportContext,
    ExportResponse,
    Missing,
    ResponseStatus,
    absent_reason,
)
from epro.forms.model import NA, SKIPPED, AnswerValue, Form, Item, ItemType
from epro.protocol import utc_timestamp

#: Option codes of a flag: a boolean answer, one option of a checklist, a yes/no score.
YES = "1"
NO = "0"


def number(value: float | int) -> str:
    """``3`` for 3 and 3.0, ``7.5`` for 7.5: whole numbers never get a ``.0``."""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, int):
        return str(value)
    if math.isfinite(value) and value.is_integer():
        return str(int(value))
    return repr(value)


def flag(value: bool) -> str:
    return YES if value else NO


def day(value: date) -> str:
    return value.isoformat()


def moment(value: datetime) -> str:
    """A time in UTC with ``Z``; a time without a zone would depend on this machine's clock."""
    if value.tzinfo is None:
        raise ValueError("export times must carry a time zone")
    return utc_timestamp(value)


def missing_of(
    item: Item, value: AnswerValue | None, answers: Mapping[str, AnswerValue]
) -> Missing | None:
    """Why ``item`` holds no answer, or None when it holds one (``answers``: the response's
    answers, which say whether the form's branching asked the item at all).

    ``"na"`` is an answer code only on items that offer it; a free text reading "na" is text.
    """
    if value is None:
        return absent_reason(item, answers)
    if isinstance(value, str):
        if value == SKIPPED:
            return Missing.SKIPPED
        if value == NA and item.type is not ItemType.TEXT:
            return Missing.NOT_APPLICABLE
    return None


def answer(item: Item, value: AnswerValue) -> str:
    """An answer that is present and not a missing code, as one cell."""
    if isinstance(value, bool):
        return flag(value)
    if isinstance(value, list):
        ticked = set(value)
        # Codes in the order of the options, whatever order the list came in.
        return ";".join(str(code) for code in item.codes if str(code) in ticked)
    if isinstance(value, int | float):
        return number(value)
    return value


def answer_label(item: Item, value: AnswerValue) -> str:
    """The English label of a coded answer (choice, checklist, yes/no); empty for the rest."""
    if item.type is ItemType.BOOLEAN and isinstance(value, bool):
        return "yes" if value else "no"
    if item.type is ItemType.CHOICE:
        for option in item.options:
            if _same_code(option.code, value):
                return option.text.get("en", str(option.code))
        return ""
    if item.type is ItemType.CHECKLIST and isinstance(value, list):
        ticked = set(value)
        return "; ".join(
            option.text.get("en", str(option.code))
            for option in item.options
            if str(option.code) in ticked
        )
    return ""


def _same_code(code: int | str, value: AnswerValue) -> bool:
    # True == 1 in Python; a yes/no answer never stands for an option coded 1.
    return not isinstance(value, bool) and type(code) is type(value) and code == value


def form_of(context: ExportContext, response: ExportResponse) -> Form:
    """The form version a response was given on; the pipeline only passes known versions."""
    form = context.forms.get((response.form_id, response.form_version))
    if form is None:
        raise FormError(
            f"response {response.response_id} was given on form {response.form_id} "
            f"{response.form_version}, which this export does not know; keep that version's "
            "file in forms/versions/ and export again"
        )
    return form


def latest_valid(responses: Iterable[ExportResponse]) -> dict[tuple[str, str], ExportResponse]:
    """Per (form id, respondent) the valid response submitted last: the one that is scored.

    Ties on the submission time fall to the later receipt, then the response id, so the choice
    never depends on the order the responses came in.
    """
    chosen: dict[tuple[str, str], ExportResponse] = {}
    for response in responses:
        if response.status is not ResponseStatus.VALID:
            continue
        key = (response.form_id, response.respondent)
        held = chosen.get(key)
        if held is None or _order(response) > _order(held):
            chosen[key] = response
    return chosen


def _order(response: ExportResponse) -> tuple[datetime, datetime, str]:
    return (response.submitted_at, response.received_at, response.response_id)


class CsvFile:
    """One CSV file being written row by row; counts its data rows."""

    def __init__(self, folder: Path, name: str, header: Sequence[str]) -> None:
        self.name = name
        self.rows = 0
        # A large buffer: the fast writers hand over a patient's rows as one text.
        self._handle: IO[str] = (folder / name).open(
            "w", encoding="utf-8", newline="", buffering=1 << 20
        )
        self._writer = csv.writer(self._handle, lineterminator="\n")
        self._writer.writerow(header)
        self._width = len(header)

    def write(self, row: Sequence[str]) -> None:
        if len(row) != self._width:
            # A short row would shift every later cell under the wrong header.
            raise ValueError(f"{self.name}: a row of {len(row)} cells under {self._width} names")
        self._writer.writerow(row)
        self.rows += 1

    @property
    def width(self) -> int:
        return self._width

    def write_text(self, text: str, rows: int) -> None:
        """``rows`` whole rows already rendered as CSV text (see :mod:`epro.export.csv_plan`)."""
        self._handle.write(text)
        self.rows += rows

    def close(self) -> None:
        self._handle.close()
