"""The error catalogue of form files: coded, located, actionable problems.

Every check in the loader produces a :class:`Problem` with a stable code (``F001`` …), the file,
the item it concerns, what is wrong and how to fix it. The loader collects *all* problems of a
file before it gives up; warnings never stop a load.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from epro.errors import FormError


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    source: str
    message: str
    fix: str
    item: str | None = None
    severity: Severity = Severity.ERROR
    suggestion: str | None = None

    def __str__(self) -> str:
        where = self.source if self.item is None else f"{self.source}, item {self.item}"
        text = f"{where}: [{self.code}] {self.message} — {self.fix}"
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        if self.severity is Severity.WARNING:
            text = "warning: " + text
        return text


class FormProblems(FormError):
    """Raised when a form file has at least one error; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity is Severity.ERROR]
        super().__init__("\n".join(str(p) for p in errors) or "invalid form")
