"""The codebook: every column of ``long.csv``, ``wide.csv``, ``scores.csv`` and ``score_notes.csv``.

Each variable gets its name, label, file, form, respondent, versions, type, measure level, codes
with labels, the missing words it may hold with their numeric codes (:data:`MISSING_CODES`, the
ones the SPSS files use), what an empty cell means, and for a score the section of
instruments.md that defines it and the rule in words. The variables are described from the
same column lists the CSV writers use, so the codebook cannot list a column a file lacks or miss
one it has. :class:`CodebookWriter` writes them as ``codebook.csv`` and ``codebook.html``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from epro.export import csv_cells as cell
from epro.export import csv_long, csv_scores, csv_wide
from epro.export.codebook_html import codebook_html
from epro.export.csv_wide import FormBlock
from epro.export.layout import AnswerColumn, Kind, Measure, form_versions
from epro.export.records import (
    MISSING_CODES,
    MISSING_LABELS,
    ExportContext,
    Missing,
    PatientRecord,
    ResponseStatus,
    WrittenFile,
)
from epro.forms.model import Item
from epro.scoring.catalogue import ScoreSpec, score_columns
from epro.scoring.composites import CATEGORY_LABELS

CSV_FILE: Final = "codebook.csv"
HTML_FILE: Final = "codebook.html"
#: A type beyond the layout's :class:`Kind`: a date and time in UTC.
DATETIME: Final = "datetime"

CODEBOOK_COLUMNS: Final = (
    "file",
    "variable",
    "label",
    "form",
    "respondent",
    "versions",
    "type",
    "measure",
    "codes",
    "missing",
    "empty_cell",
    "rule",
    "definition",
)

Codes = tuple[tuple[int | str, str], ...]
_FLAG: Final[Codes] = ((0, "no"), (1, "yes"))


@dataclass(frozen=True, slots=True)
class Variable:
    """One column of one exported file."""

    file: str
    name: str
    label: str
    type: str
    measure: Measure
    form: str = ""
    respondent: str = ""
    versions: tuple[str, ...] = ()
    codes: Codes = ()
    #: The missing words a cell may hold instead of a value.
    missing: tuple[Missing, ...] = ()
    #: What an empty cell means, when it can be empty.
    empty: str = ""
    #: For a score: the section of instruments.md that defines it, and the rule in words.
    rule: str = ""
    definition: str = ""

    def row(self) -> list[str]:
        return [
            self.file,
            self.name,
            self.label,
            self.form,
            self.respondent,
            ", ".join(self.versions),
            self.type,
            str(self.measure),
            codes_text(self.codes),
            missing_text(self.missing),
            self.empty,
            self.rule,
            self.definition,
        ]


def codes_text(codes: Codes) -> str:
    return "; ".join(f"{code}={label}" for code, label in codes)


def missing_text(missing: Sequence[Missing]) -> str:
    return "; ".join(f"{word}={MISSING_CODES[word]}" for word in missing)


def _visit_codes(context: ExportContext) -> Codes:
    def label(visit: str, week: int) -> str:
        baseline = " (baseline)" if visit == context.baseline_visit else ""
        return f"week {week}{baseline}"

    return tuple((visit, label(visit, week)) for visit, week in context.visit_weeks.items())


def _form_codes(context: ExportContext) -> Codes:
    return tuple(
        (form_id, versions[-1].title.get("en", form_id))
        for form_id, versions in form_versions(context.forms).items()
    )


def _all_versions(context: ExportContext) -> tuple[str, ...]:
    return tuple(
        f"{form.id} {form.version}"
        for versions in form_versions(context.forms).values()
        for form in versions
    )


def _sorted_unique(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


def long_variables(context: ExportContext) -> list[Variable]:
    file = csv_long.FILE_NAME
    forms = list(context.forms.values())
    respondents = _sorted_unique([str(r) for f in forms for r in f.respondents])
    languages = _sorted_unique([lang for f in forms for lang in f.languages])
    answers_missing = (
        Missing.NOT_APPLICABLE,
        Missing.SKIPPED,
        Missing.NOT_REACHED,
        Missing.NOT_ASKED,
    )
    nominal, text = Measure.NOMINAL, str(Kind.TEXT)
    keys = _keys(file, context)
    described = {
        **keys,
        "visit_date": Variable(
            file,
            "visit_date",
            keys["visit_date"].label,
            str(Kind.DATE),
            Measure.SCALE,
            empty="the visit has no valid response (all entered in error)",
        ),
        "form_id": Variable(
            file, "form_id", "Form", str(Kind.CODE), nominal, codes=_form_codes(context)
        ),
        "form_version": Variable(
            file,
            "form_version",
            "Version of the form the response was given on",
            text,
            nominal,
            versions=_all_versions(context),
        ),
        "respondent": Variable(
            file,
            "respondent",
            "Who answered",
            str(Kind.CODE),
            nominal,
            codes=tuple((r, r) for r in respondents),
        ),
        "language": Variable(
            file,
            "language",
            "Language the form was shown in",
            str(Kind.CODE),
            nominal,
            codes=tuple((lang, lang) for lang in languages),
        ),
        "response_id": Variable(
            file, "response_id", "Response id (one per submission)", text, nominal
        ),
        "submitted_at": Variable(
            file, "submitted_at", "Submitted on the kiosk (UTC)", DATETIME, Measure.SCALE
        ),
        "received_at": Variable(
            file, "received_at", "Received by the study server (UTC)", DATETIME, Measure.SCALE
        ),
        "out_of_window": Variable(
            file,
            "out_of_window",
            "Submitted outside the visit window",
            str(Kind.FLAG),
            nominal,
            codes=_FLAG,
        ),
        "status": Variable(
            file,
            "status",
            "Standing of the response: valid, or entered in error (kept here, left out of "
            "wide.csv and the scores)",
            str(Kind.CODE),
            nominal,
            codes=(
                (str(ResponseStatus.VALID), "valid"),
                (str(ResponseStatus.ENTERED_IN_ERROR), "entered in error"),
                (
                    str(ResponseStatus.SUPERSEDED),
                    "superseded: a later response of the same form and respondent at this "
                    "visit is the one scored",
                ),
            ),
        ),
        "status_reason": Variable(
            file,
            "status_reason",
            "The data manager's reason for the status",
            text,
            nominal,
            empty="no reason (a valid response)",
        ),
        "link_id": Variable(
            file, "link_id", "Item variable name (instruments.md §2)", text, nominal
        ),
        "value": Variable(
            file,
            "value",
            "The answer: option code, number, 1/0 for yes/no, a checklist's ticked codes in "
            "option order joined by ';', a date or a text",
            text,
            nominal,
            empty="no answer (column missing says why), or a checklist with nothing ticked",
        ),
        "value_label": Variable(
            file,
            "value_label",
            "English label of a coded answer; a checklist's labels joined by '; '",
            text,
            nominal,
            empty="the answer is not coded, or there is no answer",
        ),
        "missing": Variable(
            file,
            "missing",
            "Why the item has no answer",
            str(Kind.CODE),
            nominal,
            codes=tuple((str(word), MISSING_LABELS[word]) for word in answers_missing),
            empty="answered",
        ),
    }
    return [described[name] for name in csv_long.long_columns(context.deidentified)]


def _every_version_of(block: FormBlock, link_id: str) -> list[Item]:
    """The item as each version that has it defines it."""
    return [form.item(link_id) for form in block.versions if link_id in form.link_ids]


def _always_asked(block: FormBlock, column: AnswerColumn, every: list[Item]) -> bool:
    """Whether every version asks this column's item (and offers its option) unconditionally,
    so that "not asked" can never stand in it."""
    if len(every) != len(block.versions):
        return False
    if any(item.enable_when is not None and item.enable_when.conditions for item in every):
        return False
    option = column.option
    return option is None or all(str(option) in {str(c) for c in item.codes} for item in every)


def _answer_variable(block: FormBlock, column: AnswerColumn) -> Variable:
    # A missing word is listed when any version allows it: older rows may hold it.
    every = _every_version_of(block, column.link_id)
    missing: list[Missing] = []
    if any(item.na_option for item in every):
        missing.append(Missing.NOT_APPLICABLE)
    if any(item.allow_skip for item in every):
        missing.append(Missing.SKIPPED)
    missing.append(Missing.NOT_REACHED)
    if not _always_asked(block, column, every):
        missing.append(Missing.NOT_ASKED)
    missing.append(Missing.NOT_COLLECTED)
    return Variable(
        csv_wide.FILE_NAME,
        column.name,
        column.label,
        str(column.kind),
        column.measure,
        form=block.form_id,
        respondent=column.respondent,
        versions=column.versions,
        codes=column.codes,
        missing=tuple(missing),
    )


def _block_variables(block: FormBlock) -> Iterator[Variable]:
    title = block.versions[-1].title.get("en", block.form_id)
    who = "" if block.prefix == block.form_id else f", {block.respondent}"
    versions = tuple(form.version for form in block.versions)

    def about(name: str, label: str, kind: Kind, codes: Codes = (), empty: str = "") -> Variable:
        return Variable(
            csv_wide.FILE_NAME,
            name,
            f"{title}{who}: {label}",
            str(kind),
            Measure.NOMINAL,
            form=block.form_id,
            respondent=block.respondent,
            versions=versions,
            codes=codes,
            empty=empty,
        )

    yield about(
        block.status_column,
        "submitted at this visit",
        Kind.CODE,
        codes=((csv_wide.COLLECTED, "collected"), (csv_wide.NOT_COLLECTED, "not collected")),
    )
    yield about(
        block.version_column,
        "version of the form the response was given on",
        Kind.TEXT,
        empty="not collected",
    )
    yield about(
        block.response_column,
        "response id; when the form was validly submitted more than once at the visit, the "
        "last submitted, which the scores are computed from (long.csv has every one)",
        Kind.TEXT,
        empty="not collected",
    )
    for column in block.answers:
        yield _answer_variable(block, column)


def _keys(file: str, context: ExportContext) -> dict[str, Variable]:
    """The columns that say whose visit a row is about, shared by every file."""
    return {
        "site": Variable(file, "site", "Site code", str(Kind.TEXT), Measure.NOMINAL),
        "patient": Variable(file, "patient", "Patient study code", str(Kind.TEXT), Measure.NOMINAL),
        "visit": Variable(
            file,
            "visit",
            "Visit code, in protocol order",
            str(Kind.CODE),
            Measure.ORDINAL,
            codes=_visit_codes(context),
        ),
        "visit_date": Variable(
            file,
            "visit_date",
            "Visit date: the earliest submission among the visit's valid responses",
            str(Kind.DATE),
            Measure.SCALE,
        ),
    }


def wide_variables(context: ExportContext) -> list[Variable]:
    keys = _keys(csv_wide.FILE_NAME, context)
    keys["age_years"] = Variable(
        csv_wide.FILE_NAME,
        "age_years",
        "Age in years at the visit date (birth month known, day 15 assumed)",
        str(Kind.DECIMAL),
        Measure.SCALE,
        empty="age unknown",
    )
    found = [keys[name] for name in csv_wide.KEY_COLUMNS]
    for block in csv_wide.wide_blocks(context):
        found.extend(_block_variables(block))
    return found


_SCORE_MEASURES: Final = {
    "decimal": Measure.SCALE,
    "integer": Measure.SCALE,
    "flag": Measure.NOMINAL,
    "category": Measure.ORDINAL,
    "text": Measure.NOMINAL,
}
_SCORE_CODES: Final[dict[str, Codes]] = {
    "flag": _FLAG,
    "category": tuple(enumerate(CATEGORY_LABELS)),
}


def _score_variable(name: str, spec: ScoreSpec) -> Variable:
    respondent = name.removeprefix(f"{spec.name}_") if name != spec.name else ""
    copy = f", from the {respondent}'s answers only" if respondent else ""
    return Variable(
        csv_scores.SCORES_FILE,
        name,
        spec.label + copy,
        spec.kind,
        _SCORE_MEASURES[spec.kind],
        form=spec.per_respondent_of or "",
        respondent=respondent,
        codes=_SCORE_CODES.get(spec.kind, ()),
        empty=f"null: {csv_scores.NOTES_FILE} says why",
        rule=f"instruments.md {spec.rule}",
        definition=spec.definition,
    )


def score_variables(context: ExportContext) -> list[Variable]:
    keys = _keys(csv_scores.SCORES_FILE, context)
    found = [keys[name] for name in csv_scores.KEY_COLUMNS]
    found.extend(_score_variable(name, spec) for name, spec in score_columns())
    return found


def note_variables(context: ExportContext) -> list[Variable]:
    keys = _keys(csv_scores.NOTES_FILE, context)
    described = {
        "patient": keys["patient"],
        "visit": keys["visit"],
        "score": Variable(
            csv_scores.NOTES_FILE,
            "score",
            f"Name of a score column of {csv_scores.SCORES_FILE} that is empty at this visit",
            str(Kind.TEXT),
            Measure.NOMINAL,
        ),
        "note": Variable(
            csv_scores.NOTES_FILE,
            "note",
            "Why the score is null (the missing inputs, by name)",
            str(Kind.TEXT),
            Measure.NOMINAL,
        ),
    }
    return [described[name] for name in csv_scores.NOTES_COLUMNS]


def variables(context: ExportContext) -> list[Variable]:
    """Every column of every CSV file, file by file, each file's columns in file order."""
    return [
        *long_variables(context),
        *wide_variables(context),
        *score_variables(context),
        *note_variables(context),
    ]


