"""ACR Pediatric 30/50/70/90 against the baseline visit (instruments.md §4).

All arithmetic is on fractions: an improvement of exactly 30 % is 30 %, not 29.999… %.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from epro.scoring.params import DEFAULT_PARAMS, ScoringParams
from epro.scoring.result import ScoreResult, ScoreSheet

#: The six core-set variables, all "higher = worse".
CORE_SET: Final = ("phys_global", "wb", "chaq_di", "active_joints", "limited_joints", "esr")

ZERO_BASELINE_ONLY: Final = "baseline is 0, so a percentage is undefined"
ZERO_BASELINE_NOTE: Final = ZERO_BASELINE_ONLY + " (counts as worsened)"


def change_name(variable: str) -> str:
    """The score holding a variable's percent improvement, e.g. ``acr_change_esr``."""
    return f"acr_change_{variable}"


def level_name(level: int) -> str:
    return f"acr_pedi_{level}"


@dataclass(frozen=True, slots=True)
class Change:
    """One variable between baseline and visit."""

    #: Percent improvement, positive = better; None when the baseline is 0 and the visit is not.
    improvement: Fraction | None
    worsened: bool

    def improved_at(self, level: int) -> bool:
        # A zero baseline never counts as improved (its improvement is 0 or undefined).
        return self.improvement is not None and self.improvement >= level


def compare(baseline: Fraction, visit: Fraction, params: ScoringParams = DEFAULT_PARAMS) -> Change:
    """Percent improvement and the worsening rule for one core-set variable."""
    if baseline == 0:
        # 0 → 0 is no change; 0 → more is worse by an undefined percentage.
        if visit == 0:
            return Change(Fraction(0), worsened=False)
        return Change(None, worsened=params.acr_zero_baseline_worsens)
    improvement = (baseline - visit) / baseline * 100
    # Worsened means worse by MORE than the limit: exactly 30 % worse is not worsened.
    return Change(improvement, worsened=-improvement > params.worsening_limit)


CoreSet = Mapping[str, Fraction | None]


def core_changes(
    baseline: CoreSet, visit: CoreSet, params: ScoringParams = DEFAULT_PARAMS
) -> dict[str, Change]:
    """The change of every core-set variable known at both visits, in core-set order."""
    changes: dict[str, Change] = {}
    for variable in CORE_SET:
        before, after = baseline.get(variable), visit.get(variable)
        if before is not None and after is not None:
            changes[variable] = compare(before, after, params)
    return changes


def responder(changes: Mapping[str, Change], level: int, params: ScoringParams) -> bool:
    """ACR Pedi ``level``: at least 3 improved at the level and at most 1 worsened."""
    improved = sum(change.improved_at(level) for change in changes.values())
    worsened = sum(change.worsened for change in changes.values())
    return improved >= params.acr_min_improved and worsened <= params.acr_max_worsened


def score_acr_pedi(
    baseline: CoreSet | None,
    visit: CoreSet,
    params: ScoringParams = DEFAULT_PARAMS,
) -> ScoreResult:
    """``acr_pedi_<level>`` for every level and ``acr_change_<variable>`` for the six."""
    sheet = ScoreSheet()
    levels = [level_name(level) for level in params.acr_levels]
    if baseline is None:
        for name in [*levels, *map(change_name, CORE_SET)]:
            sheet.put(name, None, "no baseline visit given")
        return sheet.result()

    changes = core_changes(baseline, visit, params)
    lacking: list[str] = []
    note = ZERO_BASELINE_NOTE if params.acr_zero_baseline_worsens else ZERO_BASELINE_ONLY
    for variable in CORE_SET:
        if variable in changes:
            sheet.put(change_name(variable), changes[variable].improvement, note)
            continue
        gaps = [w for w, v in (("baseline", baseline), ("visit", visit)) if v.get(variable) is None]
        lacking.append(f"{variable} ({', '.join(gaps)})")
        sheet.put(change_name(variable), None, f"missing: {variable} at {' and '.join(gaps)}")

    if len(changes) < params.acr_required_variables:
        for name in levels:
            sheet.put(name, None, "missing: " + ", ".join(lacking))
        return sheet.result()
    for level in params.acr_levels:
        sheet.put(level_name(level), responder(changes, level, params))
    return sheet.result()
