"""A .sav file's rows kept on disk while an export runs, and written by pyreadstat in chunks.

pyreadstat writes a ``.sav`` only from a whole DataFrame, so holding a table until the end
makes the export's memory grow with the number of patients. :class:`SpooledTable` instead
appends each patient's rows to a spool file beside the output (numbers as 8-byte floats,
strings as UTF-8 with their lengths) and remembers only how many bytes the longest string of
each column takes. At the end it writes the table through pyreadstat :data:`CHUNK_ROWS` rows
at a time and joins the pieces into one file, so memory holds one chunk, never the table.

Why the pieces join: with row compression (``row_compress=True``) readstat compresses every
row on its own (each starts a fresh block of command bytes), so the data of a ``.sav`` file
is its rows' bytes one after the other, behind a header and dictionary that depend only on
the variables, the string widths and the number of rows. Every chunk is written with a first
row that holds, in each string column, a string as long as the column's longest anywhere, so
every chunk gets the whole table's widths; that row's bytes are cut off again. The header and
dictionary come from a file of that row alone, with the number of rows set to the table's.
The result is the file pyreadstat writes from the whole table at once, byte for byte (a test
holds the two equal, with widths that grow from chunk to chunk).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from epro.errors import ExportError
from epro.export.records import JobRunner, run_here

#: Rows written by pyreadstat at a time: a chunk holds about 8 bytes × columns × this.
CHUNK_ROWS: Final = 512
#: The header's number of cases, a little-endian int32 (readstat writes little-endian).
_NCASES_AT: Final = 80
_NCASES: Final = struct.Struct("<i")
#: The creation date and time readstat takes from the clock (replaced later by the writer).
_STAMP_AT: Final = 92
_STAMP_END: Final = 92 + 17
#: Each spooled batch: rows, bytes of numbers, number of strings.
_BATCH: Final = struct.Struct("<III")

#: ``write(path, numbers, strings)``: pyreadstat writes the rows given as a float64 matrix
#: (rows × numeric columns) and one list of strings per string column, with the table's
#: dictionary, to ``path``.
WriteChunk = Callable[[Path, Any, list[list[str]]], None]


class SpooledTable:
    """A table's rows on disk: ``add_rows`` while the export runs, ``write`` at the end."""

    def __init__(
        self, spool: Path, numeric: int, strings: int, *, chunk_rows: int = CHUNK_ROWS
    ) -> None:
        self._path = spool
        self._chunk_rows = chunk_rows
        self._numeric = numeric
        self._string_count = strings
        #: The UTF-8 length of the longest string of each string column (pyreadstat's
        #: width is at least 1).
        self.widths = [1] * strings
        self.rows = 0
        # The spool is opened for each batch and closed again, so a failed export that
        # never reaches ``write`` leaves no open file behind (its folder is removed).
        spool.write_bytes(b"")
        self._open = True
        self._reading: IO[bytes] | None = None

    def add_rows(self, count: int, numbers: array[float], strings: Sequence[str]) -> None:
        """``count`` rows: their numbers and their strings, each row after row."""
        if not self._open:
            raise ExportError("a spooled SPSS table was given rows after it was written")
        if len(numbers) != count * self._numeric or len(strings) != count * self._string_count:
            raise ExportError(
                "an SPSS table was given rows that do not fill its variables; this is a "
                "fault of the export, please report it"
            )
        encoded = [text.encode("utf-8") for text in strings]
        lengths = array("I", [len(blob) for blob in encoded])
        width = self._string_count
        widths = self.widths
        for index in range(width):
            longest = max(lengths[index::width], default=0)
            if longest > widths[index]:
                widths[index] = longest
        raw = numbers.tobytes()
        with self._path.open("ab") as spool:
            spool.write(_BATCH.pack(count, len(raw), len(encoded)))
            spool.write(raw)
            spool.write(lengths.tobytes())
            spool.write(b"".join(encoded))
        self.rows += count

    def write(
        self, path: Path, write_chunk: WriteChunk, numpy: Any, run: JobRunner = run_here
    ) -> None:
        """Write the table to ``path`` (see the module docstring); the spool is removed.

        The chunks are independent once the widths are known: ``run`` writes them, in the
        export's worker processes when it has them (``write_chunk`` must then pickle)."""
        if not self._open:
            raise ExportError("a spooled SPSS table was written twice")
        scratches: list[Path] = []

        def scratch() -> Path:
            scratches.append(path.with_name(f"{path.name}.chunk{len(scratches)}"))
            return scratches[-1]

        try:
            if not self.rows:
                empty = numpy.zeros((0, self._numeric), dtype=numpy.float64)
                write_chunk(path, empty, [[] for _ in self.widths])
                return
            self._reading = self._path.open("rb")
            longest = tuple("x" * width for width in self.widths)
            nothing = numpy.zeros((0, self._numeric), dtype=numpy.float64)
            empty_strings: list[list[str]] = [[] for _ in self.widths]
            alone = _written(write_chunk, scratch(), longest, nothing, empty_strings, False)
            twice = _written(write_chunk, scratch(), longest, nothing, empty_strings, True)
            layout = _Layout.of(path.name, alone, twice)
            expected = layout.dictionary(alone)
            jobs = (
                _ChunkJob(path.name, write_chunk, scratch(), longest, n, s, final, layout, expected)
                for n, s, final in self._chunks(numpy)
            )
            with path.open("wb") as target:
                target.write(layout.header(alone, self.rows))
                for data in run(chunk_rows, jobs):
                    target.write(data)
        finally:
            for used in scratches:
                used.unlink(missing_ok=True)
            self.discard()

    def discard(self) -> None:
        """Close and remove the spool."""
        self._open = False
        if self._reading is not None:
            self._reading.close()
            self._reading = None
        self._path.unlink(missing_ok=True)

    def _chunks(self, numpy: Any) -> Iterator[tuple[Any, list[list[str]], bool]]:
        """The spooled rows again, about CHUNK_ROWS at a time, the last chunk flagged."""
        ahead = self._read_chunk(numpy)
        while ahead is not None:
            chunk, ahead = ahead, self._read_chunk(numpy)
            yield chunk[0], chunk[1], ahead is None

    def _read_chunk(self, numpy: Any) -> tuple[Any, list[list[str]]] | None:
        assert self._reading is not None
        read = self._reading.read
        width = self._string_count
        rows = 0
        numbers: list[bytes] = []
        strings: list[list[str]] = [[] for _ in range(width)]
        while rows < self._chunk_rows:
            batch = read(_BATCH.size)
            if not batch:
                break
            count, raw, texts = _BATCH.unpack(batch)
            numbers.append(read(raw))
            lengths = array("I")
            lengths.frombytes(read(4 * texts))
            blob = read(sum(lengths))
            cells: list[str] = []
            at = 0
            for length in lengths:
                cells.append(blob[at : at + length].decode("utf-8"))
                at += length
            for index in range(width):
                strings[index].extend(cells[index::width])
            rows += count
        if not rows:
            return None
        matrix = numpy.frombuffer(b"".join(numbers), dtype=numpy.float64)
        return matrix.reshape(rows, self._numeric), strings


