"""``long.csv``: one row per answerable item of every response, valid and entered in error.

The long file is the audit view: every response the bundle holds, in each patient's submission
order, each item in form order, with its receipt, window and status. An item the response has
no answer for is ``not_reached``; ``na`` and ``skipped`` stay apart. De-identified exports
leave out the rows of free-text items and the data manager's status reasons.

:class:`LongCsvWriter` renders each response's routing cells once and each item's distinct
answers once per form version (:mod:`epro.export.csv_plan`), and writes a patient's rows as
one text. :class:`ReferenceLongCsvWriter` writes the same bytes cell by cell through the csv
module; it is the plain statement of the rules, and a test holds the two byte-equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from epro.export import csv_cells as cell
from epro.export.csv_plan import ItemCells, quoted
from epro.export.records import (
    ExportContext,
    ExportResponse,
    Missing,
    PatientRecord,
    WrittenFile,
)
from epro.forms.model import AnswerValue, Form, Item, ItemType

FILE_NAME: Final = "long.csv"

#: Columns before the status, in file order.
_RESPONSE_COLUMNS: Final = (
    "site",
    "patient",
    "visit",
    "visit_date",
    "form_id",
    "form_version",
    "respondent",
    "language",
    "response_id",
    "submitted_at",
    "received_at",
    "out_of_window",
    "status",
)
_ITEM_COLUMNS: Final = ("link_id", "value", "value_label", "missing")


def long_columns(deidentified: bool) -> list[str]:
    """The header of ``long.csv``; ``status_reason`` is free text and so not de-identified."""
    reason = [] if deidentified else ["status_reason"]
    return [*_RESPONSE_COLUMNS, *reason, *_ITEM_COLUMNS]


def _head(context: ExportContext, response: ExportResponse, visit_date: str | None) -> list[str]:
    """The cells before the item's: the response's routing, receipt, window and status."""
    head = [
        response.site,
        response.patient,
        response.visit,
        # A visit whose responses were all entered in error has no date of its own.
        visit_date or "",
        response.form_id,
        response.form_version,
        response.respondent,
        response.language,
        response.response_id,
        cell.moment(response.submitted_at),
        cell.moment(response.received_at),
        cell.flag(response.out_of_window),
        str(response.status),
    ]
    if not context.deidentified:
        head.append(response.status_reason or "")
    return head


def _present_tail(item: Item, value: AnswerValue) -> str:
    """The item's cells and the line end, for an answer that is there (a code or a value)."""
    link = quoted(item.link_id)
    # With a value present the other answers do not matter.
    missing = cell.missing_of(item, value, {})
    if missing is not None:
        return f"{link},,,{quoted(str(missing))}\n"
    answer = quoted(cell.answer(item, value))
    return f"{link},{answer},{quoted(cell.answer_label(item, value))},\n"


@dataclass(frozen=True, slots=True)
class _LongItem:
    """One row's worth of an item of one form version, rendered ahead."""

    link_id: str
    cells: ItemCells
    #: The item's cells and line end for each reason it may hold no answer.
    absent: dict[Missing, str]


def _plan(form: Form, deidentified: bool) -> tuple[_LongItem, ...]:
    plan = []
    for item in form.answerable_items:
        if item.type is ItemType.TEXT and deidentified:
            continue
        link = quoted(item.link_id)
        absent = {missing: f"{link},,,{quoted(str(missing))}\n" for missing in Missing}
        plan.append(_LongItem(item.link_id, ItemCells(item, _present_tail), absent))
    return tuple(plan)


