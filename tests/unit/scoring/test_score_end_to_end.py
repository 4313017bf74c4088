"""`epro score` end to end on hand-made visits, every expected number worked out by hand below.

The expected values are plain arithmetic on the answers, written out line by line from the
rules of instruments.md; nothing here calls the scorer except through the CLI.
"""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path
from typing import Any

import pytest

from epro.cli import main

INACTIVE, LOW, MODERATE, HIGH = 0, 1, 2, 3


def chaq_items(value: int | str) -> dict[str, Any]:
    counts = {"dress": 4, "arise": 2, "eat": 3, "walk": 2, "hygiene": 5, "reach": 4}
    counts |= {"grip": 5, "activ": 5}
    return {
        f"chaq_{domain}_{letter}": value
        for domain, count in counts.items()
        for letter in "abcde"[:count]
    }


# Visit: a 10-year-old (child self-report from 8, §2.1 and §3).
CHILD_CHAQ = {
    **chaq_items(0),
    # dress: 1, na, 0, skipped -> highest answered 1; dressing_aid raises it to 2
    "chaq_dress_a": 1,
    "chaq_dress_b": "na",
    "chaq_dress_d": "skipped",
    # arise: 0, 1 -> 1; help with arising raises it to 2
    "chaq_arise_b": 1,
    # eat: all na -> not scored, and builtup_utensils must not create a score
    "chaq_eat_a": "na",
    "chaq_eat_b": "na",
    "chaq_eat_c": "na",
    # walk: 3, 2 -> 3; walking_aid leaves a 3 at 3
    "chaq_walk_a": 3,
    "chaq_walk_b": 2,
    # hygiene: all 0 -> 0; the device "other" raises nothing
    # reach: 1, 1, absent, 0 -> 1
    "chaq_reach_a": 1,
    "chaq_reach_b": 1,
    # grip: 2, 0, 0, 0, 0 -> 2; jar_opener keeps it at 2
    "chaq_grip_a": 2,
    # activ: all 0 -> 0; help with activities raises it to 2
    "chaq_devices": ["dressing_aid", "builtup_utensils", "walking_aid", "other", "jar_opener"],
    "chaq_devices_other": "a tablet stand",
    "chaq_help": ["arise", "activ"],
    "chaq_pain_vas": 30,
    "chaq_wellbeing_vas": 45,
}
del CHILD_CHAQ["chaq_reach_c"]
# dress 2, arise 2, walk 3, hygiene 0, reach 1, grip 2, activ 2; eat unscored: 7 domains.
CHILD_DI = F(2 + 2 + 3 + 0 + 1 + 2 + 2, 7)

CHILD_JAMAR = {
    # lower limbs 01–05: 0 1 2 na 1 -> 4; hand 06–10: 2 2 1 0 0 -> 5; upper 11–15: 1 na na 0 2 -> 3
    **{f"jamar_jafs_{n:02d}": v for n, v in enumerate([0, 1, 2, "na", 1], start=1)},
    **{f"jamar_jafs_{n:02d}": v for n, v in enumerate([2, 2, 1, 0, 0], start=6)},
    **{f"jamar_jafs_{n:02d}": v for n, v in enumerate([1, "na", "na", 0, 2], start=11)},
    # PRQL physical 01–05: 1 2 3 0 1 -> 7; psychosocial 06–10: 0 0 1 2 3 -> 6
    **{f"jamar_prql_{n:02d}": v for n, v in enumerate([1, 2, 3, 0, 1, 0, 0, 1, 2, 3], start=1)},
    "jamar_pain": 3.5,
    "jamar_wellbeing": 4.5,
    "jamar_activity": 5,
    "jamar_joints": ["wrist", "knee", "ankle"],
    "jamar_stiffness": True,
    "jamar_stiffness_duration": "from_15_to_60_min",
}
# The parent's JAMAR lacks one JAFS item: its jafs_total is null, so the child's is used.
PARENT_JAMAR = {**CHILD_JAMAR, "jamar_jafs_03": "skipped", "jamar_joints": ["knee"]}