def _written(
    write_chunk: WriteChunk,
    scratch: Path,
    longest: tuple[str, ...],
    numbers: Any,
    strings: list[list[str]],
    close: bool,
) -> bytes:
    """The file pyreadstat writes of the rows with the longest row first (and, with
    ``close``, last as well)."""
    import numpy

    first = numpy.zeros((1, numbers.shape[1]), dtype=numpy.float64)
    parts = [first, numbers, first] if close else [first, numbers]
    columns = [
        [top, *column, *((top,) if close else ())]
        for top, column in zip(longest, strings, strict=True)
    ]
    try:
        write_chunk(scratch, numpy.concatenate(parts), columns)
        return scratch.read_bytes()
    finally:
        scratch.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class _ChunkJob:
    """One chunk of a table's rows to write (in any process), and how to cut its bytes."""

    name: str
    write_chunk: WriteChunk
    scratch: Path
    longest: tuple[str, ...]
    numbers: Any
    strings: list[list[str]]
    final: bool
    layout: _Layout
    dictionary: bytes


def chunk_rows(job: _ChunkJob) -> bytes:
    """The bytes of a chunk's rows, as they stand in the whole table's file."""
    layout = job.layout
    data = _written(
        job.write_chunk, job.scratch, job.longest, job.numbers, job.strings, not job.final
    )
    if layout.dictionary(data) != job.dictionary:
        raise ExportError(
            f"{job.name}: a chunk of rows got another dictionary; this is a fault of the "
            "export, please report it"
        )
    end = len(data) if job.final else len(data) - layout.last_row
    return data[layout.head + layout.row : end]


#: Extension record 7, subtype 16: the number of cases again, as a 64-bit integer.
_LONG_COUNT: Final = struct.pack("<iiii", 7, 16, 8, 2)
_INT64: Final = struct.Struct("<q")
_TERMINATOR: Final = struct.pack("<ii", 999, 0)


class _Layout:
    """Where a file's dictionary ends, how long the longest row's bytes are in the middle of
    the data and at its end (the last row carries readstat's end-of-data code), and where
    the number of cases stands."""

    def __init__(self, head: int, row: int, last_row: int, long_count: int | None) -> None:
        self.head = head
        self.row = row
        self.last_row = last_row
        self.long_count = long_count

    @classmethod
    def of(cls, name: str, alone: bytes, twice: bytes) -> _Layout:
        """From a file of the longest row alone and one of it twice."""
        row = len(twice) - len(alone)
        # The end-of-data code fits the last row's block of command bytes, or takes one more.
        for last_row in (row, row + 8):
            head = len(alone) - last_row
            if (
                head > 0
                and alone[head - len(_TERMINATOR) : head] == _TERMINATOR
                and twice[head + row :] == alone[head:]
            ):
                found = alone.rfind(_LONG_COUNT, 0, head)
                long_count = None if found < 0 else found + len(_LONG_COUNT) + _INT64.size
                layout = cls(head, row, last_row, long_count)
                if layout.dictionary(alone) == layout.dictionary(twice):
                    return layout
        raise ExportError(
            f"{name}: the installed pyreadstat does not write rows as this export expects; "
            "install the version pyproject.toml names"
        )

    def header(self, alone: bytes, rows: int) -> bytes:
        """The header and dictionary of ``alone`` for a file of ``rows`` rows."""
        head = bytearray(alone[: self.head])
        head[_NCASES_AT : _NCASES_AT + _NCASES.size] = _NCASES.pack(rows)
        if self.long_count is not None:
            head[self.long_count : self.long_count + _INT64.size] = _INT64.pack(rows)
        return bytes(head)

    def dictionary(self, data: bytes) -> bytes:
        """The header and dictionary without what differs with the rows and the clock: the
        number of cases and the creation date and time."""
        head = bytearray(data[: self.head])
        head[_NCASES_AT : _NCASES_AT + _NCASES.size] = bytes(_NCASES.size)
        head[_STAMP_AT:_STAMP_END] = bytes(_STAMP_END - _STAMP_AT)
        if self.long_count is not None:
            head[self.long_count : self.long_count + _INT64.size] = bytes(_INT64.size)
        return bytes(head)
