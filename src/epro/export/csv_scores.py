"""``scores.csv`` and ``score_notes.csv``: each score per patient and visit; why a null is null.

The score columns are those of :func:`epro.scoring.catalogue.score_columns`, the same in every
file and every export whatever a visit happened to have. A null score is an empty cell, and
``score_notes.csv`` has one row per empty cell saying why (the scoring's note, which names the
missing inputs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from epro.export import csv_cells as cell
from epro.export.records import ExportContext, PatientRecord, WrittenFile
from epro.scoring.catalogue import score_columns

SCORES_FILE: Final = "scores.csv"
NOTES_FILE: Final = "score_notes.csv"
KEY_COLUMNS: Final = ("site", "patient", "visit", "visit_date")
NOTES_COLUMNS: Final = ("patient", "visit", "score", "note")
#: The note of a score the scoring did not return at all (e.g. a respondent who did not answer).
NOT_COMPUTED: Final = "not computed at this visit"


def score_names() -> list[str]:
    return [name for name, _ in score_columns()]


def score_cell(value: object) -> str:
    """A score as one cell: numbers as everywhere else, yes/no as 1/0, null as empty."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return cell.number(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"a score cannot be a {type(value).__name__}")


class ScoresCsvWriter:
    """Writes ``scores.csv`` and ``score_notes.csv`` a visit at a time."""

    def __init__(self) -> None:
        self._scores: cell.CsvFile | None = None
        self._notes: cell.CsvFile | None = None
        self._names: list[str] = []

    def begin(self, out: Path, context: ExportContext) -> None:
        self._names = score_names()
        self._scores = cell.CsvFile(out, SCORES_FILE, [*KEY_COLUMNS, *self._names])
        self._notes = cell.CsvFile(out, NOTES_FILE, NOTES_COLUMNS)

    def add_patient(self, patient: PatientRecord) -> None:
        if self._scores is None or self._notes is None:
            raise RuntimeError("ScoresCsvWriter.begin must come before add_patient")
        for visit in patient.visits:
            cells = [score_cell(visit.scores.get(name)) for name in self._names]
            self._scores.write(
                [patient.site, patient.code, visit.visit, cell.day(visit.visit_date), *cells]
            )
            for name, text in zip(self._names, cells, strict=True):
                if text == "":
                    note = visit.notes.get(name) or NOT_COMPUTED
                    self._notes.write([patient.code, visit.visit, name, note])

    def finish(self) -> list[WrittenFile]:
        if self._scores is None or self._notes is None:
            raise RuntimeError("ScoresCsvWriter.begin must come before finish")
        self._scores.close()
        self._notes.close()
        return [
            WrittenFile(Path(SCORES_FILE), self._scores.rows),
            WrittenFile(Path(NOTES_FILE), self._notes.rows),
        ]
