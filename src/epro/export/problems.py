"""``problems.csv``: everything a data manager must look at, one row per finding, as found.

Kinds of row:

``rejected``
    a response that failed a check (:mod:`epro.export.verify`) and is not exported;
``superseded``
    a verified response that a later submission of the same form by the same respondent at
    the same visit replaces in the scores (it is exported, marked ``superseded``);
``conflict``
    a copy of a response id that reached the server with different content and was kept in
    quarantine (the first copy is the one exported, if it checks out);
``roster``
    a patient the server roster does not know, or whose birth month does not fit a visit
    date (ages are then unknown);
``scoring``
    a patient whose visits could not be scored (the responses are still exported);
``annotation``
    a data manager's mark (entered in error) on a response the bundle does not hold as a
    verified response of that patient: the mark changes nothing.

A response marked entered in error is not a problem: it is exported with that status and
its reason, and left out of the scores.

Rows are written as they are found, in the order patients are exported, so the file never
sits in memory; its columns never hold an answer.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from epro.closing import ClosedOnExit

FILE_NAME: Final = "problems.csv"
COLUMNS: Final = ("kind", "response_id", "device_id", "patient", "check", "reason")


class Kind(StrEnum):
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    CONFLICT = "conflict"
    ROSTER = "roster"
    SCORING = "scoring"
    ANNOTATION = "annotation"


@dataclass(frozen=True, slots=True)
class Problem:
    """One row of ``problems.csv``; ``response_id`` and ``device_id`` may be empty."""

    kind: Kind
    response_id: str
    device_id: str
    patient: str
    check: str
    reason: str


class ProblemsFile(ClosedOnExit):
    """Writes ``problems.csv`` in ``folder`` row by row and counts the rows of each kind."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE_NAME
        self._handle = self.path.open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._handle)
        self._csv.writerow(COLUMNS)
        self.counts = dict.fromkeys(Kind, 0)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def add(self, problem: Problem) -> None:
        self.counts[problem.kind] += 1
        self._csv.writerow(
            (
                problem.kind.value,
                problem.response_id,
                problem.device_id,
                problem.patient,
                problem.check,
                problem.reason,
            )
        )

    def close(self) -> None:
        self._handle.close()
