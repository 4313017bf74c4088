"""A DataTable of completion glyphs: one row per patient visit, one column per form/respondent.

Compact on purpose: a glyph per cell (with its colour) and two-line column headers (the form's
short name over the respondent in words) keep every column inside 80 columns; the legend under
the table names the glyphs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import DataTable

from epro.kiosk.glyphs import column_label, status_text
from epro.kiosk.i18n import tr

if TYPE_CHECKING:
    from epro.station import CompletionCell

Column = tuple[str, str]


class CompletionTable(DataTable[str | Text]):
    """Rows keyed ``patient|visit``; :meth:`fill` replaces everything but the cursor's row."""

    def fill(
        self,
        language: str,
        columns: Sequence[Column],
        rows: Sequence[tuple[str, str, Mapping[Column, CompletionCell]]],
    ) -> None:
        # The station refills after every dialog and sync; clearing puts the cursor on the top
        # row, and the nurse's next action then went to the first patient. So the cursor goes
        # back to the row it was on (or, if that row is gone, to the same place in the list).
        here = self.selected_row()
        place = self.cursor_row
        self.clear(columns=True)
        self.cell_padding = 0
        self.header_height = 2
        code_width = max([len(patient) for patient, _visit, _cells in rows] + [8]) + 1
        self.add_column(Text(tr(language, "patient_header")), width=code_width, key="patient")
        self.add_column(Text(tr(language, "visit")), width=7, key="visit")
        for form_id, respondent in columns:
            label = column_label(form_id, respondent, language)
            header = Text(label, justify="center")
            width = max(len(line) for line in label.split("\n")) + 1
            self.add_column(header, width=width, key=f"{form_id}|{respondent}")
        for patient, visit, cells in rows:
            glyphs: list[str | Text] = []
            for column in columns:
                cell = cells.get(column)
                glyphs.append(Text("") if cell is None else _centred(status_text(cell.status)))
            self.add_row(patient, visit, *glyphs, key=f"{patient}|{visit}")
        keys = [f"{patient}|{visit}" for patient, visit, _cells in rows]
        if rows:
            row = keys.index(here) if here in keys else min(place, len(rows) - 1)
            self.move_cursor(row=row, animate=False)

    def selected_row(self) -> str | None:
        """The cursor row's key, ``patient|visit`` (None when the table is empty)."""
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return None if key is None else str(key)

    def selected_patient(self) -> str | None:
        key = self.selected_row()
        return None if key is None else key.split("|", 1)[0]


def _centred(text: Text) -> Text:
    text.justify = "center"
    return text
