"""The SPSS writer spools rows to disk and writes them in chunks (DESIGN.md §9: memory must not
grow with the responses); the file must be the one pyreadstat writes from the whole table at
once (the reference, :func:`epro.export.spss._write_sav`), byte for byte, and PSPP-readable."""

from __future__ import annotations

import math
import multiprocessing
from array import array
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pyreadstat
import pytest

from epro.export.layout import Measure
from epro.export.records import JobRunner, run_here
from epro.export.spss import RowSplit, _Table, _write_sav, _write_spooled
from epro.export.spss_dictionary import Cell, Variable
from epro.export.spss_spool import SpooledTable
from tests.helpers.spss_cases import all_forms, context

CHUNK = 7
LABELS: tuple[tuple[float | str, str], ...] = ((0.0, "no"), (1.0, "yes"), (-9.0, "missing"))


def _variables() -> list[Variable]:
    return [
        Variable("site", "site", Measure.NOMINAL, None),
        Variable("score", "a score", Measure.SCALE, "F8.2"),
        Variable("coded", "a coded answer", Measure.NOMINAL, "F2.0", LABELS, (-9.0, -5.0)),
        Variable("note", "free text", Measure.NOMINAL, None, missing_values=("-7", "-8")),
        Variable("large", "a number that grows", Measure.SCALE, "F8.0"),
        Variable("patient", "patient code", Measure.NOMINAL, None),
    ]


def _cells(row: int, rows: int) -> list[Cell]:
    """Strings whose longest comes late (in the last chunk), multi-byte text, a long text
    (a very long string of SPSS) in a middle chunk, NaN, missing codes and fractions."""
    note = "-7" if row % 5 == 0 else "é" * (row % 4)
    if row == 2 * CHUNK + 3:
        note = "long text " * 40
    return [
        "SITE-A" if row % 3 else "S",
        math.nan if row % 6 == 1 else row / 8,
        -9.0 if row % 4 == 0 else float(row % 2),
        note,
        1e9 + row if row > CHUNK else float(row),
        f"DEMO-{row:03d}" + ("-LATE-AND-LONG" if row == rows - 1 else ""),
    ]


def _both(
    tmp_path: Path,
    rows: int,
    chunk_rows: int = CHUNK,
    batch: int = 3,
    run: JobRunner = run_here,
) -> tuple[bytes, bytes]:
    """The reference file and the spooled one of the same rows (spooled ``batch`` rows at a
    time, as a patient's visits come)."""
    ctx = context(all_forms())
    variables = _variables()
    cells = [_cells(row, rows) for row in range(rows)]
    reference = _Table("t.sav", "table", variables)
    for row in cells:
        reference.add(row)
    _write_sav(tmp_path / "reference.sav", reference, ctx)
    split = RowSplit(variables)
    spooled = SpooledTable(
        tmp_path / ".t.sav.rows.part",
        len(split.numeric),
        len(split.strings),
        chunk_rows=chunk_rows,
    )
    for start in range(0, rows, batch):
        numbers: array[float] = array("d")
        strings: list[str] = []
        part = cells[start : start + batch]
        for row in part:
            split.into(row, numbers, strings, "t.sav")
        spooled.add_rows(len(part), numbers, strings)
    _write_spooled(tmp_path / "spooled.sav", spooled, "table", variables, ctx, run)
    assert not (tmp_path / ".t.sav.rows.part").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reference.sav", "spooled.sav"]
    return (tmp_path / "reference.sav").read_bytes(), (tmp_path / "spooled.sav").read_bytes()


@pytest.mark.parametrize("rows", [0, 1, 2, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 4])
def test_a_spooled_table_is_the_file_pyreadstat_writes_from_the_whole_table(
    tmp_path: Path, rows: int
) -> None:
    reference, spooled = _both(tmp_path, rows)
    assert spooled == reference


def test_batches_larger_than_a_chunk_give_the_same_file(tmp_path: Path) -> None:
    reference, spooled = _both(tmp_path, 4 * CHUNK + 2, batch=2 * CHUNK + 1)
    assert spooled == reference


def test_chunks_written_in_worker_processes_give_the_same_file(tmp_path: Path) -> None:
    """The export writes the chunks in its spawned workers: they must pickle and come back
    in order."""
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:

        def run(job: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
            return pool.map(job, items)

        reference, spooled = _both(tmp_path, 6 * CHUNK + 5, run=run)
    assert spooled == reference


def test_a_spooled_table_reads_back_whole(tmp_path: Path) -> None:
    rows = 5 * CHUNK + 4
    _both(tmp_path, rows)
    read, meta = pyreadstat.read_sav(tmp_path / "spooled.sav", user_missing=True)
    assert meta.number_rows == rows
    assert list(read["patient"]) == [_cells(row, rows)[5] for row in range(rows)]
    # SPSS keeps no trailing blanks of a string.
    assert list(read["note"]) == [str(_cells(row, rows)[3]).rstrip() for row in range(rows)]
    assert list(read["large"]) == [_cells(row, rows)[4] for row in range(rows)]
    assert meta.missing_ranges["coded"] == [{"lo": -9.0, "hi": -5.0}]


def test_rows_that_do_not_fill_the_variables_are_refused(tmp_path: Path) -> None:
    spooled = SpooledTable(tmp_path / ".t.rows.part", 2, 1)
    with pytest.raises(Exception, match="do not fill its variables"):
        spooled.add_rows(2, array("d", [1.0, 2.0]), ["a", "b"])
    spooled.discard()
    assert not (tmp_path / ".t.rows.part").exists()
