"""``scores.csv`` and ``score_notes.csv``: each score per patient and visit; why a null is null.

The score columns are those of :func:`epro.scoring.catalogue.score_columns`, the same in every
file and every export whatever a visit happened to have. A null score is an empty cell, and
``score_notes.csv`` has one row per empty cell saying why (the scoring's note, which names the
missing inputs).
"""

from __future__ import annotations

import csv
import io
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


class ScoresRenderer:
    """A patient's rows of both files as CSV text, in any process (a PatientRenderer).

    Rows go through the csv module as :class:`~epro.export.csv_cells.CsvFile` writes them,
    into a buffer instead of the file.
    """

    def __init__(self, context: ExportContext) -> None:
        self._names = score_names()
        self._width = len(KEY_COLUMNS) + len(self._names)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")

    def __getstate__(self) -> dict[str, object]:
        # The buffer and its writer are made again where the renderer is unpickled.
        return {"names": self._names}

    def __setstate__(self, state: dict[str, object]) -> None:
        names = state["names"]
        assert isinstance(names, list)
        self._names = names
        self._width = len(KEY_COLUMNS) + len(names)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")

    def _text(self) -> str:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text

    def render(self, patient: PatientRecord) -> tuple[str, int, str, int]:
        """The scores rows and their count, then the notes rows and theirs."""
        notes: list[list[str]] = []
        for visit in patient.visits:
            cells = [score_cell(visit.scores.get(name)) for name in self._names]
            row = [patient.site, patient.code, visit.visit, cell.day(visit.visit_date), *cells]
            if len(row) != self._width:
                raise ValueError(f"{SCORES_FILE}: a row of {len(row)} cells")
            self._writer.writerow(row)
            for name, text in zip(self._names, cells, strict=True):
                if text == "":
                    notes.append(
                        [patient.code, visit.visit, name, visit.notes.get(name) or NOT_COMPUTED]
                    )
        scores = self._text()
        self._writer.writerows(notes)
        return scores, len(patient.visits), self._text(), len(notes)


class ScoresCsvWriter:
    """Writes ``scores.csv`` and ``score_notes.csv`` a visit at a time.

    A PartWriter: the rows are rendered by :class:`ScoresRenderer`, in a worker process when
    the export has them, and only appended here.
    """

    def __init__(self) -> None:
        self._scores: cell.CsvFile | None = None
        self._notes: cell.CsvFile | None = None
        self._context: ExportContext | None = None
        self._renderer: ScoresRenderer | None = None

    def begin(self, out: Path, context: ExportContext) -> None:
        self._context = context
        self._renderer = ScoresRenderer(context)
        self._scores = cell.CsvFile(out, SCORES_FILE, [*KEY_COLUMNS, *score_names()])
        self._notes = cell.CsvFile(out, NOTES_FILE, NOTES_COLUMNS)

    def renderer(self) -> ScoresRenderer:
        if self._context is None:
            raise RuntimeError("ScoresCsvWriter.begin must come before renderer")
        return ScoresRenderer(self._context)

    def add_patient(self, patient: PatientRecord) -> None:
        if self._renderer is None:
            raise RuntimeError("ScoresCsvWriter.begin must come before add_patient")
        self.add_part(self._renderer.render(patient))

    def add_part(self, part: tuple[str, int, str, int]) -> None:
        if self._scores is None or self._notes is None:
            raise RuntimeError("ScoresCsvWriter.begin must come before add_part")
        scores, score_rows, notes, note_rows = part
        self._scores.write_text(scores, score_rows)
        self._notes.write_text(notes, note_rows)

    def finish(self) -> list[WrittenFile]:
        if self._scores is None or self._notes is None:
            raise RuntimeError("ScoresCsvWriter.begin must come before finish")
        self._scores.close()
        self._notes.close()
        return [
            WrittenFile(Path(SCORES_FILE), self._scores.rows),
            WrittenFile(Path(NOTES_FILE), self._notes.rows),
        ]
