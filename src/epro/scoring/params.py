"""Every "Rule:" of instruments.md that a study may change, as one frozen parameter set.

The defaults are the decisions instruments.md makes. A study that scores differently passes its
own :class:`ScoringParams`; the values used are part of what a score means, so exports should
record them next to the scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Final, Literal, get_args

from epro.errors import EproError

#: The well-being sources of instruments.md §3, in fallback order.
WELLBEING_SOURCES: Final = ("vas_wellbeing", "chaq_wellbeing_vas", "jamar_wellbeing")

#: §4.1: how the waning of a response is judged at the visit after it.
Waning = Literal["lost_response", "flare"]
WANING_RULES: Final[tuple[str, ...]] = get_args(Waning)

#: §4.1: (response visit, following visit) pairs of the trial: a response at V2 (V4) that
#: wanes at V3 (V5). The study protocol names V3 and V5 "possible repeat infusion".
REPEAT_INFUSION_VISITS: Final = (("V2", "V3"), ("V4", "V5"))


@dataclass(frozen=True, slots=True)
class ScoringParams:
    """Scoring decisions (instruments.md "Rule:" lines), defaults as written there."""

    #: §2.1: chaq_di needs at least this many scored domains (Stanford HAQ convention).
    chaq_min_domains: int = 6
    #: §2.1 aids/help: a scored domain with an aid or help is raised to at least this score.
    chaq_aid_floor: int = 2
    #: §2.1 respondent: the child's CHAQ is the one used from this age (years), else the parent's.
    chaq_child_age: float = 8
    #: §2.2: a JAFS (sub)score is null when more than this many of its items are skipped or
    #: absent; the rule is 0. Above 0, missing items count 0 (no proration).
    jafs_max_missing: int = 0
    #: §2.2: the child's JAMAR is the one used for the plain score names from this age.
    jamar_child_age: float = 7
    #: §2.3: the child's stand-alone VAS is the one used from this age.
    vas_child_age: float = 8
    #: §3: when child and parent both gave well-being, the child's is used from this age.
    wellbeing_child_age: float = 8
    #: §3: where ``wb`` comes from, first available wins.
    wellbeing_sources: tuple[str, ...] = WELLBEING_SOURCES
    #: §4: the ACR Pedi levels reported (percent improvement).
    acr_levels: tuple[int, ...] = (30, 50, 70, 90)
    #: §4 worsening: a variable has worsened when it got worse by MORE than this percentage.
    acr_worsening_limit: int = 30
    #: §4: responder needs at least this many improved variables ...
    acr_min_improved: int = 3
    #: §4: ... and at most this many worsened ones.
    acr_max_worsened: int = 1
    #: §4 zero baseline: 0 → anything above 0 counts as worsened.
    acr_zero_baseline_worsens: bool = True
    #: §4: how many of the six core-set variables must be known at both visits (rule: all six).
    acr_required_variables: int = 6
    #: §4.1 waning: "lost_response" (no longer ACR Pedi 30 against the baseline at the following
    #: visit) or "flare" (the preliminary JIA flare definition between the two visits).
    waning: Waning = "lost_response"
    #: §4.1: the (response visit, following visit) pairs; a repeat infusion is decided at the
    #: following visits only.
    repeat_infusion_visits: tuple[tuple[str, str], ...] = REPEAT_INFUSION_VISITS
    #: §4.1 flare: a variable has flared when it got worse by AT LEAST this percentage ...
    flare_worsening: int = 40
    #: ... a flare needs at least this many such variables ...
    flare_min_worsened: int = 2
    #: ... and at most this many of the others improved by at least ``flare_improvement`` %.
    flare_max_improved: int = 1
    flare_improvement: int = 30

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.chaq_min_domains <= 8:
            problems.append("chaq_min_domains must be between 1 and 8")
        if not 0 <= self.chaq_aid_floor <= 3:
            problems.append("chaq_aid_floor must be between 0 and 3")
        if not 0 <= self.jafs_max_missing <= 5:
            problems.append("jafs_max_missing must be between 0 and 5")
        unknown = [s for s in self.wellbeing_sources if s not in WELLBEING_SOURCES]
        if unknown or not self.wellbeing_sources:
            problems.append(f"wellbeing_sources must be drawn from {', '.join(WELLBEING_SOURCES)}")
        if not self.acr_levels or any(not 0 < level <= 100 for level in self.acr_levels):
            problems.append("acr_levels must be percentages between 1 and 100")
        if self.acr_worsening_limit < 0:
            problems.append("acr_worsening_limit must be 0 or more")
        if not 1 <= self.acr_required_variables <= 6:
            problems.append("acr_required_variables must be between 1 and 6")
        if not 0 <= self.acr_min_improved <= self.acr_required_variables:
            problems.append("acr_min_improved must be between 0 and acr_required_variables")
        if self.acr_max_worsened < 0:
            problems.append("acr_max_worsened must be 0 or more")
        problems.extend(self._repeat_infusion_problems())
        if problems:
            raise EproError("invalid scoring parameters: " + "; ".join(problems))

    def _repeat_infusion_problems(self) -> list[str]:
        problems = []
        if self.waning not in WANING_RULES:
            problems.append(f"waning must be one of {', '.join(WANING_RULES)}")
        pairs = self.repeat_infusion_visits
        shapes_ok = all(
            isinstance(pair, tuple)
            and len(pair) == 2
            and all(isinstance(code, str) and code for code in pair)
            for pair in pairs
        )
        if not shapes_ok:
            problems.append(
                "repeat_infusion_visits must be (response visit, following visit) pairs of "
                "visit codes, e.g. (('V2', 'V3'), ('V4', 'V5'))"
            )
        elif any(response == following for response, following in pairs):
            problems.append("repeat_infusion_visits: a response visit cannot follow itself")
        elif len({following for _, following in pairs}) != len(pairs):
            problems.append("repeat_infusion_visits: each following visit may appear only once")
        if self.flare_worsening < 0 or self.flare_improvement < 0:
            problems.append("flare_worsening and flare_improvement must be 0 or more")
        if not 1 <= self.flare_min_worsened <= 6:
            problems.append("flare_min_worsened must be between 1 and 6")
        if self.flare_max_improved < 0:
            problems.append("flare_max_improved must be 0 or more")
        return problems

    @property
    def worsening_limit(self) -> Fraction:
        return Fraction(self.acr_worsening_limit)


DEFAULT_PARAMS: Final = ScoringParams()
