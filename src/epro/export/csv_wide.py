"""``wide.csv``: one row per patient and visit, one block of columns per form and respondent.

Column names follow :mod:`epro.export.layout`. Every cell of an answer column holds the answer
or a missing word: ``na``, ``skipped``, ``not_reached`` (the form was submitted without it), or
``not_collected`` (the form was not submitted for this respondent at this visit, or the version
that was submitted has no such item or option). Only valid responses are written; when one form
was validly submitted twice for the same respondent at a visit, the last submitted is written,
the one the scores are computed from (the long file keeps both).

:class:`WideCsvWriter` renders each column's distinct answers once per form version
(:mod:`epro.export.csv_plan`) and joins a row as text; :class:`ReferenceWideCsvWriter` writes
the same bytes cell by cell through the csv module, and a test holds the two byte-equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from epro.errors import FormError
from epro.export import csv_cells as cell
from epro.export.csv_plan import ItemCells, quoted
from epro.export.layout import (
    AnswerColumn,
    answer_columns,
    form_prefix,
    form_versions,
    respondents_of,
)
from epro.export.records import (
    ExportContext,
    ExportResponse,
    Missing,
    PatientRecord,
    VisitRecord,
    WrittenFile,
)
from epro.forms.model import AnswerValue, Form, Item, ItemType

FILE_NAME: Final = "wide.csv"
KEY_COLUMNS: Final = ("site", "patient", "visit", "visit_date", "age_years")
COLLECTED: Final = "collected"
NOT_COLLECTED: Final = str(Missing.NOT_COLLECTED)


@dataclass(frozen=True, slots=True)
class FormBlock:
    """The columns of one form and respondent: status, version, response id, answers."""

    form_id: str
    respondent: str
    prefix: str
    #: Every known version of the form, oldest first.
    versions: tuple[Form, ...]
    answers: tuple[AnswerColumn, ...]

    @property
    def status_column(self) -> str:
        return f"{self.prefix}_status"

    @property
    def version_column(self) -> str:
        return f"{self.prefix}_version"

    @property
    def response_column(self) -> str:
        return f"{self.prefix}_response_id"

    @property
    def names(self) -> list[str]:
        return [
            self.status_column,
            self.version_column,
            self.response_column,
            *(column.name for column in self.answers),
        ]


def wide_blocks(context: ExportContext) -> list[FormBlock]:
    """The form blocks of the wide file, forms in id order, respondents as the forms name them."""
    blocks: list[FormBlock] = []
    for form_id, versions in form_versions(context.forms).items():
        for respondent in respondents_of(versions):
            columns = answer_columns(versions, respondent, include_text=not context.deidentified)
            blocks.append(
                FormBlock(
                    form_id=form_id,
                    respondent=respondent,
                    prefix=form_prefix(versions[-1], respondent),
                    versions=tuple(versions),
                    answers=tuple(columns),
                )
            )
    return blocks


def wide_columns(blocks: Sequence[FormBlock]) -> list[str]:
    return [*KEY_COLUMNS, *(name for block in blocks for name in block.names)]


def _answer_cell(column: AnswerColumn, items: Mapping[str, Item], response: ExportResponse) -> str:
    item = items.get(column.link_id)
    if item is None:
        return str(Missing.NOT_ASKED)  # the version answered has no such item
    value = response.answers.get(column.link_id)
    missing = cell.missing_of(item, value, response.answers)
    if missing is not None or value is None:
        return str(missing)
    if item.type is ItemType.CHECKLIST:
        option = str(column.option)
        if option not in {str(code) for code in item.codes}:
            # An option another version has was never offered on this one.
            return str(Missing.NOT_ASKED)
        return cell.flag(isinstance(value, list) and option in value)
    return cell.answer(item, value)


def _key_cells(patient: PatientRecord, visit: VisitRecord) -> list[str]:
    return [
        patient.site,
        patient.code,
        visit.visit,
        cell.day(visit.visit_date),
        "" if visit.age_years is None else cell.number(visit.age_years),
    ]


def _chosen(
    visit: VisitRecord, keys: set[tuple[str, str]]
) -> Mapping[tuple[str, str], ExportResponse]:
    """The response written per form and respondent; refuses one that has no block."""
    chosen = cell.latest_valid(visit.responses)
    for key in sorted(chosen.keys() - keys):
        # Nowhere to put these answers: refuse rather than leave them out unseen.
        raise FormError(
            f"response {chosen[key].response_id}: form {key[0]} has no respondent "
            f"{key[1]!r} in any known version; check the form files"
        )
    return chosen


def _present_cell(column: AnswerColumn) -> Callable[[Item, AnswerValue], str]:
    """How an answer that is there fills ``column``, quoted: as :func:`_answer_cell` does."""

    def render(item: Item, value: AnswerValue) -> str:
        # With a value present the other answers do not matter.
        missing = cell.missing_of(item, value, {})
        if missing is not None:
            return quoted(str(missing))
        if item.type is ItemType.CHECKLIST:
            option = str(column.option)
            if option not in {str(code) for code in item.codes}:
                return quoted(str(Missing.NOT_ASKED))
            return cell.flag(isinstance(value, list) and option in value)
        return quoted(cell.answer(item, value))

    return render


#: A column of a form version: its renderer, or the one text of a column the version lacks.
_Column = ItemCells | str


class WideRenderer:
    """A patient's visit rows of ``wide.csv`` as one text, in any process (a PatientRenderer)."""

    def __init__(self, context: ExportContext) -> None:
        self._context = context
        self._blocks = wide_blocks(context)
        self._keys = {(block.form_id, block.respondent) for block in self._blocks}
        #: Per block the text of its cells when the form was not collected.
        self._not_collected = [
            ",".join([quoted(NOT_COLLECTED), "", "", *(quoted(NOT_COLLECTED) for _ in b.answers)])
            for b in self._blocks
        ]
        self._plans: dict[tuple[int, str, str], tuple[_Column, ...]] = {}

    @property
    def blocks(self) -> list[FormBlock]:
        return self._blocks

    def render(self, patient: PatientRecord) -> tuple[str, int]:
        """The patient's rows as CSV text, and how many there are."""
        rows = [self._row(self._context, patient, visit) for visit in patient.visits]
        return "".join(rows), len(rows)

    def _plan(self, index: int, block: FormBlock, form: Form) -> tuple[_Column, ...]:
        key = (index, form.id, form.version)
        plan = self._plans.get(key)
        if plan is None:
            items = {item.link_id: item for item in form.answerable_items}
            columns: list[_Column] = []
            for column in block.answers:
                item = items.get(column.link_id)
                if item is None:
                    columns.append(quoted(str(Missing.NOT_ASKED)))  # the version has no such item
                else:
                    columns.append(ItemCells(item, _present_cell(column)))
            plan = self._plans[key] = tuple(columns)
        return plan

    def _row(self, context: ExportContext, patient: PatientRecord, visit: VisitRecord) -> str:
        parts = [quoted(text) for text in _key_cells(patient, visit)]
        chosen = _chosen(visit, self._keys)
        for index, block in enumerate(self._blocks):
            response = chosen.get((block.form_id, block.respondent))
            if response is None:
                parts.append(self._not_collected[index])
                continue
            plan = self._plan(index, block, cell.form_of(context, response))
            parts.extend([COLLECTED, quoted(response.form_version), quoted(response.response_id)])
            answers = response.answers
            for column in plan:
                if isinstance(column, str):
                    parts.append(column)
                    continue
                value = answers.get(column.link_id)
                if value is None:
                    parts.append(quoted(str(column.absent(answers))))
                else:
                    parts.append(column.render(value))
        return ",".join(parts) + "\n"


