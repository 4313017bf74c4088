"""The efficacy table's rows, computed from every patient's values of every outcome at every visit.

The values arrive as one array, patients × outcomes × visits, NaN where a patient has no value
(the visit is missing, the score is null). Each comparison pairs the patients with a value at
both of its visits; each visit's summary takes every patient with a value there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from epro.export.analysis.stats import PairedComparison, Summary, compare_paired, summarise
from epro.export.outcomes import Comparison, Outcome


@dataclass(frozen=True, slots=True)
class EfficacyRow:
    """One outcome compared between baseline and one later visit."""

    outcome: Outcome
    comparison: Comparison
    result: PairedComparison


@dataclass(frozen=True, slots=True)
class VisitRow:
    """One outcome at one visit, over every patient with a value there."""

    outcome: Outcome
    visit: str
    week: int
    summary: Summary


def efficacy_rows(
    values: NDArray[np.float64],
    outcomes: Sequence[Outcome],
    visits: Sequence[str],
    comparisons: Sequence[Comparison],
) -> list[EfficacyRow]:
    """Every outcome × comparison, outcomes in their order, comparisons within each."""
    column = {code: i for i, code in enumerate(visits)}
    rows = []
    for o, outcome in enumerate(outcomes):
        for comparison in comparisons:
            baseline = values[:, o, column[comparison.baseline]]
            visit = values[:, o, column[comparison.visit]]
            both = ~np.isnan(baseline) & ~np.isnan(visit)
            pairs = list(zip(baseline[both].tolist(), visit[both].tolist(), strict=True))
            rows.append(EfficacyRow(outcome, comparison, compare_paired(pairs)))
    return rows


def visit_rows(
    values: NDArray[np.float64],
    outcomes: Sequence[Outcome],
    visit_weeks: Mapping[str, int],
) -> list[VisitRow]:
    """Every outcome at every visit of the protocol, in protocol order."""
    rows = []
    for o, outcome in enumerate(outcomes):
        for v, (code, week) in enumerate(visit_weeks.items()):
            column = values[:, o, v]
            present = column[~np.isnan(column)].tolist()
            rows.append(VisitRow(outcome, code, week, summarise(present)))
    return rows
