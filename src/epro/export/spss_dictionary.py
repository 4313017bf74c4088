"""The SPSS dictionary of the export — each variable's name, label, format, measure, value
labels and missing values — with the two score tables: ``scores.sav`` (one row per patient and
visit) and ``analysis.sav`` (one row per patient); the answers are in
:mod:`epro.export.spss_wide`.

Pure (no pyreadstat): :mod:`epro.export.spss` writes what these modules describe. The rules:

* A missing answer holds its code of :data:`~epro.export.records.MISSING_CODES`; every numeric
  answer variable declares the user-missing range -9 THRU -5 and labels each code.
* A free-text answer holds the same code as text (``"-5"``). SPSS allows no range on a string
  and at most three discrete missing values: :data:`TEXT_MISSING` says which three; a text of
  a form not collected is blank (its ``<prefix>_status`` says so).
* An item nobody was asked (not in the form version answered, or hidden by its
  ``enable_when``) holds the "not asked" code, -5.
* A choice with text codes (``jamar_status``, ``jia_course``) is stored as the numbers 1, 2, …
  in the order its options first appear over the form's versions, oldest first, so a code
  keeps its number when a later version adds an option; its value label carries the wording and
  the text code. Numbers, because only a numeric variable takes the -9 … -5 range, and SPSS's
  procedures on categories want numbers.
* A form's ``<prefix>_status`` is 1 collected / 0 not collected; its version and response id
  are blank strings when it was not collected.
* A null score is system-missing: the reason is a note in the CSV and codebook, not a code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from epro.errors import ExportError
from epro.export.layout import Measure
from epro.export.outcomes import OUTCOMES, comparisons
from epro.export.records import (
    MISSING_CODES,
    MISSING_LABELS,
    ExportContext,
    Missing,
    PatientRecord,
    VisitRecord,
)
from epro.scoring import CATEGORY_LABELS
from epro.scoring.catalogue import SCORES, ScoreSpec, score_columns
from epro.scoring.result import ScoreValue

#: A cell: a number (NaN is system-missing) or a string.
Cell = float | str

SYSMIS: Final = math.nan
#: SPSS dates count seconds from the start of the Gregorian calendar.
SPSS_EPOCH: Final = date(1582, 10, 14)
#: The user-missing range on numeric answers (the codes of MISSING_CODES).
MISSING_RANGE: Final = (
    float(min(MISSING_CODES.values())),
    float(max(MISSING_CODES.values())),
)
#: The missing reasons declared on a free-text answer (SPSS: at most three on a string): the
#: three a submitted form's text can have (free text is never "not applicable"). A text of a
#: form not collected is left blank; the form's ``<prefix>_status`` says it was not collected.
TEXT_MISSING: Final = (Missing.NOT_ASKED, Missing.NOT_REACHED, Missing.SKIPPED)

NO_YES: Final = ((0.0, "no"), (1.0, "yes"))
#: Limits of the .sav format, in bytes of UTF-8.
_NAME_LIMIT: Final = 64
LABEL_LIMIT: Final = 255
VALUE_LABEL_LIMIT: Final = 120
_NAME_RULE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_RESERVED: Final = frozenset(
    {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
)


@dataclass(frozen=True, slots=True)
class Variable:
    """One SPSS variable; ``format`` is None for a string (its width comes from the data)."""

    name: str
    label: str
    measure: Measure
    format: str | None
    value_labels: tuple[tuple[float | str, str], ...] = ()
    #: Numeric: the user-missing range (low, high).
    missing_range: tuple[float, float] | None = None
    #: String: the discrete user-missing values (at most three).
    missing_values: tuple[str, ...] = ()

    @property
    def is_string(self) -> bool:
        return self.format is None


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` bytes of UTF-8 without splitting a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[: limit - 3].decode("utf-8", "ignore") + "..."


def spss_date(day: date) -> float:
    return float((day - SPSS_EPOCH).days * 86400)


def missing_labels_numeric() -> tuple[tuple[float | str, str], ...]:
    reasons = sorted(MISSING_CODES, key=lambda m: MISSING_CODES[m])
    return tuple((float(MISSING_CODES[m]), MISSING_LABELS[m]) for m in reasons)


def missing_labels_text() -> tuple[tuple[float | str, str], ...]:
    return tuple((str(MISSING_CODES[m]), MISSING_LABELS[m]) for m in TEXT_MISSING)


def string_variable(name: str, label: str) -> Variable:
    return Variable(name, label, Measure.NOMINAL, None)


def record_variables() -> list[Variable]:
    """The columns that open every per-visit table."""
    return [
        string_variable("site", "Site"),
        string_variable("patient", "Patient study code"),
        string_variable("visit", "Visit code"),
        Variable(
            "visit_date",
            "Visit date (earliest submission of the visit)",
            Measure.SCALE,
            "SDATE10",
        ),
        Variable("age_years", "Age in years at the visit", Measure.SCALE, "F6.2"),
    ]


def record_cells(patient: PatientRecord, visit: VisitRecord) -> list[Cell]:
    age = SYSMIS if visit.age_years is None else float(visit.age_years)
    return [patient.site, patient.code, visit.visit, spss_date(visit.visit_date), age]


# --- scores --------------------------------------------------------------------------------


def _score_format(
    spec: ScoreSpec,
) -> tuple[str | None, Measure, tuple[tuple[float | str, str], ...]]:
    if spec.kind == "decimal":
        return "F8.2", Measure.SCALE, ()
    if spec.kind == "integer":
        return "F8.0", Measure.SCALE, ()
    if spec.kind == "flag":
        return "F1.0", Measure.NOMINAL, NO_YES
    if spec.kind == "category":
        labels = tuple((float(n), text) for n, text in enumerate(CATEGORY_LABELS))
        return "F1.0", Measure.ORDINAL, labels
    return None, Measure.NOMINAL, ()


def _score_variable(name: str, label: str, spec: ScoreSpec) -> Variable:
    fmt, measure, labels = _score_format(spec)
    return Variable(name, clip(label, LABEL_LIMIT), measure, fmt, labels)


def score_cell(variable: Variable, value: ScoreValue | str) -> Cell:
    """A score as a cell: null is system-missing (blank text), a yes/no is 1/0."""
    if variable.is_string:
        if value is None:
            return ""
        return str(value)
    if value is None:
        return SYSMIS
    if isinstance(value, str):
        raise ExportError(
            f"score {variable.name} holds text but the score catalogue says it is a number; "
            "give it kind 'text' in epro.scoring.catalogue"
        )
    return float(value)


def _score_label(name: str, spec: ScoreSpec) -> str:
    """The catalogue's label; a per-respondent copy names its respondent."""
    if name == spec.name:
        return spec.label
    return f"{spec.label} ({name.removeprefix(spec.name + '_')})"


