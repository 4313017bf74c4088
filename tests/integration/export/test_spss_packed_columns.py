"""The SPSS writer holds numbers packed into the narrowest exact type while rows come in
(DESIGN.md §9: the export's memory should not grow eight bytes a cell with the responses);
the file must be what pyreadstat writes from the same cells as plain floats."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]  # pandas ships no type information
import pyreadstat
import pytest

from epro.export.layout import Measure
from epro.export.spss import _PACK_ROWS, _Table, _write_sav, stamp_header
from epro.export.spss_dictionary import Cell, Variable
from tests.helpers.spss_cases import all_forms, context

ROWS = 3 * _PACK_ROWS + 17
LABELS: tuple[tuple[float, str], ...] = ((0.0, "no"), (1.0, "yes"), (-9.0, "missing"))


def _cells(row: int) -> list[Cell]:
    """Columns that stay a byte, grow to two bytes, to 4-byte floats (a quarter, NaN) and to
    8-byte ones (a tenth), meet -0.0 after the first pack, and one with value labels and the
    missing range that meets NaN late."""
    return [
        float(row % 110 - 9),
        200.0 + row if row > _PACK_ROWS + 3 else 1.0,
        {2 * _PACK_ROWS + 1: 0.25, ROWS - 2: 0.1}.get(row, float(row % 7)),
        math.nan if row == _PACK_ROWS + 40 else 5.0,
        -0.0 if row == ROWS - 1 else 0.0,
        40000.0 if row == 7 else -5.0,
        math.nan if row == ROWS - 3 else float(row % 2) if row % 11 else -9.0,
        f"DEMO-{row:03d}",
    ]


def _variables() -> list[Variable]:
    names = ("small", "grows", "fraction", "nan_late", "neg_zero", "large", "coded")
    variables = [Variable(n, f"the {n} column", Measure.SCALE, "F8.2") for n in names[:-1]]
    variables.append(
        Variable("coded", "a coded answer", Measure.NOMINAL, "F2.0", LABELS, (-9.0, -5.0))
    )
    variables.append(Variable("patient", "patient code", Measure.NOMINAL, None))
    return variables


def test_a_packed_table_is_the_file_pyreadstat_writes_from_plain_floats(tmp_path: Path) -> None:
    ctx = context(all_forms())
    variables = _variables()
    rows = [_cells(row) for row in range(ROWS)]
    table = _Table("packed.sav", "packed", variables)
    for row in rows:
        table.add(row)
    _write_sav(tmp_path / "packed.sav", table, ctx)

    # The reference: every number as a float64 column, written with the same dictionary.
    frame = pd.DataFrame(
        {
            v.name: pd.Series([row[i] for row in rows], dtype="str" if v.is_string else "float64")
            for i, v in enumerate(variables)
        }
    )
    reference = tmp_path / "reference.sav"
    pyreadstat.write_sav(
        frame,
        reference,
        file_label=f"{ctx.study_id}: packed",
        column_labels={v.name: v.label for v in variables},
        variable_value_labels={"coded": dict(LABELS)},
        missing_ranges={"coded": [{"lo": -9.0, "hi": -5.0}]},
        variable_measure={v.name: str(v.measure) for v in variables},
        variable_format={v.name: v.format for v in variables if v.format is not None},
        row_compress=True,
    )
    stamp_header(reference, ctx.created_at)
    assert (tmp_path / "packed.sav").read_bytes() == reference.read_bytes()


def test_every_number_reads_back_bit_for_bit_after_packing(tmp_path: Path) -> None:
    variables = _variables()
    table = _Table("packed.sav", "packed", variables)
    rows = [_cells(row) for row in range(ROWS)]
    for row in rows:
        table.add(row)
    _write_sav(tmp_path / "packed.sav", table, context(all_forms()))
    read, meta = pyreadstat.read_sav(tmp_path / "packed.sav", user_missing=True)
    for i, variable in enumerate(variables):
        got = list(read[variable.name])
        if variable.is_string:
            assert got == [row[i] for row in rows]
            continue
        # Compared as 8 bytes, so NaN equals NaN. Row compression stores -0.0 as the whole
        # number 0 whoever writes it (the test above holds the bytes to a float writer's), so
        # -0.0 is expected back as 0.0.
        assert [struct.pack("<d", g) for g in got] == [
            struct.pack("<d", float(row[i]) + 0.0) for row in rows
        ], variable.name
    assert meta.variable_value_labels["coded"] == {0.0: "no", 1.0: "yes", -9.0: "missing"}
    assert meta.missing_ranges["coded"] == [{"lo": -9.0, "hi": -5.0}]
    assert meta.original_variable_types["coded"] == "F2.0"


@pytest.mark.parametrize("rows", [0, 1, _PACK_ROWS])
def test_a_table_at_a_pack_boundary_or_empty_keeps_every_row(tmp_path: Path, rows: int) -> None:
    variables = _variables()
    table = _Table("packed.sav", "packed", variables)
    for row in range(rows):
        table.add(_cells(row))
    _write_sav(tmp_path / "packed.sav", table, context(all_forms()))
    read, meta = pyreadstat.read_sav(tmp_path / "packed.sav")
    assert meta.number_rows in (rows, None)
    assert len(read) == rows
    assert list(read["small"]) == [float(row % 110 - 9) for row in range(rows)]


def test_each_number_column_is_held_in_the_narrowest_type_that_gives_every_value_back() -> None:
    # A signed byte holds -9 … 100; 200 + row needs two bytes; a quarter, NaN, -0.0 and 40000
    # fit a 4-byte float exactly; a tenth does not.
    table = _Table("packed.sav", "packed", _variables())
    for row in range(ROWS):
        table.add(_cells(row))
    held = [str(column.dtype) for column in table.columns()[:-1]]
    assert held == ["int8", "int16", "float64", "float32", "float32", "float32", "float32"]
