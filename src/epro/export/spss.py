"""The SPSS adapter: ``spss/wide.sav``, ``spss/scores.sav``, ``spss/analysis.sav`` and the
syntax ``spss/analysis.sps`` that reruns the trial's efficacy analysis on ``analysis.sav``.

The only module that imports pyreadstat and pandas. What each variable is — name, label,
format, measure, value labels, missing values — is decided in
:mod:`epro.export.spss_dictionary` and :mod:`epro.export.spss_wide`; the syntax in
:mod:`epro.export.spss_syntax`.

pyreadstat writes a ``.sav`` only from a whole DataFrame. :class:`SpssWriter` does not hold
the tables: :class:`SpssRenderer` (run in the export's worker processes) splits each
patient's rows into numbers and strings, and the writer spools them to disk
(:mod:`epro.export.spss_spool`), which writes the file through pyreadstat a chunk of rows at
a time at the end, so memory does not grow with the number of patients.

:class:`_Table` and :func:`_write_sav` are the reference: the whole table in memory (numbers
packed per column into the narrowest type that gives every value back bit for bit: a signed
byte, two bytes, a 4-byte float, 8 bytes) and one DataFrame; tests hold the spooled file equal
to it byte for byte. pyreadstat writes an ``int8`` or ``int16`` column as the same SPSS
numeric variable as its floats, and a ``float32`` one through the same doubles, so the file is
what plain floats give.

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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from epro.errors import ExportError
from epro.export.records import ExportContext, JobRunner, PatientRecord, WrittenFile, run_here
from epro.export.spss_dictionary import (
    AnalysisTable,
    Cell,
    ScoresTable,
    Variable,
    check_names,
    clip,
)
from epro.export.spss_spool import SpooledTable
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
    """One .sav file being collected: its variables, numbers packed per column, strings."""

    def __init__(self, file_name: str, label: str, variables: Sequence[Variable]) -> None:
        check_names(file_name, variables)
        self.file_name = file_name
        self.label = label
        self.variables = tuple(variables)
        self._numpy: Any = _libraries()[0]
        self.split = RowSplit(self.variables)
        # Numbers not yet packed, row after row, as floats.
        self._pending = array("d")
        #: Per numeric column, its packed rows (typecode b, h, f or d).
        self._packed: list[array[Any]] = [array(_NARROWEST) for _ in self.split.numeric]
        #: Per string column, its rows.
        self._strings: list[list[str]] = [[] for _ in self.split.strings]
        self.rows = 0

    def add(self, row: Sequence[Cell]) -> None:
        """One row of cells (float for a number, str for a string, as the dictionary says)."""
        numbers: array[float] = array("d")
        strings: list[str] = []
        self.split.into(row, numbers, strings, self.file_name)
        self.add_rows(1, numbers, strings)

    def add_rows(self, count: int, numbers: array[float], strings: Sequence[str]) -> None:
        """``count`` rows split by :class:`RowSplit`: their numbers and their strings, each
        row after row."""
        width = len(self._strings)
        if len(numbers) != count * len(self._packed) or len(strings) != count * width:
            raise ExportError(
                f"{self.file_name}: {count} rows do not fill {len(self.variables)} "
                "variables; this is a fault of the export, please report it"
            )
        self._pending.extend(numbers)
        for index, column in enumerate(self._strings):
            column.extend(strings[index::width])
        before = self.rows // _PACK_ROWS
        self.rows += count
        if self.rows // _PACK_ROWS != before:
            self._pack()

    def columns(self) -> list[Any]:
        """Each column for the DataFrame: a numpy view on its packed buffer, or its strings."""
        self._pack()
        numpy = self._numpy
        numbers = iter(self._packed)
        strings = iter(self._strings)
        result: list[Any] = []
        for variable in self.variables:
            if variable.is_string:
                result.append(next(strings))
            else:
                packed = next(numbers)
                result.append(numpy.frombuffer(packed, dtype=_DTYPES[packed.typecode]))
        return result

    def _pack(self) -> None:
        numpy = self._numpy
        if not self._pending or not self._packed:
            return
        table = numpy.frombuffer(self._pending, dtype=numpy.float64).reshape(-1, len(self._packed))
        for index, packed in enumerate(self._packed):
            values = numpy.ascontiguousarray(table[:, index])
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
        del table
        self._pending = array("d")


class RowSplit:
    """Splits a table's rows into their numbers and their strings, row after row: what a
    worker process sends for one patient, and what :class:`_Table` appends."""

    def __init__(self, variables: Sequence[Variable]) -> None:
        self.numeric = tuple(i for i, v in enumerate(variables) if not v.is_string)
        self.strings = tuple(i for i, v in enumerate(variables) if v.is_string)
        self._width = len(variables)

    def into(
        self, row: Sequence[Cell], numbers: array[float], strings: list[str], file_name: str
    ) -> None:
        if len(row) != self._width:
            raise ExportError(
                f"{file_name}: a row has {len(row)} cells for {self._width} "
                "variables; this is a fault of the export, please report it"
            )
        # A cell's type was fixed by the dictionary (float for numbers, str for strings);
        # a string among the numbers raises TypeError.
        numbers.extend([row[i] for i in self.numeric])  # type: ignore[misc]
        strings.extend([row[i] for i in self.strings])  # type: ignore[misc]


class SpssRenderer:
    """A patient's rows of the three .sav files, split into numbers and strings, in any
    process (a PatientRenderer); the tables' converters are made on first use."""

    def __init__(self, context: ExportContext) -> None:
        self._context = context
        self._tables: list[tuple[WideTable | ScoresTable | AnalysisTable, RowSplit]] | None = None

    def __getstate__(self) -> dict[str, object]:
        # The tables hold closures: they are made again where the renderer runs.
        return {"context": self._context}

    def __setstate__(self, state: dict[str, object]) -> None:
        context = state["context"]
        assert isinstance(context, ExportContext)
        self._context, self._tables = context, None

    def render(self, patient: PatientRecord) -> list[tuple[int, array[float], list[str]]]:
        """Per table: how many rows, their numbers and their strings."""
        if self._tables is None:
            self._tables = [(t, RowSplit(t.variables)) for t in _tables(self._context)]
        parts = []
        for table, split in self._tables:
            numbers: array[float] = array("d")
            strings: list[str] = []
            count = 0
            for row in table.rows(patient):
                split.into(row, numbers, strings, table.file_name)
                count += 1
            parts.append((count, numbers, strings))
        return parts


