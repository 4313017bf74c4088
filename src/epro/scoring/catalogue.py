"""Every score epro computes, described once: name, label, kind and the rule that defines it.

Exports, codebooks and the analysis take their score columns from :data:`SCORES` so that every
file lists the same scores in the same order, whatever a given visit happened to have. A score
computed per respondent when several answered is also given as ``<name>_<respondent>``
(:func:`score_columns`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from epro.scoring.acr_pedi import CORE_SET
from epro.scoring.chaq import DOMAINS

ScoreKind = Literal["decimal", "integer", "flag", "category", "text"]


@dataclass(frozen=True, slots=True)
class ScoreSpec:
    """One score: ``rule`` is the section of instruments.md that defines it."""

    name: str
    label: str
    kind: ScoreKind
    rule: str
    #: The form whose respondents give per-respondent copies (``chaq_di_parent``), if any.
    per_respondent_of: str | None = None
    #: The rule in one or two sentences, as instruments.md states it (for codebooks).
    definition: str = ""


_DOMAIN_LABELS: Final = {
    "dress": "dressing and grooming",
    "arise": "arising",
    "eat": "eating",
    "walk": "walking",
    "hygiene": "hygiene",
    "reach": "reach",
    "grip": "grip",
    "activ": "activities",
}


def _chaq() -> list[ScoreSpec]:
    domains = [
        ScoreSpec(
            f"chaq_{d}",
            f"CHAQ domain score: {d}",
            "integer",
            "§2.1",
            "chaq",
            definition=f"The highest answered item score (0–3) of the {_DOMAIN_LABELS[d]} "
            "domain, raised to at least 2 when an aid or help is ticked for it. Not applicable, "
            "skipped and unanswered items are left out; a domain with no scored item is null.",
        )
        for d in DOMAINS
    ]
    return [
        *domains,
        ScoreSpec(
            "chaq_di",
            "CHAQ disability index (0–3)",
            "decimal",
            "§2.1",
            "chaq",
            definition="The mean of the scored domain scores (0–3, higher = worse), unrounded. "
            "Null when fewer than 6 of the 8 domains are scored.",
        ),
        ScoreSpec(
            "chaq_domains_scored",
            "CHAQ domains scored",
            "integer",
            "§2.1",
            "chaq",
            definition="The number of CHAQ domains (0–8) with at least one scored item.",
        ),
    ]


def _jamar_sum(name: str, label: str, definition: str) -> ScoreSpec:
    """A JAMAR item sum (§2.2): a whole number from the jamar form."""
    return ScoreSpec(name, label, "integer", "§2.2", "jamar", definition=definition)


def _jafs(name: str, label: str, items: str) -> ScoreSpec:
    return _jamar_sum(
        name,
        label,
        f"The sum of JAFS items {items} (0 without difficulty, 1 with difficulty, "
        "2 unable; 'not possible because of age' counts 0). Null if any of them is skipped or "
        "unanswered.",
    )


def _prql(name: str, label: str, items: str) -> ScoreSpec:
    return _jamar_sum(
        name,
        label,
        f"The sum of PRQL items {items} (0 never … 3 all of the time, higher = "
        "worse). Null if any of them is missing.",
    )


_JAMAR: Final = [
    _jafs("jafs_total", "JAFS total (0–30)", "01–15"),
    _jafs("jafs_lower", "JAFS lower limbs (0–10)", "01–05 (lower limbs)"),
    _jafs("jafs_hand", "JAFS hand and wrist (0–10)", "06–10 (hand and wrist)"),
    _jafs("jafs_upper", "JAFS upper segment (0–10)", "11–15 (upper segment)"),
    _prql("prql_physical", "PRQL physical health (0–15)", "01–05 (physical health)"),
    _prql("prql_psychosocial", "PRQL psychosocial (0–15)", "06–10 (psychosocial)"),
    _prql("prql_total", "PRQL total (0–30)", "01–10"),
    ScoreSpec(
        "jamar_joint_count",
        "JAMAR joint groups ticked",
        "integer",
        "§2.2",
        "jamar",
        definition="The number of joint groups ticked as painful or swollen in the JAMAR.",
    ),
]

_VAS: Final = [
    ScoreSpec(
        "vas_pain",
        "VAS pain (0–100)",
        "integer",
        "§2.3",
        "vas_pain",
        definition="The stand-alone pain VAS as answered (0 no pain … 100 worst pain); the "
        "child's from 8 years, otherwise the parent's.",
    ),
    ScoreSpec(
        "vas_wellbeing",
        "VAS well-being (0–100)",
        "integer",
        "§2.3",
        "vas_wellbeing",
        definition="The stand-alone well-being VAS as answered (0 very well … 100 very poor); "
        "the child's from 8 years, otherwise the parent's.",
    ),
]

_ENTERED: Final = "as entered on the clinician form; the value the composites and ACR Pedi use."

_CLINICIAN: Final = [
    ScoreSpec(
        "phys_global",
        "Physician global assessment (0–10)",
        "decimal",
        "§2.4",
        definition="The physician's global assessment of disease activity (0–10 in steps of "
        f"0.5), {_ENTERED}",
    ),
    ScoreSpec(
        "active_joints",
        "Active joints (0–71)",
        "integer",
        "§2.4",
        definition=f"The number of joints with active arthritis (0–71), {_ENTERED}",
    ),
    ScoreSpec(
        "active_joints_27",
        "Active joints, 27-joint set",
        "integer",
        "§2.4",
        definition=f"The active joints among the 27 of the JADAS-27 set (0–27), {_ENTERED}",
    ),
    ScoreSpec(
        "limited_joints",
        "Joints with limited motion (0–69)",
        "integer",
        "§2.4",
        definition=f"The number of joints with limited range of motion (0–69), {_ENTERED}",
    ),
    ScoreSpec(
        "esr",
        "ESR (mm/h)",
        "decimal",
        "§2.4",
        definition=f"The erythrocyte sedimentation rate in mm/h, {_ENTERED}",
    ),
]

_JADAS: Final = (
    (
        "jadas71",
        "JADAS-71 (0–101)",
        "physician global + well-being (wb) + active joints (up to 71) + normalised ESR",
    ),
    (
        "jadas27",
        "JADAS-27 (0–57)",
        "physician global + well-being (wb) + active joints of the 27-joint set + normalised ESR",
    ),
    (
        "jadas10",
        "JADAS-10 (0–40)",
        "physician global + well-being (wb) + active joints capped at 10 + normalised ESR",
    ),
    (
        "cjadas10",
        "cJADAS10 (0–30)",
        "physician global + well-being (wb) + active joints capped at 10, without ESR",
    ),
)

_COMPOSITES: Final = [
    ScoreSpec(
        "wb",
        "Global well-being used in composites (0–10)",
        "decimal",
        "§3",
        definition="The well-being VAS ÷ 10 (the child's from 8 years when both answered), else "
        "the CHAQ well-being VAS ÷ 10, else the JAMAR well-being (0–10, higher = worse).",
    ),
    ScoreSpec(
        "esrn",
        "ESR normalised (0–10)",
        "decimal",
        "§3",
        definition="(ESR − 20) ÷ 10, held between 0 and 10: an ESR below 20 mm/h adds 0 and one "
        "above 120 mm/h adds 10.",
    ),
    *(
        spec
        for name, label, formula in _JADAS
        for spec in (
            ScoreSpec(
                name,
                label,
                "decimal",
                "§3",
                definition=f"The sum {formula}. Null, naming the inputs, when any is missing.",
            ),
            ScoreSpec(
                f"{name}_category",
                f"{label}: activity category",
                "category",
                "§3",
                definition=f"{label.split(' (')[0]} as a disease-activity category (0 inactive, "
                "1 low, 2 moderate, 3 high) by the Consolaro cut-offs for the oligoarticular or "
                "polyarticular course (jia_course). Null when the score or the course is missing.",
            ),
        )
    ),
]

_ACR: Final = [
    *(
        ScoreSpec(
            f"acr_change_{v}",
            f"ACR Pedi: % improvement of {v}",
            "decimal",
            "§4",
            definition=f"The improvement of {v} from the baseline visit (V1), (baseline − visit) "
            "÷ baseline × 100 %, positive = better; 0 → 0 is 0. Null when the baseline is 0 and "
            "the visit is not, which counts as worsened.",
        )
        for v in CORE_SET
    ),
    *(
        ScoreSpec(
            f"acr_pedi_{level}",
            f"ACR Pedi {level} responder",
            "flag",
            "§4",
            definition=f"At least 3 of the 6 core-set variables improved by at least {level} % "
            "against the baseline visit (V1) and at most 1 worse by more than 30 %, compared "
            "exactly. Null unless all six are known at both visits.",
        )
        for level in (30, 50, 70, 90)
    ),
]

_REPEAT_INFUSION: Final = [
    ScoreSpec(
        "repeat_infusion_eligible",
        "Repeat infusion: eligible",
        "flag",
        "§4.1",
        definition="At V3 (V5): true when ACR Pedi 30 at V2 (V4) against V1 is met, the effect "
        "wanes at V3 (V5) — no longer ACR Pedi 30 against V1, or with waning 'flare' a flare by "
        "the preliminary JIA definition since V2 (V4) — and no biologic or intra-articular "
        "steroid injection was given since the last infusion. Null, naming the missing inputs "
        "and their visits, when undecided, and null at every other visit.",
    ),
    ScoreSpec(
        "repeat_infusion_reason",
        "Repeat infusion: reason",
        "text",
        "§4.1",
        definition="A plain sentence saying why repeat_infusion_eligible is what it is, e.g. "
        "'ACR Pedi 30 at V2, lost at V3', 'no ACR Pedi 30 at V2', 'disqualifying treatment "
        "since the last infusion', or which inputs are missing at which visit.",
    ),
]

#: Every score, in the order exports list them.
SCORES: Final[tuple[ScoreSpec, ...]] = (
    *_chaq(),
    *_JAMAR,
    *_VAS,
    *_CLINICIAN,
    *_COMPOSITES,
    *_ACR,
    *_REPEAT_INFUSION,
)


def score_columns(respondents: Sequence[str] = ("parent", "child")) -> list[tuple[str, ScoreSpec]]:
    """Every score column: each score, then its per-respondent copies where it has them."""
    columns: list[tuple[str, ScoreSpec]] = []
    for spec in SCORES:
        columns.append((spec.name, spec))
    for spec in SCORES:
        if spec.per_respondent_of is not None:
            columns.extend((f"{spec.name}_{who}", spec) for who in respondents)
    return columns
