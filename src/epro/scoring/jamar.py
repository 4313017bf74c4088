"""JAMAR scoring (instruments.md §2.2): JAFS function, PRQL quality of life, joint count."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from epro.scoring import answers as read
from epro.scoring.answers import Answers
from epro.scoring.params import DEFAULT_PARAMS, ScoringParams
from epro.scoring.result import ScoreResult, ScoreSheet, missing_note


def _numbered(prefix: str, first: int, last: int) -> tuple[str, ...]:
    return tuple(f"{prefix}_{n:02d}" for n in range(first, last + 1))


#: JAFS areas: lower limbs 01–05, hand & wrist 06–10, upper segment 11–15 (0–2 each item).
JAFS_AREAS: Final[dict[str, tuple[str, ...]]] = {
    "jafs_lower": _numbered("jamar_jafs", 1, 5),
    "jafs_hand": _numbered("jamar_jafs", 6, 10),
    "jafs_upper": _numbered("jamar_jafs", 11, 15),
}
JAFS_ITEMS: Final = _numbered("jamar_jafs", 1, 15)
JAFS_TOP: Final = 2

#: PRQL: physical health 01–05, psychosocial 06–10 (0–3 each item).
PRQL_PARTS: Final[dict[str, tuple[str, ...]]] = {
    "prql_physical": _numbered("jamar_prql", 1, 5),
    "prql_psychosocial": _numbered("jamar_prql", 6, 10),
}
PRQL_ITEMS: Final = _numbered("jamar_prql", 1, 10)
PRQL_TOP: Final = 3

#: The 21-circle scales (pain, well-being, activity): 0.0–10.0 in steps of 0.5.
CIRCLES_TOP: Final = 10
CIRCLES_STEP: Final = 0.5


def _jafs_sum(answers: Answers, items: Sequence[str]) -> tuple[int, list[str]]:
    total, lacking = 0, []
    for item in items:
        why = read.missing(answers, item)
        if why == "na":
            continue  # "not possible because of age" counts 0 (instruments.md §2.2)
        score = read.code(answers, item, JAFS_TOP)
        if score is None:
            lacking.append(item)
        else:
            total += score
    return total, lacking


def _prql_sum(answers: Answers, items: Sequence[str]) -> tuple[int, list[str]]:
    total, lacking = 0, []
    for item in items:
        # The PRQL offers no "not applicable": na, skipped and absent all leave a gap.
        score = read.code(answers, item, PRQL_TOP) if read.missing(answers, item) is None else None
        if score is None:
            lacking.append(item)
        else:
            total += score
    return total, lacking


def score_jamar(answers: Answers, params: ScoringParams = DEFAULT_PARAMS) -> ScoreResult:
    """JAFS total and areas, PRQL parts and total, and the number of joint groups ticked."""
    sheet = ScoreSheet()
    for name, items in {"jafs_total": JAFS_ITEMS, **JAFS_AREAS}.items():
        total, lacking = _jafs_sum(answers, items)
        ok = len(lacking) <= params.jafs_max_missing
        sheet.put(name, total if ok else None, missing_note(lacking))
    for name, items in {**PRQL_PARTS, "prql_total": PRQL_ITEMS}.items():
        total, lacking = _prql_sum(answers, items)
        sheet.put(name, None if lacking else total, missing_note(lacking))
    if read.missing(answers, "jamar_joints") is None:
        sheet.put("jamar_joint_count", len(set(read.codes(answers, "jamar_joints"))))
    else:
        sheet.put("jamar_joint_count", None, missing_note(["jamar_joints"]))
    # Read only to reject values off the 21-circle scales early.
    for scale in ("jamar_pain", "jamar_wellbeing", "jamar_activity"):
        read.number(answers, scale, 0, CIRCLES_TOP, step=CIRCLES_STEP)
    return sheet.result()
