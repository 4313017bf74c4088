"""``long.csv``: one row per answerable item of every response, valid and entered in error.

The long file is the audit view: every response the bundle holds, in each patient's submission
order, each item in form order, with its receipt, window and status. An item the response has
no answer for is ``not_reached``; ``na`` and ``skipped`` stay apart. De-identified exports
leave out the rows of free-text items and the data manager's status reasons.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from epro.export import csv_cells as cell
from epro.export.records import (
    ExportContext,
    ExportResponse,
    PatientRecord,
    WrittenFile,
)
from epro.forms.model import ItemType

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


class LongCsvWriter:
    """Writes ``long.csv`` as patients arrive; holds nothing of a patient afterwards."""

    def __init__(self) -> None:
        self._file: cell.CsvFile | None = None
        self._context: ExportContext | None = None

    def begin(self, out: Path, context: ExportContext) -> None:
        self._context = context
        self._file = cell.CsvFile(out, FILE_NAME, long_columns(context.deidentified))

    def add_patient(self, patient: PatientRecord) -> None:
        if self._file is None or self._context is None:
            raise RuntimeError("LongCsvWriter.begin must come before add_patient")
        dates = {visit.visit: cell.day(visit.visit_date) for visit in patient.visits}
        for response in patient.responses:
            self._write_response(self._file, self._context, response, dates.get(response.visit))

    def finish(self) -> list[WrittenFile]:
        if self._file is None:
            raise RuntimeError("LongCsvWriter.begin must come before finish")
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
        for item in form.answerable_items:
            if item.type is ItemType.TEXT and context.deidentified:
                continue
            value = response.answers.get(item.link_id)
            missing = cell.missing_of(item, value)
            if missing is not None or value is None:
                file.write([*head, item.link_id, "", "", str(missing)])
            else:
                label = cell.answer_label(item, value)
                file.write([*head, item.link_id, cell.answer(item, value), label, ""])
