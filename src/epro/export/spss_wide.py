"""``wide.sav``: the answers, one row per patient and visit, in the columns of the wide CSV.

Each form and respondent gives ``<prefix>_status`` (1 collected, 0 not collected),
``<prefix>_version`` and ``<prefix>_response_id`` (blank when not collected), then its answer
columns (:func:`epro.export.layout.answer_columns` over every known version). How a missing
answer, a text-coded choice or free text is stored is set out in
:mod:`epro.export.spss_dictionary`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from epro.errors import ExportError
from epro.export.layout import (
    AnswerColumn,
    Kind,
    Measure,
    answer_columns,
    form_prefix,
    form_versions,
    respondents_of,
)
from epro.export.records import (
    MISSING_CODES,
    ExportContext,
    ExportResponse,
    Missing,
    PatientRecord,
    ResponseStatus,
    VisitRecord,
    absent_reason,
)
from epro.export.spss_dictionary import (
    LABEL_LIMIT,
    MISSING_RANGE,
    NO_YES,
    TEXT_MISSING,
    VALUE_LABEL_LIMIT,
    Cell,
    Variable,
    clip,
    missing_labels_numeric,
    missing_labels_text,
    record_cells,
    record_variables,
    spss_date,
    string_variable,
)
from epro.forms.model import NA, SKIPPED, AnswerValue, Form, FormKind, Item

_STATUS_LABELS: Final = ((0.0, "not collected"), (1.0, "collected"))

#: Turns a present answer (neither "na" nor "skipped") into a cell.
_Convert = Callable[[AnswerValue], Cell]


@dataclass(frozen=True, slots=True)
class _Block:
    """One form and respondent of the wide table: its status, version, id and answers."""

    form_id: str
    respondent: str
    staff: bool
    columns: tuple[AnswerColumn, ...]
    variables: tuple[Variable, ...]
    converters: tuple[_Convert, ...]


def _union_options(versions: Sequence[Form], link_id: str) -> dict[int | str, str]:
    """Every option of an item over the versions, first appearance first, newest wording."""
    options: dict[int | str, str] = {}
    for form in versions:
        if link_id not in form.link_ids:
            continue
        for option in form.item(link_id).options:
            options[option.code] = option.text.get("en", str(option.code))
    return options


def _answer_variable(
    column: AnswerColumn, versions: Sequence[Form], staff: bool
) -> tuple[Variable, _Convert]:
    label = column.label if staff else f"{column.label} ({column.respondent})"
    label = clip(label, LABEL_LIMIT)
    missing = missing_labels_numeric()
    if column.kind is Kind.TEXT:
        variable = Variable(
            column.name,
            label,
            column.measure,
            None,
            missing_labels_text(),
            missing_values=tuple(str(MISSING_CODES[m]) for m in TEXT_MISSING),
        )
        return variable, _text_cell(column.name)
    codes: tuple[tuple[float | str, str], ...] = ()
    convert: _Convert
    if column.kind is Kind.CODE:
        options = _union_options(versions, column.link_id)
        if all(isinstance(code, int) for code in options):
            codes = tuple((float(code), text) for code, text in options.items())
            convert = _int_code_cell(column.name)
        else:
            numbers = {code: float(n) for n, code in enumerate(options, start=1)}
            codes = tuple((numbers[code], f"{text} ({code})") for code, text in options.items())
            convert = _text_code_cell(column.name, numbers)
        fmt = "F3.0"
    elif column.kind is Kind.FLAG:
        codes = NO_YES
        fmt = "F2.0"
        convert = (
            _boolean_cell(column.name)
            if column.option is None
            else _option_cell(column.name, column.option)
        )
    elif column.kind is Kind.INTEGER:
        fmt, convert = "F8.0", _number_cell(column.name)
    elif column.kind is Kind.DECIMAL:
        fmt, convert = "F8.2", _number_cell(column.name)
    else:
        fmt, convert = "SDATE10", _date_cell(column.name)
    value_labels = tuple((code, clip(text, VALUE_LABEL_LIMIT)) for code, text in codes)
    variable = Variable(
        column.name,
        label,
        column.measure,
        fmt,
        value_labels + missing,
        missing_range=MISSING_RANGE,
    )
    return variable, convert


def _wrong(name: str) -> ExportError:
    # The value itself is patient data: name the variable, never the answer.
    return ExportError(
        f"the answer to {name} does not fit its item; check that the form version of its "
        "response is the one it was validated against"
    )


def _text_cell(name: str) -> _Convert:
    def convert(value: AnswerValue) -> Cell:
        if not isinstance(value, str):
            raise _wrong(name)
        return value

    return convert


def _int_code_cell(name: str) -> _Convert:
    def convert(value: AnswerValue) -> Cell:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(name)
        return float(value)

    return convert


def _text_code_cell(name: str, numbers: Mapping[int | str, float]) -> _Convert:
    def convert(value: AnswerValue) -> Cell:
        if isinstance(value, bool) or not isinstance(value, int | str) or value not in numbers:
            raise _wrong(name)
        return numbers[value]

    return convert


def _boolean_cell(name: str) -> _Convert:
    def convert(value: AnswerValue) -> Cell:
        if not isinstance(value, bool):
            raise _wrong(name)
        return 1.0 if value else 0.0

    return convert


def _option_cell(name: str, option: int | str) -> _Convert:
    def convert(value: AnswerValue) -> Cell:
        if not isinstance(value, list):
            raise _wrong(name)
        return 1.0 if option in value else 0.0

    return convert


def _number_cell(name: str) -> _Convert:
    def convert(value: AnswerValue) -> Cell:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong(name)
        return float(value)

    return convert


def _date_cell(name: str) -> _Convert:
    def convert(value: AnswerValue) -> Cell:
        try:
            return spss_date(date.fromisoformat(str(value)))
        except ValueError:
            raise _wrong(name) from None

    return convert


def _missing(variable: Variable, reason: Missing) -> Cell:
    code = MISSING_CODES[reason]
    if variable.is_string:
        return str(code) if reason in TEXT_MISSING else ""
    return float(code)


class WideTable:
    """``wide.sav``: one row per patient and visit, the columns of the wide CSV."""

    file_name: Final = "wide.sav"
    label: Final = "Answers, one row per patient and visit"

    def __init__(self, context: ExportContext) -> None:
        self._forms = context.forms
        blocks: list[_Block] = []
        for form_id, versions in form_versions(context.forms).items():
            latest = versions[-1]
            staff = latest.kind is FormKind.STAFF
            for respondent in respondents_of(versions):
                columns = answer_columns(
                    versions, respondent, include_text=not context.deidentified
                )
                pairs = [_answer_variable(c, versions, staff) for c in columns]
                prefix = form_prefix(latest, respondent)
                title = latest.title.get("en", form_id)
                who = title if staff else f"{title} ({respondent})"
                head = [
                    Variable(
                        f"{prefix}_status",
                        f"{who}: collected at this visit",
                        Measure.NOMINAL,
                        "F1.0",
                        _STATUS_LABELS,
                    ),
                    string_variable(f"{prefix}_version", f"{who}: form version"),
                    string_variable(f"{prefix}_response_id", f"{who}: response id"),
                ]
                blocks.append(
                    _Block(
                        form_id,
                        respondent,
                        staff,
                        tuple(columns),
                        (*head, *(v for v, _ in pairs)),
                        tuple(c for _, c in pairs),
                    )
                )
        self._blocks = tuple(blocks)
        self.variables: tuple[Variable, ...] = (
            *record_variables(),
            *(v for block in blocks for v in block.variables),
        )
        # Per block and form version: the item behind each column (None: not in that version).
        self._plans: dict[tuple[int, str], tuple[Item | None, ...]] = {}

    def rows(self, patient: PatientRecord) -> Iterator[list[Cell]]:
        for visit in patient.visits:
            row = record_cells(patient, visit)
            for index, block in enumerate(self._blocks):
                response = _response_of(block, visit)
                row.extend(self._block_cells(index, block, response))
            yield row

    def _block_cells(
        self, index: int, block: _Block, response: ExportResponse | None
    ) -> list[Cell]:
        answers_vars = block.variables[3:]
        if response is None:
            absent: list[Cell] = [0.0, "", ""]
            return absent + [_missing(v, Missing.NOT_COLLECTED) for v in answers_vars]
        cells: list[Cell] = [1.0, response.form_version, response.response_id]
        answers = response.answers
        for item, variable, convert in zip(
            self._plan(index, block, response), answers_vars, block.converters, strict=True
        ):
            if item is None:
                cells.append(_missing(variable, Missing.NOT_ASKED))
                continue
            value = answers.get(item.link_id)
            if value is None:
                cells.append(_missing(variable, absent_reason(item, answers)))
            elif value == SKIPPED and isinstance(value, str):
                cells.append(_missing(variable, Missing.SKIPPED))
            elif value == NA and isinstance(value, str) and item.na_option:
                cells.append(_missing(variable, Missing.NOT_APPLICABLE))
            else:
                cells.append(convert(value))
        return cells

    def _plan(self, index: int, block: _Block, response: ExportResponse) -> tuple[Item | None, ...]:
        key = (index, response.form_version)
        plan = self._plans.get(key)
        if plan is None:
            form = self._forms.get((response.form_id, response.form_version))
            if form is None:
                raise ExportError(
                    f"response {response.response_id} was made on form {response.form_id} "
                    f"version {response.form_version}, which the export does not know; add "
                    "that version's file to forms/versions/"
                )
            known = set(form.link_ids)
            plan = tuple(
                form.item(c.link_id) if c.link_id in known else None for c in block.columns
            )
            self._plans[key] = plan
        return plan


def _response_of(block: _Block, visit: VisitRecord) -> ExportResponse | None:
    found = [
        r
        for r in visit.responses
        if r.form_id == block.form_id
        and (block.staff or r.respondent == block.respondent)
        and r.status is ResponseStatus.VALID
    ]
    if len(found) > 1:
        ids = ", ".join(r.response_id for r in found)
        raise ExportError(
            f"visit {visit.visit} holds {len(found)} valid responses of form {block.form_id} "
            f"({block.respondent}): {ids}; mark all but one as entered in error"
        )
    return found[0] if found else None
