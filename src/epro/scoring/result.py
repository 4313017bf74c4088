"""What scoring returns: named scores (unrounded) and, for each null score, why it is null."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

#: A score: a number (unrounded), a count or category code, a yes/no, a plain sentence (the
#: reason of a decision, e.g. ``repeat_infusion_reason``), or null with a note.
ScoreValue = float | int | bool | str | None


@dataclass(frozen=True)
class ScoreResult:
    """Scores by the names of instruments.md; ``notes`` explains every null score."""

    scores: dict[str, ScoreValue] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def merged(self, other: ScoreResult) -> ScoreResult:
        """This result with ``other``'s scores added (``other`` wins on a shared name)."""
        notes = {k: v for k, v in self.notes.items() if k not in other.scores}
        return ScoreResult({**self.scores, **other.scores}, {**notes, **other.notes})


def missing_note(names: Iterable[str]) -> str:
    """The note of a score that lacks inputs, e.g. ``"missing: esr, wb"``."""
    return "missing: " + ", ".join(names)


class ScoreSheet:
    """Collects scores while they are computed; exact fractions become floats on the way out."""

    def __init__(self) -> None:
        self._scores: dict[str, ScoreValue] = {}
        self._notes: dict[str, str] = {}

    def put(
        self, name: str, value: Fraction | float | int | bool | str | None, note: str | None = None
    ) -> None:
        if value is None:
            # A null without a reason is useless to a data manager; insist on one.
            if not note:
                raise ValueError(f"score {name} is null without a note")
            self._notes[name] = note
            self._scores[name] = None
            return
        self._notes.pop(name, None)
        self._scores[name] = float(value) if isinstance(value, Fraction) else value

    def add(self, result: ScoreResult, suffix: str = "") -> None:
        """Every score of ``result``, each name with ``suffix`` appended."""
        for name, value in result.scores.items():
            self.put(name + suffix, value, result.notes.get(name))

    def result(self) -> ScoreResult:
        return ScoreResult(dict(self._scores), dict(self._notes))