def _tables(context: ExportContext) -> tuple[WideTable, ScoresTable, AnalysisTable]:
    return (WideTable(context), ScoresTable(context), AnalysisTable(context))


class SpssWriter:
    """Writes the SPSS files of one export (see the module docstring); a PartWriter, whose
    rows :class:`SpssRenderer` renders."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._context: ExportContext | None = None
        self._tables: list[tuple[WideTable | ScoresTable | AnalysisTable, SpooledTable]] = []
        self._renderer: SpssRenderer | None = None
        self._run: JobRunner = run_here

    def run_jobs_with(self, run: JobRunner) -> None:
        """Write the tables' chunks of rows with ``run`` (the export's workers)."""
        self._run = run

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
        self._tables = []
        for table in _tables(context):
            check_names(table.file_name, table.variables)
            split = RowSplit(table.variables)
            spool = self._folder / f".{table.file_name}.rows.part"
            self._tables.append(
                (table, SpooledTable(spool, len(split.numeric), len(split.strings)))
            )
        self._renderer = SpssRenderer(context)

    def renderer(self) -> SpssRenderer:
        if self._context is None:
            raise ExportError("the SPSS writer was asked for a renderer before it began")
        return SpssRenderer(self._context)

    def add_patient(self, patient: PatientRecord) -> None:
        if self._renderer is None:
            raise ExportError("the SPSS writer was given a patient before it began")
        self.add_part(self._renderer.render(patient))

    def add_part(self, part: Sequence[tuple[int, array[float], Sequence[str]]]) -> None:
        for (_, spooled), (count, numbers, strings) in zip(self._tables, part, strict=True):
            spooled.add_rows(count, numbers, strings)

    def finish(self) -> list[WrittenFile]:
        if self._folder is None or self._context is None:
            raise ExportError("the SPSS writer was finished before it began")
        folder, context = self._folder, self._context
        written: list[WrittenFile] = []
        while self._tables:
            # Each table's buffers are dropped as soon as its file is written.
            table, spooled = self._tables.pop(0)
            path = folder / table.file_name
            _write_spooled(path, spooled, table.label, table.variables, context, self._run)
            written.append(WrittenFile(Path(FOLDER, table.file_name), spooled.rows))
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
    """Write ``store`` to ``path`` from one DataFrame of the whole table (the reference way:
    :func:`_write_spooled` writes the same bytes); its string buffers are used up."""
    frame, value_labels = _frame(store.variables, store.columns())

    def write(partial: Path) -> None:
        _pyreadstat_write(partial, frame, value_labels, store.variables, store.label, context)
        stamp_header(partial, context.created_at)

    _write_by_way_of_part(path, write)


def _write_spooled(
    path: Path,
    spooled: SpooledTable,
    file_label: str,
    variables: Sequence[Variable],
    context: ExportContext,
    run: JobRunner = run_here,
) -> None:
    """Write a table whose rows were spooled to disk, a chunk of rows at a time
    (:mod:`epro.export.spss_spool`), the chunks by ``run``."""
    numpy = _libraries()[0]
    write_chunk = _ChunkWriter(tuple(variables), file_label, context)

    def write(partial: Path) -> None:
        spooled.write(partial, write_chunk, numpy, run)
        stamp_header(partial, context.created_at)

    _write_by_way_of_part(path, write)


@dataclass(frozen=True, slots=True)
class _ChunkWriter:
    """Writes some rows of a table with its dictionary (a picklable ``WriteChunk``)."""

    variables: tuple[Variable, ...]
    file_label: str
    context: ExportContext

    def __call__(self, target: Path, numbers: Any, strings: list[list[str]]) -> None:
        numeric = iter(range(numbers.shape[1]))
        texts = iter(strings)
        columns = [
            next(texts) if v.is_string else numbers[:, next(numeric)] for v in self.variables
        ]
        frame, value_labels = _frame(self.variables, columns)
        _pyreadstat_write(
            target, frame, value_labels, self.variables, self.file_label, self.context
        )


def _frame(
    variables: Sequence[Variable], columns: Sequence[Any]
) -> tuple[Any, dict[str, dict[Any, str]]]:
    """The DataFrame of ``columns`` (string lists, used up; numpy numbers) and its value labels."""
    numpy, pandas, _ = _libraries()
    # Strings typed as such even when there are none (an export without patients), numbers
    # as views on their buffers: nothing is copied until pyreadstat reads the rows.
    data: dict[str, Any] = {}
    value_labels: dict[str, dict[Any, str]] = {}
    for variable, column in zip(variables, columns, strict=True):
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
    return pandas.DataFrame(data, copy=False), value_labels


def _pyreadstat_write(
    target: Path,
    frame: Any,
    value_labels: dict[str, dict[Any, str]],
    variables: Sequence[Variable],
    file_label: str,
    context: ExportContext,
) -> None:
    pyreadstat = _libraries()[2]
    pyreadstat.write_sav(
        frame,
        target,
        file_label=clip(f"{context.study_id}: {file_label}", _FILE_LABEL_LIMIT),
        column_labels={v.name: v.label for v in variables},
        variable_value_labels=value_labels,
        missing_ranges=_missing_ranges(variables),
        variable_measure={v.name: str(v.measure) for v in variables},
        variable_format={v.name: v.format for v in variables if v.format is not None},
        row_compress=True,
    )


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
