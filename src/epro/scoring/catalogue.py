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


def _chaq() -> list[ScoreSpec]:
    domains = [
        ScoreSpec(f"chaq_{d}", f"CHAQ domain score: {d}", "integer", "§2.1", "chaq")
        for d in DOMAINS
    ]
    return [
        *domains,
        ScoreSpec("chaq_di", "CHAQ disability index (0–3)", "decimal", "§2.1", "chaq"),
        ScoreSpec("chaq_domains_scored", "CHAQ domains scored", "integer", "§2.1", "chaq"),
    ]


_JAMAR: Final = [
    ScoreSpec("jafs_total", "JAFS total (0–30)", "integer", "§2.2", "jamar"),
    ScoreSpec("jafs_lower", "JAFS lower limbs (0–10)", "integer", "§2.2", "jamar"),
    ScoreSpec("jafs_hand", "JAFS hand and wrist (0–10)", "integer", "§2.2", "jamar"),
    ScoreSpec("jafs_upper", "JAFS upper segment (0–10)", "integer", "§2.2", "jamar"),
    ScoreSpec("prql_physical", "PRQL physical health (0–15)", "integer", "§2.2", "jamar"),
    ScoreSpec("prql_psychosocial", "PRQL psychosocial (0–15)", "integer", "§2.2", "jamar"),
    ScoreSpec("prql_total", "PRQL total (0–30)", "integer", "§2.2", "jamar"),
    ScoreSpec("jamar_joint_count", "JAMAR joint groups ticked", "integer", "§2.2", "jamar"),
]

_VAS: Final = [
    ScoreSpec("vas_pain", "VAS pain (0–100)", "integer", "§2.3", "vas_pain"),
    ScoreSpec("vas_wellbeing", "VAS well-being (0–100)", "integer", "§2.3", "vas_wellbeing"),
]

_CLINICIAN: Final = [
    ScoreSpec("phys_global", "Physician global assessment (0–10)", "decimal", "§2.4"),
    ScoreSpec("active_joints", "Active joints (0–71)", "integer", "§2.4"),
    ScoreSpec("active_joints_27", "Active joints, 27-joint set", "integer", "§2.4"),
    ScoreSpec("limited_joints", "Joints with limited motion (0–69)", "integer", "§2.4"),
    ScoreSpec("esr", "ESR (mm/h)", "decimal", "§2.4"),
]

_COMPOSITES: Final = [
    ScoreSpec("wb", "Global well-being used in composites (0–10)", "decimal", "§3"),
    ScoreSpec("esrn", "ESR normalised (0–10)", "decimal", "§3"),
    *(
        spec
        for name, label in (
            ("jadas71", "JADAS-71 (0–101)"),
            ("jadas27", "JADAS-27 (0–57)"),
            ("jadas10", "JADAS-10 (0–40)"),
            ("cjadas10", "cJADAS10 (0–30)"),
        )
        for spec in (
            ScoreSpec(name, label, "decimal", "§3"),
            ScoreSpec(f"{name}_category", f"{label}: activity category", "category", "§3"),
        )
    ),
]

_ACR: Final = [
    *(
        ScoreSpec(f"acr_change_{v}", f"ACR Pedi: % improvement of {v}", "decimal", "§4")
        for v in CORE_SET
    ),
    *(
        ScoreSpec(f"acr_pedi_{level}", f"ACR Pedi {level} responder", "flag", "§4")
        for level in (30, 50, 70, 90)
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