class ScoresTable:
    """``scores.sav``: one row per patient and visit, every score of the catalogue."""

    file_name: Final = "scores.sav"
    label: Final = "Scores, one row per patient and visit"

    def __init__(self, context: ExportContext) -> None:
        scores = [
            _score_variable(name, _score_label(name, spec), spec) for name, spec in score_columns()
        ]
        self.variables: tuple[Variable, ...] = (*record_variables(), *scores)
        self._score_vars = tuple(scores)

    def rows(self, patient: PatientRecord) -> Iterator[list[Cell]]:
        for visit in patient.visits:
            row = record_cells(patient, visit)
            row.extend(
                score_cell(variable, visit.scores.get(variable.name))
                for variable in self._score_vars
            )
            yield row


# --- the analysis file ---------------------------------------------------------------------


def analysis_name(score: str, visit: str) -> str:
    """``vas_wellbeing_V1``: an outcome at one visit."""
    return f"{score}_{visit}"


def analysis_visits(context: ExportContext) -> list[str]:
    """Baseline, then each compared visit once, in the order of the comparisons."""
    visits = [context.baseline_visit]
    for comparison in comparisons(context.visit_weeks, context.baseline_visit):
        if comparison.visit not in visits:
            visits.append(comparison.visit)
    return visits


class AnalysisTable:
    """``analysis.sav``: one row per patient, each outcome at baseline, week 8 and the end."""

    file_name: Final = "analysis.sav"
    label: Final = "Outcomes at the compared visits, one row per patient"

    def __init__(self, context: ExportContext) -> None:
        specs = {spec.name: spec for spec in SCORES}
        self._visits = analysis_visits(context)
        variables = [
            string_variable("site", "Site"),
            string_variable("patient", "Patient study code"),
        ]
        self._cells: list[tuple[str, str]] = []
        for outcome in OUTCOMES:
            spec = specs.get(outcome.score)
            if spec is None or spec.kind not in ("decimal", "integer"):
                raise ExportError(
                    f"the outcome {outcome.score} is not a numeric score of the catalogue; "
                    "add it to epro.scoring.catalogue or drop it from epro.export.outcomes"
                )
            for visit in self._visits:
                week = context.visit_weeks[visit]
                role = ", baseline" if visit == context.baseline_visit else ""
                label = f"{outcome.label} at {visit} (week {week}{role})"
                variable = _score_variable(analysis_name(outcome.score, visit), label, spec)
                variables.append(
                    Variable(variable.name, variable.label, Measure.SCALE, variable.format)
                )
                self._cells.append((outcome.score, visit))
        self.variables: tuple[Variable, ...] = tuple(variables)

    def rows(self, patient: PatientRecord) -> Iterator[list[Cell]]:
        by_visit = {visit.visit: visit for visit in patient.visits}
        row: list[Cell] = [patient.site, patient.code]
        for (score, visit), variable in zip(self._cells, self.variables[2:], strict=True):
            record = by_visit.get(visit)
            row.append(SYSMIS if record is None else score_cell(variable, record.scores.get(score)))
        yield row


# --- checks --------------------------------------------------------------------------------


def check_names(table_file: str, variables: Sequence[Variable]) -> None:
    """Every name a valid, distinct SPSS variable name (SPSS ignores case in names)."""
    seen: dict[str, str] = {}
    for variable in variables:
        name = variable.name
        if (
            not _NAME_RULE.match(name)
            or len(name.encode("utf-8")) > _NAME_LIMIT
            or name.upper() in _RESERVED
        ):
            raise ExportError(
                f"{table_file}: {name!r} is not a valid SPSS variable name (a letter, then "
                f"letters, digits or '_', at most {_NAME_LIMIT} bytes, not a reserved word); "
                "rename the item or score"
            )
        other = seen.get(name.upper())
        if other is not None:
            raise ExportError(
                f"{table_file}: the variable name {name!r} is used twice (SPSS ignores case, "
                f"so {other!r} counts); rename one of the items or scores"
            )
        seen[name.upper()] = name
