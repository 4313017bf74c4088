"""The outcomes the trial reports, and the visits its efficacy table compares.

The trial (instruments.md §1) reports each outcome at baseline, at week 8 and at the end of the
study. Both the analysis (``analysis/``) and the SPSS syntax that reruns it take the outcomes
and visits from here, so the two can only agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Outcome:
    """A reported outcome: the score it is read from and a label for tables and figures."""

    score: str
    label: str


OUTCOMES: Final[tuple[Outcome, ...]] = (
    Outcome("vas_wellbeing", "VAS well-being (0–100)"),
    Outcome("vas_pain", "VAS pain (0–100)"),
    Outcome("chaq_di", "CHAQ disability index (0–3)"),
    Outcome("jafs_total", "JAFS (0–30)"),
    Outcome("prql_total", "Quality of life, PRQL (0–30)"),
    Outcome("phys_global", "Physician global (0–10)"),
    Outcome("active_joints", "Active joints"),
    Outcome("limited_joints", "Joints with limited motion"),
    Outcome("esr", "ESR (mm/h)"),
    Outcome("jadas71", "JADAS-71"),
    Outcome("cjadas10", "cJADAS10"),
)

#: The week of the trial's interim comparison.
INTERIM_WEEK: Final = 8


@dataclass(frozen=True, slots=True)
class Comparison:
    """Baseline against one later visit."""

    name: str
    label: str
    baseline: str
    visit: str


def comparisons(visit_weeks: Mapping[str, int], baseline: str) -> tuple[Comparison, ...]:
    """Baseline vs week 8 and baseline vs the last visit of the protocol."""
    by_week = {week: code for code, week in visit_weeks.items()}
    interim = by_week.get(INTERIM_WEEK)
    last = max(visit_weeks, key=lambda code: visit_weeks[code])
    found = []
    if interim is not None and interim != baseline:
        found.append(Comparison("week8", f"baseline vs week {INTERIM_WEEK}", baseline, interim))
    if last != baseline and last != interim:
        found.append(
            Comparison(
                "end", f"baseline vs end of study (week {visit_weeks[last]})", baseline, last
            )
        )
    return tuple(found)
