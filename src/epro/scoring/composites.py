"""JADAS composites and disease-activity categories (instruments.md §3).

Inputs are exact fractions, so a score that lands on a cut-off (4.2, 10.5 …) is categorised
by the cut-off and not by a binary rounding error; scores leave as floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from epro.scoring.result import ScoreResult, ScoreSheet, missing_note

#: Category codes stored in the scores (ordinal, higher = more active).
INACTIVE, LOW, MODERATE, HIGH = 0, 1, 2, 3
CATEGORY_LABELS: Final = ("inactive", "low", "moderate", "high")
COURSES: Final = ("oligo", "poly")


def esr_normalised(esr: Fraction) -> Fraction:
    """``clamp((esr − 20) / 10, 0, 10)``: ESR below 20 adds nothing, above 120 adds 10."""
    return min(max((esr - 20) / 10, Fraction(0)), Fraction(10))


@dataclass(frozen=True, slots=True)
class Composite:
    """One JADAS variant: which joint count, its cap, and whether ESR is included."""

    name: str
    joints: str
    cap: int
    with_esr: bool

    @property
    def inputs(self) -> tuple[str, ...]:
        base = ("phys_global", "wb", self.joints)
        return (*base, "esr") if self.with_esr else base

    def value(self, present: Mapping[str, Fraction]) -> Fraction:
        """The score from its inputs (all present)."""
        total = (
            present["phys_global"] + present["wb"] + min(present[self.joints], Fraction(self.cap))
        )
        if self.with_esr:
            total += esr_normalised(present["esr"])
        return total


COMPOSITES: Final = (
    Composite("jadas71", "active_joints", 71, with_esr=True),
    Composite("jadas27", "active_joints_27", 27, with_esr=True),
    Composite("jadas10", "active_joints", 10, with_esr=True),
    Composite("cjadas10", "active_joints", 10, with_esr=False),
)

# Upper bounds of inactive / low / moderate (a score above the last is high), Consolaro.
_F = Fraction
CUTOFFS: Final[dict[tuple[str, str], tuple[Fraction, Fraction, Fraction]]] = {
    ("jadas10", "oligo"): (_F(1), _F(2), _F("4.2")),
    ("jadas10", "poly"): (_F(1), _F("3.8"), _F("10.5")),
    ("jadas71", "oligo"): (_F(1), _F(2), _F("4.2")),
    ("jadas71", "poly"): (_F(1), _F("3.8"), _F("10.5")),
    ("jadas27", "oligo"): (_F(1), _F(2), _F("4.2")),
    ("jadas27", "poly"): (_F(1), _F("3.8"), _F("8.5")),
    ("cjadas10", "oligo"): (_F(1), _F("1.5"), _F(4)),
    ("cjadas10", "poly"): (_F(1), _F("2.5"), _F("8.5")),
}


def activity_category(score: str, course: str, value: Fraction) -> int:
    """The category code (0 inactive … 3 high) of a JADAS value for an oligo or poly course."""
    for code, upper in enumerate(CUTOFFS[score, course]):
        if value <= upper:
            return code
    return HIGH


def score_composites(inputs: Mapping[str, Fraction | None], course: str | None) -> ScoreResult:
    """Each JADAS and its category; ``inputs`` holds phys_global, wb, the joint counts, esr."""
    sheet = ScoreSheet()
    for composite in COMPOSITES:
        present = {n: v for n in composite.inputs if (v := inputs.get(n)) is not None}
        lacking = [name for name in composite.inputs if name not in present]
        category = f"{composite.name}_category"
        if lacking:
            sheet.put(composite.name, None, missing_note(lacking))
            sheet.put(category, None, missing_note([*lacking, *([] if course else ["jia_course"])]))
            continue
        value = composite.value(present)
        sheet.put(composite.name, value)
        if course is None:
            sheet.put(category, None, missing_note(["jia_course"]))
        else:
            sheet.put(category, activity_category(composite.name, course, value))
    return sheet.result()