def visit_file() -> dict[str, Any]:
    return {
        "age": 10,
        "responses": [
            {"form": "chaq", "respondent": "child", "answers": CHILD_CHAQ},
            {"form": "chaq", "respondent": "parent", "answers": chaq_items(1)},
            {"form": "jamar", "respondent": "child", "answers": CHILD_JAMAR},
            {"form": "jamar", "respondent": "parent", "answers": PARENT_JAMAR},
            # The child skipped the well-being line and the parent answered it.
            {
                "form": "vas_wellbeing",
                "respondent": "child",
                "answers": {"vas_wellbeing": "skipped"},
            },
            {"form": "vas_wellbeing", "respondent": "parent", "answers": {"vas_wellbeing": 70}},
            {
                "form": "clinician",
                "respondent": "staff",
                "answers": {
                    "phys_global": 3.5,
                    "active_joints": 12,
                    "active_joints_27": 9,
                    "limited_joints": 6,
                    "esr": 57,
                    "jia_course": "poly",
                },
            },
        ],
    }


def baseline_file() -> dict[str, Any]:
    return {
        "age": 10,
        "responses": [
            {"form": "chaq", "respondent": "child", "answers": chaq_items(2)},
            {
                "form": "vas_wellbeing",
                "respondent": "child",
                "answers": {"vas_wellbeing": "skipped"},
            },
            {"form": "vas_wellbeing", "respondent": "parent", "answers": {"vas_wellbeing": 90}},
            {
                "form": "clinician",
                "answers": {
                    "phys_global": 5,
                    "active_joints": 20,
                    "active_joints_27": 15,
                    "limited_joints": 10,
                    "esr": 40,
                    "jia_course": "poly",
                },
            },
        ],
    }


def score(tmp_path: Path, capsys: pytest.CaptureFixture[str], *files: object) -> dict[str, Any]:
    paths = []
    for n, data in enumerate(files):
        path = tmp_path / f"visit{n}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        paths.append(str(path))
    argv = ["score", paths[0]] + (["--baseline", paths[1]] if len(paths) > 1 else [])
    assert main(argv) == 0
    output: dict[str, Any] = json.loads(capsys.readouterr().out)
    return output


@pytest.fixture
def scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    result: dict[str, Any] = score(tmp_path, capsys, visit_file(), baseline_file())["scores"]
    return result


def test_chaq_of_the_chosen_child(scores: dict[str, Any]) -> None:
    """§2.1: domain maxima, aids/help raise a scored domain to 2, never an unscored one."""
    assert [scores[f"chaq_{d}"] for d in ("dress", "arise", "eat", "walk")] == [2, 2, None, 3]
    assert [scores[f"chaq_{d}"] for d in ("hygiene", "reach", "grip", "activ")] == [0, 1, 2, 2]
    assert scores["chaq_domains_scored"] == 7
    assert scores["chaq_di"] == pytest.approx(12 / 7, abs=1e-12)
    assert scores["chaq_di"] == float(CHILD_DI)
    assert scores["chaq_di_parent"] == 1.0  # every item 1, no aids


def test_jamar_of_the_chosen_child(scores: dict[str, Any]) -> None:
    """§2.2: na counts 0; the parent's skipped item nulls only the parent's sums."""
    assert (scores["jafs_lower"], scores["jafs_hand"], scores["jafs_upper"]) == (4, 5, 3)
    assert scores["jafs_total"] == 4 + 5 + 3
    assert (scores["prql_physical"], scores["prql_psychosocial"]) == (7, 6)
    assert scores["prql_total"] == 13
    assert scores["jamar_joint_count"] == 3
    assert scores["jafs_total_parent"] is None
    assert scores["jafs_hand_parent"] == 5  # the skip is in 01–05 only
    assert scores["jafs_lower_parent"] is None


def test_wellbeing_and_jadas(scores: dict[str, Any]) -> None:
    """§3: vas_wellbeing is answered (by the parent), so it wins over the child's CHAQ and
    JAMAR well-being; esrn = (57 − 20) / 10 = 3.7; the four formulas; poly cut-offs."""
    wb = F(70, 10)
    esrn = F(57 - 20, 10)
    assert scores["wb"] == 7.0
    assert scores["esrn"] == float(esrn)
    assert scores["jadas71"] == float(F("3.5") + wb + 12 + esrn)  # 26.2
    assert scores["jadas27"] == float(F("3.5") + wb + 9 + esrn)  # 23.2
    assert scores["jadas10"] == float(F("3.5") + wb + 10 + esrn)  # 24.2, joints capped at 10
    assert scores["cjadas10"] == float(F("3.5") + wb + 10)  # 20.5, no ESR
    for name in ("jadas71", "jadas27", "jadas10", "cjadas10"):
        assert scores[f"{name}_category"] == HIGH  # all above 10.5 / 8.5


