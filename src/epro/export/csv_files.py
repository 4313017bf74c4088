"""The CSV side of the export: long, wide and scores files and their codebook, in that order."""

from __future__ import annotations

from epro.export.codebook import CodebookWriter
from epro.export.csv_long import LongCsvWriter
from epro.export.csv_scores import ScoresCsvWriter
from epro.export.csv_wide import WideCsvWriter
from epro.export.records import FormatWriter


def csv_writers() -> list[FormatWriter]:
    """A fresh writer for each CSV file and the codebook, ready for one export."""
    return [LongCsvWriter(), WideCsvWriter(), ScoresCsvWriter(), CodebookWriter()]
