"""The preliminary JIA flare definition between two visits (instruments.md §4.1).

Brunner et al., J Rheumatol 2002;29:1058-64: a flare is a worsening by at least 40 % in at
least 2 of the 6 core-set variables, with no more than 1 of the remaining variables improving
by at least 30 %. The changes are those of ACR Pedi (§4), so its zero rules hold here too: 0 → 0
is no change, 0 → more counts as worsened, and a zero start never counts as improved. All
arithmetic is on fractions, so a worsening of exactly 40 % is a flare variable.
"""

from __future__ import annotations

from collections.abc import Mapping

from epro.scoring.acr_pedi import Change
from epro.scoring.params import DEFAULT_PARAMS, ScoringParams


def flared(change: Change, params: ScoringParams = DEFAULT_PARAMS) -> bool:
    """Worse by at least ``flare_worsening`` % (a zero start that rose counts as worse)."""
    if change.improvement is None:
        # The percentage is undefined; §4 decides that such a rise counts as worsened.
        return params.acr_zero_baseline_worsens
    return -change.improvement >= params.flare_worsening


def is_flare(changes: Mapping[str, Change], params: ScoringParams = DEFAULT_PARAMS) -> bool:
    """A flare between the two visits whose ``changes`` are given (one per variable known)."""
    worse = [name for name, change in changes.items() if flared(change, params)]
    better = [
        name
        for name, change in changes.items()
        if name not in worse and change.improved_at(params.flare_improvement)
    ]
    return len(worse) >= params.flare_min_worsened and len(better) <= params.flare_max_improved
