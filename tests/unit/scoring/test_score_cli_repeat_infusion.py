"""`epro score` with "visit" and --previous: the repeat-infusion rule of instruments.md §4.1,
the same as the export computes it (``score_patient``) on the same answers."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from epro.cli import main
from epro.forms import load_forms, validate_answers
from epro.scoring import VisitResponse
from epro.scoring.chaq import DOMAINS
from epro.scoring.trial import score_patient

AGE = 12  # the child answers the CHAQ and the VAS (§2.1, §2.3)


def visit_file(
    core: tuple[float, float, float, int, int, float],
    *,
    visit: str | None,
    treated: bool | None = False,
) -> dict[str, Any]:
    """A visit's JSON from its core set (phys_global, wb, chaq_di, joints, limited, esr)."""
    phys, wb, chaq_di, active, limited, esr = core
    low, extra = divmod(int(Fraction(repr(chaq_di)) * 8), 8)
    chaq = {items[0]: low + (n < extra) for n, items in enumerate(DOMAINS.values())}
    clinician: dict[str, Any] = {
        "phys_global": phys,
        "active_joints": active,
        "active_joints_27": min(active, 27),
        "limited_joints": limited,
        "esr": esr,
        "jia_course": "poly",
    }
    if treated is not None:
        clinician["disqualifying_treatment"] = treated
    data: dict[str, Any] = {
        "age": AGE,
        "responses": [
            {"form": "chaq", "respondent": "child", "answers": chaq},
            {
                "form": "vas_wellbeing",
                "respondent": "child",
                "answers": {"vas_wellbeing": round(wb * 10)},
            },
            {"form": "clinician", "answers": clinician},
        ],
    }
    if visit is not None:
        data["visit"] = visit
    return data


# instruments.md §4.1 worked check.
V1 = (6, 7, 1.5, 10, 8, 40)
V2 = (3, 4, 1.25, 5, 8, 42)
V3 = (5, 6, 1.5, 9, 8, 40)


def write(tmp_path: Path, name: str, data: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def score(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code = main(["score", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(["score", *argv])
    out, err = capsys.readouterr()
    assert code != 0
    assert out == ""
    assert err.startswith("epro: ")
    assert "Traceback" not in err
    return err


def three_visits(tmp_path: Path, v3: dict[str, Any] | None = None) -> list[str]:
    base = write(tmp_path, "v1.json", visit_file(V1, visit="V1"))
    prev = write(tmp_path, "v2.json", visit_file(V2, visit="V2"))
    now = write(tmp_path, "v3.json", v3 or visit_file(V3, visit="V3"))
    return [now, "--baseline", base, "--previous", prev]


def test_worked_check_is_eligible_at_v3_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§4.1 worked check: Pedi 30 at V2, lost at V3 → eligible under "lost_response"."""
    output = score(capsys, *three_visits(tmp_path))
    assert output["scores"]["repeat_infusion_eligible"] is True
    assert output["scores"]["repeat_infusion_reason"] == "ACR Pedi 30 at V2, lost at V3"
    assert output["scores"]["acr_pedi_30"] is False
    assert "repeat_infusion_eligible" not in output["notes"]


def test_the_cli_gives_the_exports_numbers_on_the_same_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§4.1 and DESIGN §9: every score and note of V3 from `epro score` equals what
    ``score_patient`` (the export's scoring) gives for the patient's V1, V2 and V3."""
    forms = load_forms()
    files = {
        code: visit_file(core, visit=code)
        for code, core in zip(("V1", "V2", "V3"), (V1, V2, V3), strict=True)
    }
    output = score(capsys, *three_visits(tmp_path, files["V3"]))
    visits = {
        code: [
            VisitResponse(
                r["form"], r.get("respondent"), validate_answers(forms[r["form"]], r["answers"])
            )
            for r in data["responses"]
        ]
        for code, data in files.items()
    }
    export = score_patient(visits, ages=dict.fromkeys(visits, float(AGE)))["V3"]
    assert output == json.loads(json.dumps({"scores": export.scores, "notes": export.notes}))


def test_flare_is_chosen_with_waning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """§4.1 waning "flare": from V2, chaq_di 1.25 → 1.75 (exactly 40 % worse) and limited
    joints 8 → 12 (50 % worse) flare, though against V1 the patient is still an ACR Pedi 30
    responder at V3 (phys_global, wb, active joints ≥ 30 % better; only limited joints worse)."""
    flare = visit_file((3, 4, 1.75, 5, 12, 42), visit="V3")
    argv = three_visits(tmp_path, flare)
    lost = score(capsys, *argv)["scores"]
    assert (lost["repeat_infusion_eligible"], lost["repeat_infusion_reason"]) == (
        False,
        "ACR Pedi 30 at V2, kept at V3",
    )
    flared = score(capsys, *argv, "--waning", "flare")["scores"]
    assert (flared["repeat_infusion_eligible"], flared["repeat_infusion_reason"]) == (
        True,
        "ACR Pedi 30 at V2, flare at V3",
    )


def test_v5_reads_v4_as_the_previous_visit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§4.1 "the same at V5 with V4 and V5"."""
    base = write(tmp_path, "v1.json", visit_file(V1, visit=None))
    prev = write(tmp_path, "v4.json", visit_file(V2, visit="V4"))
    now = write(tmp_path, "v5.json", visit_file(V3, visit="V5", treated=True))
    output = score(capsys, now, "--baseline", base, "--previous", prev)
    assert output["scores"]["repeat_infusion_eligible"] is False
    assert output["scores"]["repeat_infusion_reason"] == (
        "disqualifying treatment since the last infusion"
    )


def test_a_missing_previous_visit_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§4.1: null names what is missing where; no --previous is no data at V2."""
    base = write(tmp_path, "v1.json", visit_file(V1, visit=None))
    now = write(tmp_path, "v3.json", visit_file(V3, visit="V3", treated=None))
    output = score(capsys, now, "--baseline", base)
    assert output["scores"]["repeat_infusion_eligible"] is None
    reason = "missing: no data at V2, disqualifying_treatment at V3"
    assert output["scores"]["repeat_infusion_reason"] == reason
    assert output["notes"]["repeat_infusion_eligible"] == reason


@pytest.mark.parametrize("code", ["V2", "V4", "V6", "V8"])
def test_other_visits_give_null_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], code: str
) -> None:
    """§4.1 "No other visit is ever eligible"."""
    base = write(tmp_path, "v1.json", visit_file(V1, visit=None))
    now = write(tmp_path, "now.json", visit_file(V3, visit=code))
    output = score(capsys, now, "--baseline", base)
    assert output["scores"]["repeat_infusion_eligible"] is None
    assert output["scores"]["repeat_infusion_reason"] is None
    assert output["notes"]["repeat_infusion_eligible"] == (
        "a repeat infusion is decided only at V3 and V5"
    )


def test_without_visit_there_are_no_repeat_infusion_scores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write(tmp_path, "v1.json", visit_file(V1, visit=None))
    now = write(tmp_path, "v3.json", visit_file(V3, visit=None))
    output = score(capsys, now, "--baseline", base)
    assert output["scores"]["acr_pedi_30"] is False
    assert not any(name.startswith("repeat_infusion") for name in output["scores"])


def test_a_study_protocol_decides_which_visits_the_rule_applies_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], forms_dir: Path
) -> None:
    """§4.1 visits from the protocol: a study naming V4 "possible repeat infusion" decides
    there, after V3."""
    text = (forms_dir / "study.toml").read_text(encoding="utf-8")
    text = text.replace('"Week 8, possible repeat infusion"', '"Week 8"')
    text = text.replace('"Week 12"', '"Week 12, possible repeat infusion"')
    study = tmp_path / "study.toml"
    study.write_text(text, encoding="utf-8")
    base = write(tmp_path, "v1.json", visit_file(V1, visit="V1"))
    prev = write(tmp_path, "v3.json", visit_file(V2, visit="V3"))
    now = write(tmp_path, "v4.json", visit_file(V3, visit="V4"))
    argv = [now, "--baseline", base, "--previous", prev, "--study", str(study)]
    output = score(capsys, *argv)
    assert output["scores"]["repeat_infusion_reason"] == "ACR Pedi 30 at V3, lost at V4"


