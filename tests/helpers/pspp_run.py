"""Running GNU PSPP on syntax and reading the tables it prints, for the SPSS export's tests.

``pspp -O format=csv -o OUT.csv FILE.sps`` prints every output table as ``Table: <title>``
followed by its rows as CSV and a blank line; ``ECHO`` text and messages (``error: …``,
``warning: …``) come as rows of one field.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PSPP = shutil.which("pspp")
needs_pspp = pytest.mark.skipif(
    PSPP is None, reason="GNU PSPP is not installed (Debian/Ubuntu: apt-get install pspp)"
)


@dataclass
class Table:
    title: str
    rows: list[list[str]] = field(default_factory=list)
    #: The last ECHO text before the table.
    echo: str = ""


@dataclass
class Output:
    tables: list[Table]
    #: Rows of one field that are not table titles: ECHO text and PSPP's messages.
    lines: list[str]

    def named(self, title: str) -> list[Table]:
        return [t for t in self.tables if t.title == title]

    @property
    def problems(self) -> list[str]:
        return [line for line in self.lines if "error:" in line or "warning:" in line]


def run_pspp(syntax: Path, cwd: Path, out: Path) -> Output:
    """Run PSPP on ``syntax`` in ``cwd``; its tables as CSV go to ``out``. Fails on an error."""
    assert PSPP is not None
    done = subprocess.run(
        [PSPP, "-O", "format=csv", "-o", str(out), str(syntax)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    parsed = parse_output(out.read_text(encoding="utf-8") if out.exists() else "")
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    assert not parsed.problems, parsed.problems
    return parsed


def parse_output(text: str) -> Output:
    tables: list[Table] = []
    lines: list[str] = []
    current: Table | None = None
    echo = ""
    for row in csv.reader(text.splitlines()):
        if not row:
            current = None
            continue
        if len(row) == 1 and row[0].startswith("Table: "):
            current = Table(row[0].removeprefix("Table: "), echo=echo)
            tables.append(current)
            continue
        if current is None:
            lines.append(row[0])
            echo = row[0]
            continue
        current.rows.append(row)
    return Output(tables, lines)


def number(text: str) -> float:
    """A number as PSPP prints it (``-.73``, ``1.000``, ``NaN``, ``1.2E-005``)."""
    return float(text.replace("E-0", "E-").replace("E+0", "E+"))


def decimals(text: str) -> int:
    """Digits after the decimal point of a printed number: its precision."""
    mantissa = text.split("E")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0
