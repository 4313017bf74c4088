"""Repeat-infusion eligibility, the trial's decision rule (instruments.md §4.1).

A repeat infusion is decided at the visit that follows a response visit (V3 after V2, V5 after
V4): eligible when ACR Pedi 30 at the response visit (against the baseline V1) is true, the
effect wanes at the following visit, and ``disqualifying_treatment`` at the following visit is
not true. No other visit is ever eligible.

Rules chosen here (instruments.md leaves them open; each is tested):

- The three conditions combine like "and" over yes / no / unknown: one condition known to fail
  makes the patient not eligible whatever is missing elsewhere (no value of the missing inputs
  could make them eligible); eligible needs all three known; otherwise the decision is null.
- An unanswered or skipped ``disqualifying_treatment`` is unknown, not "no": the rule never
  calls a patient eligible while nobody has said whether a biologic or a joint injection was
  given. (Clinician form 1.0.0 has no such item, so its visits decide no or null, never yes.)
- The reason of "not eligible" names the first of the response and the waning that fails, in
  that order, and the disqualifying treatment whenever it was given, joined by "; ". The
  reason of a null decision is ``"missing: …"``, each input with the visits it is missing at
  (``"esr at V1 and V3"``), or ``"no data at V2"`` for a visit without responses; the same
  text is the note of the null ``repeat_infusion_eligible``.
- The flare, like ACR Pedi, needs ``acr_required_variables`` (all six) known at both visits.

Everything here is pure: core-set values in, two scores out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from typing import Final, Protocol

from epro.errors import EproError
from epro.scoring.acr_pedi import CORE_SET, Change, core_changes, responder
from epro.scoring.flare import is_flare
from epro.scoring.params import DEFAULT_PARAMS, ScoringParams
from epro.scoring.result import ScoreResult, ScoreSheet

ELIGIBLE: Final = "repeat_infusion_eligible"
REASON: Final = "repeat_infusion_reason"
#: The ACR Pedi level of the rule, whatever levels a study reports.
RESPONSE_LEVEL: Final = 30
DISQUALIFYING: Final = "disqualifying_treatment"
#: What a protocol visit's name contains when a repeat infusion is possible there.
PROTOCOL_MARK: Final = "repeat infusion"
#: A gap that is a whole visit rather than one of its inputs.
_WHOLE_VISIT: Final = ""


@dataclass(frozen=True, slots=True)
class VisitCoreSet:
    """The six core-set values of one visit; ``values`` is None when the visit has no data."""

    visit: str
    values: Mapping[str, Fraction | None] | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """One visit against an earlier one."""

    before: VisitCoreSet
    after: VisitCoreSet

    def gaps(self) -> list[tuple[str, str]]:
        """Every missing input as (variable, visit); a visit without data is one gap."""
        found: list[tuple[str, str]] = []
        for side in (self.before, self.after):
            if side.values is None:
                found.append((_WHOLE_VISIT, side.visit))
                continue
            found.extend((name, side.visit) for name in CORE_SET if side.values.get(name) is None)
        return found

    def changes(self, params: ScoringParams) -> dict[str, Change] | None:
        """The changes, or None when fewer variables are known than the rule needs (§4)."""
        if self.before.values is None or self.after.values is None:
            return None
        changes = core_changes(self.before.values, self.after.values, params)
        return changes if len(changes) >= params.acr_required_variables else None


@dataclass(frozen=True, slots=True)
class InfusionInputs:
    """What the decision at one following visit reads.

    ``response`` is the baseline against the response visit (V1 → V2), ``kept`` the baseline
    against the following visit (V1 → V3, for waning "lost_response") and ``between`` the
    response visit against the following visit (V2 → V3, for waning "flare"). The baseline's
    values may differ between ``response`` and ``kept``: ACR Pedi compares like with like, so
    the baseline's well-being and CHAQ come from the same source and respondent as the later
    visit's.
    """

    response: Comparison
    kept: Comparison
    between: Comparison
    #: The following visit's answer; None when not answered.
    disqualifying_treatment: bool | None

    @property
    def response_visit(self) -> str:
        return self.response.after.visit

    @property
    def following_visit(self) -> str:
        return self.kept.after.visit

    @property
    def baseline_visit(self) -> str:
        return self.response.before.visit


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def missing_text(gaps: Sequence[tuple[str, str]], visit_order: Sequence[str]) -> str:
    """``"missing: esr at V1 and V3, disqualifying_treatment at V3"``, inputs in rule order."""
    order = [_WHOLE_VISIT, *CORE_SET, DISQUALIFYING]
    by_name: dict[str, list[str]] = {}
    for name, visit in gaps:
        visits = by_name.setdefault(name, [])
        if visit not in visits:
            visits.append(visit)
    whole = set(by_name.get(_WHOLE_VISIT, []))
    parts = []
    for name in sorted(by_name, key=order.index):
        # Inputs of a visit without data are not listed one by one.
        visits = sorted(by_name[name], key=visit_order.index)
        if name == _WHOLE_VISIT:
            parts.append(f"no data at {_join(visits)}")
        elif kept := [v for v in visits if v not in whole]:
            parts.append(f"{name} at {_join(kept)}")
    return "missing: " + ", ".join(parts)


def _responded(comparison: Comparison, params: ScoringParams) -> bool | None:
    changes = comparison.changes(params)
    return None if changes is None else responder(changes, RESPONSE_LEVEL, params)


def _wanes(inputs: InfusionInputs, params: ScoringParams) -> tuple[bool | None, Comparison]:
    if params.waning == "flare":
        changes = inputs.between.changes(params)
        return (None if changes is None else is_flare(changes, params)), inputs.between
    kept = _responded(inputs.kept, params)
    return (None if kept is None else not kept), inputs.kept


def _not_eligible_reason(
    inputs: InfusionInputs, responded: bool | None, wanes: bool | None, params: ScoringParams
) -> str:
    r, f = inputs.response_visit, inputs.following_visit
    parts = []
    if responded is False:
        parts.append(f"no ACR Pedi 30 at {r}")
    elif wanes is False and params.waning == "flare":
        parts.append(
            f"ACR Pedi 30 at {r}, no flare at {f}" if responded else f"no flare between {r} and {f}"
        )
    elif wanes is False:
        parts.append(
            f"ACR Pedi 30 at {r}, kept at {f}"
            if responded
            else f"ACR Pedi 30 at {f}, so the effect has not waned"
        )
    if inputs.disqualifying_treatment is True:
        parts.append("disqualifying treatment since the last infusion")
    return "; ".join(parts)


def decide(inputs: InfusionInputs, params: ScoringParams = DEFAULT_PARAMS) -> ScoreResult:
    """``repeat_infusion_eligible`` (true / false / null) and ``repeat_infusion_reason``."""
    responded = _responded(inputs.response, params)
    wanes, waning_comparison = _wanes(inputs, params)
    treated = inputs.disqualifying_treatment
    sheet = ScoreSheet()
    if responded is False or wanes is False or treated is True:
        sheet.put(ELIGIBLE, False)
        sheet.put(REASON, _not_eligible_reason(inputs, responded, wanes, params))
    elif responded and wanes and treated is False:
        how = "flare" if params.waning == "flare" else "lost"
        sheet.put(ELIGIBLE, True)
        sheet.put(
            REASON, f"ACR Pedi 30 at {inputs.response_visit}, {how} at {inputs.following_visit}"
        )
    else:
        gaps = [
            *(inputs.response.gaps() if responded is None else []),
            *(waning_comparison.gaps() if wanes is None else []),
            *([(DISQUALIFYING, inputs.following_visit)] if treated is None else []),
        ]
        order = [inputs.baseline_visit, inputs.response_visit, inputs.following_visit]
        text = missing_text(gaps, order)
        sheet.put(ELIGIBLE, None, text)
        sheet.put(REASON, text)
    return sheet.result()


def not_decided(following_visits: Sequence[str]) -> ScoreResult:
    """The two scores at a visit where no repeat infusion is decided: null, saying where it is."""
    if following_visits:
        note = f"a repeat infusion is decided only at {_join(list(following_visits))}"
    else:
        note = "no visit of the protocol is a possible repeat-infusion visit"
    sheet = ScoreSheet()
    sheet.put(ELIGIBLE, None, note)
    sheet.put(REASON, None, note)
    return sheet.result()


class ProtocolVisit(Protocol):
    """A protocol visit as :mod:`epro.schedule` describes it (only what the rule reads)."""

    @property
    def code(self) -> str: ...

    @property
    def name(self) -> str: ...


def visits_from_protocol(
    visits: Sequence[ProtocolVisit], baseline_visit: str
) -> tuple[tuple[str, str], ...]:
    """The (response visit, following visit) pairs of a protocol, visits in protocol order.

    A visit whose name says "possible repeat infusion" is a following visit; its response
    visit is the protocol visit just before it, which must come after the baseline.
    """
    pairs = []
    if visits and PROTOCOL_MARK in visits[0].name.lower():
        raise EproError(
            f"visit {visits[0].code} is named a possible repeat infusion but is the first "
            "visit; a repeat infusion follows a response at an earlier visit"
        )
    seen_baseline = False
    for before, visit in pairwise(visits):
        seen_baseline = seen_baseline or before.code == baseline_visit
        if PROTOCOL_MARK not in visit.name.lower():
            continue
        if not seen_baseline or before.code == baseline_visit:
            raise EproError(
                f"visit {visit.code} is named a possible repeat infusion, but the visit before "
                f"it ({before.code}) is not after the baseline visit {baseline_visit}; ACR "
                "Pedi 30 needs a response visit after the baseline"
            )
        pairs.append((before.code, visit.code))
    return tuple(pairs)


def params_for_protocol(
    visits: Sequence[ProtocolVisit], baseline_visit: str, params: ScoringParams = DEFAULT_PARAMS
) -> ScoringParams:
    """``params`` with the repeat-infusion visits of this protocol."""
    pairs = visits_from_protocol(visits, baseline_visit)
    return dataclasses.replace(params, repeat_infusion_visits=pairs)