def test_help_names_the_new_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    out = capsys.readouterr().out
    for fragment in ("--previous PREV.json", "--waning", "lost_response", "flare", '"visit"'):
        assert fragment in out


def test_previous_without_a_visit_code_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prev = write(tmp_path, "v2.json", visit_file(V2, visit="V2"))
    now = write(tmp_path, "v3.json", visit_file(V3, visit=None))
    err = refused(capsys, now, "--previous", prev)
    assert '--previous needs the visit\'s code; add "visit"' in err


def test_previous_at_a_visit_that_decides_nothing_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prev = write(tmp_path, "v1.json", visit_file(V1, visit=None))
    now = write(tmp_path, "v2.json", visit_file(V2, visit="V2"))
    err = refused(capsys, now, "--previous", prev)
    assert "only read at a possible repeat-infusion visit (V3, V5); V2 is not one" in err


WRONG_CODES = [
    pytest.param("previous", "V1", "the response visit is V2", id="previous is not V2"),
    pytest.param("baseline", "V2", "the baseline visit is V1", id="baseline is not V1"),
]


@pytest.mark.parametrize(("which", "code", "fragment"), WRONG_CODES)
def test_a_file_naming_the_wrong_visit_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str, code: str, fragment: str
) -> None:
    base = write(tmp_path, "v1.json", visit_file(V1, visit=code if which == "baseline" else None))
    prev = write(tmp_path, "v2.json", visit_file(V2, visit=code if which == "previous" else None))
    now = write(tmp_path, "v3.json", visit_file(V3, visit="V3"))
    err = refused(capsys, now, "--baseline", base, "--previous", prev)
    assert f'"visit" is {code}, but {fragment}' in err


def test_the_baseline_visit_with_baseline_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write(tmp_path, "base.json", visit_file(V1, visit=None))
    now = write(tmp_path, "v1.json", visit_file(V1, visit="V1"))
    assert "is the baseline visit V1; leave out --baseline" in refused(
        capsys, now, "--baseline", base
    )


def test_a_disqualifying_treatment_that_is_not_yes_or_no_names_the_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = visit_file(V3, visit="V3")
    data["responses"][2]["answers"]["disqualifying_treatment"] = "yes"
    err = refused(capsys, *three_visits(tmp_path, data))
    assert "disqualifying_treatment" in err