class _NothingPerPatient:
    """The codebook's share of a patient: nothing (a PatientRenderer)."""

    def render(self, patient: PatientRecord) -> None:
        return None


class CodebookWriter:
    """Writes ``codebook.csv`` and ``codebook.html``; needs the forms only, not the patients."""

    def __init__(self) -> None:
        self._out: Path | None = None
        self._context: ExportContext | None = None

    def begin(self, out: Path, context: ExportContext) -> None:
        self._out = out
        self._context = context

    def add_patient(self, patient: PatientRecord) -> None:
        """Nothing to note: the codebook describes the columns, not the rows."""

    def renderer(self) -> _NothingPerPatient:
        return _NothingPerPatient()

    def add_part(self, part: None) -> None:
        """Nothing to note (see :meth:`add_patient`)."""

    def finish(self) -> list[WrittenFile]:
        if self._out is None or self._context is None:
            raise RuntimeError("CodebookWriter.begin must come before finish")
        found = variables(self._context)
        table = cell.CsvFile(self._out, CSV_FILE, CODEBOOK_COLUMNS)
        try:
            for variable in found:
                table.write(variable.row())
        finally:
            table.close()
        page = codebook_html(self._context, found)
        (self._out / HTML_FILE).write_bytes(page.encode("utf-8"))
        return [WrittenFile(Path(CSV_FILE), table.rows), WrittenFile(Path(HTML_FILE))]
