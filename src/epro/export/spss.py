"""The SPSS adapter: ``spss/wide.sav``, ``spss/scores.sav``, ``spss/analysis.sav`` and the
syntax ``spss/analysis.sps`` that reruns the trial's efficacy analysis on ``analysis.sav``.

The only module that imports pyreadstat and pandas. What each variable is — name, label,
format, measure, value labels, missing values — is decided in
:mod:`epro.export.spss_dictionary` and :mod:`epro.export.spss_wide`; the syntax in
:mod:`epro.export.spss_syntax`.

pyreadstat writes a whole DataFrame, so rows are kept until :meth:`SpssWriter.finish`,
column by column, strings in lists and numbers packed: most cells are small whole numbers
(choice codes, 0/1 flags, 0-100 scales, the missing codes -9 … -5), so a numeric column is
held in one byte a cell while every value fits a signed byte exactly, then in two, then in a
4-byte float (quarters, NaN, -0.0, large whole numbers), and in 8-byte floats only from the
first value that fits no narrower type bit for bit (a tenth). Rows come in as floats and are
packed every :data:`_PACK_ROWS` rows, so what is held grows by a byte or so a cell, not eight.
The DataFrame is built once, on top of those buffers (a string column's list is let go as its
Series is made), and dropped as soon as its file is written. pyreadstat writes an ``int8`` or
``int16`` column as the same SPSS numeric variable as its floats, and a ``float32`` one
through the same doubles, so the file is byte for byte what plain floats give.

The same records give the same bytes. readstat stamps the wall clock into the file header
(creation date and time) and pyreadstat has no parameter to set it, so after writing, those two
header fields are overwritten with :attr:`ExportContext.created_at` (in UTC), the time the
bundle was made.
"""

from __future__ import annotations

import contextlib
import os
from array import array
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from epro.errors import ExportError
from epro.export.records import ExportContext, PatientRecord, WrittenFile
from epro.export.spss_dictionary import (
    AnalysisTable,
    Cell,
    ScoresTable,
    Variable,
    check_names,
    clip,
)
from epro.export.spss_syntax import analysis_syntax
from epro.export.spss_wide import WideTable

#: The folder, under the export's output folder, that holds the SPSS files.
FOLDER: Final = "spss"
SYNTAX_FILE: Final = "analysis.sps"

#: The .sav header (record type ``$FL2``): creation date ``dd Mmm yy`` at byte 92, then the
#: time ``hh:mm:ss``; SPSS spells the month in English whatever the locale.
_HEADER_MAGIC: Final = b"$FL2"
_HEADER_DATE_AT: Final = 92
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_FILE_LABEL_LIMIT: Final = 64
#: Rows gathered as floats before they are packed (about 8 bytes × columns × this, at most).
_PACK_ROWS: Final = 512
#: The packed representations of a numeric column, narrowest first, and their numpy types.
_NARROWEST: Final = "b"
_WIDER: Final[dict[str, Literal["h", "f", "d"]]] = {"b": "h", "h": "f", "f": "d"}
_DTYPES: Final = {"b": "int8", "h": "int16", "f": "float32", "d": "float64"}