def test_acr_pedi_against_the_baseline(scores: dict[str, Any]) -> None:
    """§4: phys_global 5 → 3.5 is exactly 30 % (counts), joints 20 → 12 and limited 10 → 6 are
    40 %, ESR 40 → 57 is 42.5 % worse (the one allowed worsening): Pedi 30 yes, Pedi 50 no."""
    base_di = F(2)  # every baseline item 2, eight domains
    assert scores["acr_change_phys_global"] == float((F(5) - F("3.5")) / 5 * 100)  # 30
    assert scores["acr_change_wb"] == float((F(9) - F(7)) / 9 * 100)  # 22.2
    assert scores["acr_change_chaq_di"] == float((base_di - CHILD_DI) / base_di * 100)  # 14.3
    assert scores["acr_change_active_joints"] == float(F(20 - 12, 20) * 100)  # 40
    assert scores["acr_change_limited_joints"] == float(F(10 - 6, 10) * 100)  # 40
    assert scores["acr_change_esr"] == float(F(40 - 57, 40) * 100)  # -42.5
    assert scores["acr_pedi_30"] is True
    assert scores["acr_pedi_50"] is False
    assert scores["acr_pedi_70"] is False
    assert scores["acr_pedi_90"] is False


def test_a_second_worsened_variable_takes_the_response_away(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§4: at most 1 worsened. Baseline wb 9 → visit wb 7 is fine, but limited_joints 4 → 6 is
    50 % worse; with ESR 42.5 % worse that makes two, so no response at any level."""
    base = baseline_file()
    base["responses"][3]["answers"]["limited_joints"] = 4
    result = score(tmp_path, capsys, visit_file(), base)["scores"]
    assert result["acr_change_limited_joints"] == float(F(4 - 6, 4) * 100)  # -50
    assert [result[f"acr_pedi_{level}"] for level in (30, 50, 70, 90)] == [False] * 4


def test_low_activity_visit_lands_on_the_cutoffs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§3: only JAMAR well-being given, by both at age 7.5: wb is the parent's (child from 8),
    although the plain JAMAR scores are the child's (child version from 7, §2.2).
    jadas10 = 0.5 + 3 + 0 + 0.7 = 4.2 is 'moderate' for oligo (≤ 4.2), not 'high'."""
    child = {"jamar_wellbeing": 1, "jamar_joints": ["knee"]}
    parent = {"jamar_wellbeing": 3, "jamar_joints": []}
    visit = {
        "age": 7.5,
        "responses": [
            {"form": "jamar", "respondent": "child", "answers": child},
            {"form": "jamar", "respondent": "parent", "answers": parent},
            {
                "form": "clinician",
                "answers": {
                    "phys_global": 0.5,
                    "active_joints": 0,
                    "active_joints_27": 0,
                    "limited_joints": 0,
                    "esr": 27,
                    "jia_course": "oligo",
                },
            },
        ],
    }
    output = score(tmp_path, capsys, visit)
    result, notes = output["scores"], output["notes"]
    wb, esrn = F(3), F(27 - 20, 10)
    assert result["wb"] == 3.0
    assert result["jamar_joint_count"] == 1  # the child's JAMAR (from 7)
    assert result["jadas10"] == float(F("0.5") + wb + 0 + esrn) == 4.2
    assert result["jadas10_category"] == MODERATE
    assert result["jadas71_category"] == MODERATE
    assert result["jadas27_category"] == MODERATE
    assert result["cjadas10"] == float(F("0.5") + wb + 0) == 3.5
    assert result["cjadas10_category"] == MODERATE  # oligo: > 1.5 and ≤ 4
    assert "chaq_di" not in result  # no CHAQ at this visit
    assert result["acr_pedi_30"] is None
    assert notes["acr_pedi_30"] == "no baseline visit given"