class WideCsvWriter:
    """Writes ``wide.csv`` a visit row at a time; holds nothing of a patient afterwards.

    A PartWriter: the rows are rendered by :class:`WideRenderer`, in a worker process when
    the export has them, and only appended here.
    """

    def __init__(self) -> None:
        self._file: cell.CsvFile | None = None
        self._context: ExportContext | None = None
        self._renderer: WideRenderer | None = None

    def begin(self, out: Path, context: ExportContext) -> None:
        self._context = context
        self._renderer = WideRenderer(context)
        self._file = cell.CsvFile(out, FILE_NAME, wide_columns(self._renderer.blocks))

    def renderer(self) -> WideRenderer:
        if self._context is None:
            raise RuntimeError("WideCsvWriter.begin must come before renderer")
        return WideRenderer(self._context)

    def add_patient(self, patient: PatientRecord) -> None:
        if self._renderer is None:
            raise RuntimeError("WideCsvWriter.begin must come before add_patient")
        self.add_part(self._renderer.render(patient))

    def add_part(self, part: tuple[str, int]) -> None:
        if self._file is None:
            raise RuntimeError("WideCsvWriter.begin must come before add_part")
        text, rows = part
        self._file.write_text(text, rows)

    def finish(self) -> list[WrittenFile]:
        if self._file is None:
            raise RuntimeError("WideCsvWriter.begin must come before finish")
        self._file.close()
        return [WrittenFile(Path(FILE_NAME), self._file.rows)]


class ReferenceWideCsvWriter:
    """Writes ``wide.csv`` cell by cell through the csv module: the same bytes, slower."""

    def __init__(self) -> None:
        self._file: cell.CsvFile | None = None
        self._context: ExportContext | None = None
        self._blocks: list[FormBlock] = []
        self._keys: set[tuple[str, str]] = set()
        self._items: dict[tuple[str, str], dict[str, Item]] = {}

    def begin(self, out: Path, context: ExportContext) -> None:
        self._context = context
        self._blocks = wide_blocks(context)
        self._keys = {(block.form_id, block.respondent) for block in self._blocks}
        self._file = cell.CsvFile(out, FILE_NAME, wide_columns(self._blocks))

    def add_patient(self, patient: PatientRecord) -> None:
        if self._file is None or self._context is None:
            raise RuntimeError("ReferenceWideCsvWriter.begin must come before add_patient")
        for visit in patient.visits:
            self._file.write(self._row(self._context, patient, visit))

    def finish(self) -> list[WrittenFile]:
        if self._file is None:
            raise RuntimeError("ReferenceWideCsvWriter.begin must come before finish")
        self._file.close()
        return [WrittenFile(Path(FILE_NAME), self._file.rows)]

    def _items_of(self, form: Form) -> Mapping[str, Item]:
        """The answerable items of a form version by link id, looked up once per version."""
        key = (form.id, form.version)
        found = self._items.get(key)
        if found is None:
            found = self._items[key] = {item.link_id: item for item in form.answerable_items}
        return found

    def _row(self, context: ExportContext, patient: PatientRecord, visit: VisitRecord) -> list[str]:
        row = _key_cells(patient, visit)
        chosen = _chosen(visit, self._keys)
        for block in self._blocks:
            response = chosen.get((block.form_id, block.respondent))
            if response is None:
                row.extend([NOT_COLLECTED, "", ""])
                row.extend(NOT_COLLECTED for _ in block.answers)
                continue
            items = self._items_of(cell.form_of(context, response))
            row.extend([COLLECTED, response.form_version, response.response_id])
            row.extend(_answer_cell(column, items, response) for column in block.answers)
        return row