class _Table:
    """One .sav file being collected: its variables and a buffer per column."""

    def __init__(self, file_name: str, label: str, variables: Sequence[Variable]) -> None:
        check_names(file_name, variables)
        self.file_name = file_name
        self.label = label
        self.variables = tuple(variables)
        self._numpy: Any = _libraries()[0]
        # A numeric column's rows not yet packed, as floats; a string column's, as they are.
        self._pending: list[array[float] | list[str]] = [
            [] if v.is_string else array("d") for v in variables
        ]
        #: Per numeric column, its packed rows (typecode b, h, f or d); None for a string column.
        self._packed: list[array[Any] | None] = [
            None if v.is_string else array(_NARROWEST) for v in variables
        ]
        # Bound appends, one per column: the hot loop of the export. A cell's type was fixed
        # by the dictionary (float for numbers, str for strings); a mismatch raises TypeError.
        self._appends: list[Callable[[Any], None]] = [column.append for column in self._pending]
        self.rows = 0

    def add(self, row: Sequence[Cell]) -> None:
        if len(row) != len(self._appends):
            raise ExportError(
                f"{self.file_name}: a row has {len(row)} cells for {len(self._appends)} "
                "variables; this is a fault of the export, please report it"
            )
        for append, cell in zip(self._appends, row, strict=True):
            append(cell)
        self.rows += 1
        if self.rows % _PACK_ROWS == 0:
            self._pack()

    def columns(self) -> list[Any]:
        """Each column for the DataFrame: a numpy view on its packed buffer, or its strings."""
        self._pack()
        numpy = self._numpy
        result: list[Any] = []
        for pending, packed in zip(self._pending, self._packed, strict=True):
            if packed is None:
                result.append(pending)
            else:
                result.append(numpy.frombuffer(packed, dtype=_DTYPES[packed.typecode]))
        return result

    def _pack(self) -> None:
        numpy = self._numpy
        for index, (pending, packed) in enumerate(zip(self._pending, self._packed, strict=True)):
            if packed is None or not isinstance(pending, array) or not pending:
                continue
            values = numpy.frombuffer(pending, dtype=numpy.float64)
            code: str = packed.typecode
            while code != "d":
                # Exact means the same 8 bytes back: NaN, -0.0 and anything out of range fail.
                with numpy.errstate(all="ignore"):
                    narrow = values.astype(_DTYPES[code])
                if numpy.array_equal(
                    narrow.astype(numpy.float64).view(numpy.int64), values.view(numpy.int64)
                ):
                    break
                wider = _WIDER[code]
                packed = array(
                    wider,
                    numpy.frombuffer(packed, dtype=_DTYPES[code]).astype(_DTYPES[wider]).tobytes(),
                )
                code = wider
                self._packed[index] = packed
            packed.frombytes(values.astype(_DTYPES[code]).tobytes())
            del values
            # Emptied in place: the bound append of the hot loop stays this array's.
            del pending[:]


class SpssWriter:
    """Writes the SPSS files of one export (see the module docstring)."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._context: ExportContext | None = None
        self._tables: list[tuple[WideTable | ScoresTable | AnalysisTable, _Table]] = []

    def begin(self, out: Path, context: ExportContext) -> None:
        self._folder = out / FOLDER
        self._context = context
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ExportError(
                f"cannot create the folder {FOLDER}/ in the output folder ({error.strerror}); "
                "choose an output folder you may write to"
            ) from None
        tables = (WideTable(context), ScoresTable(context), AnalysisTable(context))
        self._tables = [(t, _Table(t.file_name, t.label, t.variables)) for t in tables]

    def add_patient(self, patient: PatientRecord) -> None:
        for table, store in self._tables:
            for row in table.rows(patient):
                store.add(row)

    def finish(self) -> list[WrittenFile]:
        if self._folder is None or self._context is None:
            raise ExportError("the SPSS writer was finished before it began")
        folder, context = self._folder, self._context
        written: list[WrittenFile] = []
        while self._tables:
            # Each table's buffers are dropped as soon as its file is written.
            _, store = self._tables.pop(0)
            _write_sav(folder / store.file_name, store, context)
            written.append(WrittenFile(Path(FOLDER, store.file_name), store.rows))
        syntax = folder / SYNTAX_FILE
        _replace(syntax, analysis_syntax(context).encode("utf-8"))
        written.append(WrittenFile(Path(FOLDER, SYNTAX_FILE)))
        return written


def spss_writer() -> SpssWriter:
    """The SPSS writer, for the export's list of formats."""
    return SpssWriter()