class LongRenderer:
    """A patient's rows of ``long.csv`` as one text, in any process (a PatientRenderer)."""

    def __init__(self, context: ExportContext) -> None:
        self._context = context
        self._width = len(long_columns(context.deidentified))
        self._plans: dict[tuple[str, str], tuple[_LongItem, ...]] = {}

    def render(self, patient: PatientRecord) -> tuple[str, int]:
        """The patient's rows as CSV text, and how many there are."""
        context = self._context
        width = self._width
        dates = {visit.visit: cell.day(visit.visit_date) for visit in patient.visits}
        parts: list[str] = []
        rows = 0
        for response in patient.responses:
            form = cell.form_of(context, response)
            key = (form.id, form.version)
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plans[key] = _plan(form, context.deidentified)
            if not plan:
                continue
            head_cells = _head(context, response, dates.get(response.visit))
            if len(head_cells) + len(_ITEM_COLUMNS) != width:
                # A short row would shift every later cell under the wrong header.
                raise ValueError(f"{FILE_NAME}: rows do not match the {width} names")
            head = ",".join([quoted(text) for text in head_cells]) + ","
            answers = response.answers
            tails = []
            for entry in plan:
                value = answers.get(entry.link_id)
                if value is None:
                    tails.append(entry.absent[entry.cells.absent(answers)])
                else:
                    tails.append(entry.cells.render(value))
            parts.append(head)
            parts.append(head.join(tails))
            rows += len(tails)
        return "".join(parts), rows


class LongCsvWriter:
    """Writes ``long.csv`` as patients arrive; holds nothing of a patient afterwards.

    A PartWriter: the rows are rendered by :class:`LongRenderer`, in a worker process when
    the export has them, and only appended here.
    """

    def __init__(self) -> None:
        self._file: cell.CsvFile | None = None
        self._context: ExportContext | None = None
        self._renderer: LongRenderer | None = None

    def begin(self, out: Path, context: ExportContext) -> None:
        self._context = context
        self._renderer = LongRenderer(context)
        self._file = cell.CsvFile(out, FILE_NAME, long_columns(context.deidentified))

    def renderer(self) -> LongRenderer:
        if self._context is None:
            raise RuntimeError("LongCsvWriter.begin must come before renderer")
        return LongRenderer(self._context)

    def add_patient(self, patient: PatientRecord) -> None:
        if self._renderer is None:
            raise RuntimeError("LongCsvWriter.begin must come before add_patient")
        self.add_part(self._renderer.render(patient))

    def add_part(self, part: tuple[str, int]) -> None:
        if self._file is None:
            raise RuntimeError("LongCsvWriter.begin must come before add_part")
        text, rows = part
        self._file.write_text(text, rows)

    def finish(self) -> list[WrittenFile]:
        if self._file is None:
            raise RuntimeError("LongCsvWriter.begin must come before finish")
        self._file.close()
        return [WrittenFile(Path(FILE_NAME), self._file.rows)]


class ReferenceLongCsvWriter:
    """Writes ``long.csv`` cell by cell through the csv module: the same bytes, slower."""

    def __init__(self) -> None:
        self._file: cell.CsvFile | None = None
        self._context: ExportContext | None = None

    def begin(self, out: Path, context: ExportContext) -> None:
        self._context = context
        self._file = cell.CsvFile(out, FILE_NAME, long_columns(context.deidentified))

    def add_patient(self, patient: PatientRecord) -> None:
        if self._file is None or self._context is None:
            raise RuntimeError("ReferenceLongCsvWriter.begin must come before add_patient")
        dates = {visit.visit: cell.day(visit.visit_date) for visit in patient.visits}
        for response in patient.responses:
            self._write_response(self._file, self._context, response, dates.get(response.visit))

    def finish(self) -> list[WrittenFile]:
        if self._file is None:
            raise RuntimeError("ReferenceLongCsvWriter.begin must come before finish")
        self._file.close()
        return [WrittenFile(Path(FILE_NAME), self._file.rows)]

    @staticmethod
    def _write_response(
        file: cell.CsvFile,
        context: ExportContext,
        response: ExportResponse,
        visit_date: str | None,
    ) -> None:
        form = cell.form_of(context, response)
        head = _head(context, response, visit_date)
        for item in form.answerable_items:
            if item.type is ItemType.TEXT and context.deidentified:
                continue
            value = response.answers.get(item.link_id)
            missing = cell.missing_of(item, value, response.answers)
            if missing is not None or value is None:
                file.write([*head, item.link_id, "", "", str(missing)])
            else:
                label = cell.answer_label(item, value)
                file.write([*head, item.link_id, cell.answer(item, value), label, ""])