def _libraries() -> tuple[Any, Any, Any]:
    try:
        import numpy
        import pandas  # type: ignore[import-untyped]  # pandas ships no type information
        import pyreadstat
    except ImportError:
        raise ExportError(
            "the SPSS export needs pyreadstat and pandas; install them with "
            "pip install 'epro[export]'"
        ) from None
    return numpy, pandas, pyreadstat


def _write_sav(path: Path, store: _Table, context: ExportContext) -> None:
    """Write ``store`` to ``path``; its string buffers are used up on the way."""
    numpy, pandas, pyreadstat = _libraries()
    variables = store.variables
    # Strings typed as such even when there are none (an export without patients), numbers
    # as views on their packed buffers: nothing is copied until pyreadstat reads the rows.
    data: dict[str, Any] = {}
    value_labels: dict[str, dict[Any, str]] = {}
    for variable, column in zip(variables, store.columns(), strict=True):
        labels: dict[Any, str] = dict(variable.value_labels)
        if isinstance(column, list):
            strings = column
            column = pandas.Series(strings, dtype="str")
            # The Series holds its own references: the list's are let go now, not after
            # the file is written.
            strings.clear()
        elif column.dtype.kind == "i":
            # pyreadstat takes an integer column's value labels only with int keys; a label
            # on a fraction (none today) keeps the column in floats.
            if all(float(key).is_integer() for key in labels):
                labels = {int(key): label for key, label in labels.items()}
            else:
                column = column.astype(numpy.float64)
        data[variable.name] = column
        if labels:
            value_labels[variable.name] = labels
    frame = pandas.DataFrame(data, copy=False)
    del data

    def write(partial: Path) -> None:
        pyreadstat.write_sav(
            frame,
            partial,
            file_label=clip(f"{context.study_id}: {store.label}", _FILE_LABEL_LIMIT),
            column_labels={v.name: v.label for v in variables},
            variable_value_labels=value_labels,
            missing_ranges=_missing_ranges(variables),
            variable_measure={v.name: str(v.measure) for v in variables},
            variable_format={v.name: v.format for v in variables if v.format is not None},
            row_compress=True,
        )
        stamp_header(partial, context.created_at)

    _write_by_way_of_part(path, write)


def _missing_ranges(variables: Sequence[Variable]) -> dict[str, list[Any]]:
    ranges: dict[str, list[Any]] = {}
    for v in variables:
        if v.missing_range is not None:
            low, high = v.missing_range
            ranges[v.name] = [{"lo": low, "hi": high}]
        elif v.missing_values:
            ranges[v.name] = list(v.missing_values)
    return ranges


def header_stamp(when: datetime) -> bytes:
    """The 17 bytes of a .sav header's creation date and time for ``when`` (UTC if aware)."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    day = f"{when.day:02d} {_MONTHS[when.month - 1]} {when.year % 100:02d}"
    return f"{day}{when:%H:%M:%S}".encode("ascii")


def stamp_header(path: Path, when: datetime) -> None:
    """Overwrite the creation date and time that readstat took from the clock with ``when``."""
    stamp = header_stamp(when)
    with path.open("r+b") as file:
        magic = file.read(len(_HEADER_MAGIC))
        if magic != _HEADER_MAGIC:
            raise ExportError(
                f"{path.name} does not start like an SPSS system file; the installed "
                "pyreadstat writes another format, install the version pyproject.toml names"
            )
        file.seek(_HEADER_DATE_AT)
        file.write(stamp)


def _replace(path: Path, content: bytes) -> None:
    _write_by_way_of_part(path, lambda partial: partial.write_bytes(content))


def _write_by_way_of_part(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` fills ``<name>.part``, which then takes the place of ``path``: a full disk
    leaves the old file (or none), never half a file, and a clear message."""
    partial = path.with_name(path.name + ".part")
    try:
        write(partial)
        os.replace(partial, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise ExportError(
            f"cannot write {FOLDER}/{path.name} ({error.strerror}); free some space or choose "
            "another output folder"
        ) from None
