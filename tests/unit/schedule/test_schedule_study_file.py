"""The study protocol file: the shipped one matches instruments.md §1–2, broken ones are coded."""

from __future__ import annotations

from pathlib import Path

import pytest

from epro.forms.errors import FormProblems, Severity
from epro.schedule import STUDY_CODES, RespondentMode, Study, load_study, parse_study

VALID = """
[study]
id = "DEMO-STUDY"
title = "A small protocol"
baseline_visit = "V1"
min_age_years = 4
max_age_years = 18

[[visits]]
code = "V0"
week = -2
window_before_days = 3
window_after_days = 3
kiosk = false
forms = ["clinician"]

[[visits]]
code = "V1"
week = 0
window_before_days = 2
window_after_days = 0
forms = ["chaq", "clinician"]

[[visits]]
code = "V2"
week = 4
window_before_days = 3
window_after_days = 3
forms = ["chaq"]

[respondents.chaq]
mode = "single"
rules = [
    { respondent = "parent", below_age = 8 },
    { respondent = "child", from_age = 8 },
]

[respondents.clinician]
mode = "single"
rules = [{ respondent = "staff" }]
"""


def _codes(text: str) -> list[str]:
    with pytest.raises(FormProblems) as caught:
        parse_study(text, "study.toml")
    return [p.code for p in caught.value.problems if p.severity is Severity.ERROR]


def _edit(old: str, new: str) -> str:
    assert old in VALID, old  # the edit must change something, or the test proves nothing
    return VALID.replace(old, new, 1)


BROKEN = [
    pytest.param(VALID + "[[visits\n", "S001", id="S001-not-toml"),
    pytest.param(_edit('title = "A small protocol"\n', ""), "S002", id="S002-title-missing"),
    pytest.param(_edit("week = 4", 'week = "four"'), "S003", id="S003-week-not-a-number"),
    pytest.param(_edit("week = 4", "week = true"), "S003", id="S003-week-boolean"),
    pytest.param(
        _edit("kiosk = false", "kisok = false"),
        "S004",
        id="S004-typo-key",
    ),
    pytest.param(
        VALID.split("[[visits]]")[0] + VALID[VALID.index("[respondents.chaq]") :],
        "S005",
        id="S005-no-visits",
    ),
    pytest.param(_edit('code = "V2"', 'code = "V1"'), "S006", id="S006-duplicate-code"),
    pytest.param(_edit("week = 4", "week = -4"), "S007", id="S007-weeks-out-of-order"),
    pytest.param(
        _edit("week = 4\nwindow_before_days = 3", "week = 4\nwindow_before_days = -3"),
        "S008",
        id="S008-negative-window",
    ),
    pytest.param(
        _edit("week = 4\nwindow_before_days = 3", "week = 1\nwindow_before_days = 7"),
        "S009",
        id="S009-windows-overlap",
    ),
    pytest.param(
        _edit('baseline_visit = "V1"', 'baseline_visit = "V10"'),
        "S010",
        id="S010-baseline-visit-missing",
    ),
    pytest.param(
        _edit('code = "V0"', 'code = "V0b"').replace(
            'baseline_visit = "V1"', 'baseline_visit = "V0b"'
        ),
        "S011",
        id="S011-baseline-not-week-0",
    ),
    pytest.param(
        _edit('forms = ["chaq"]', 'forms = ["chaq", "chaq"]'), "S013", id="S013-form-twice"
    ),
    pytest.param(_edit('forms = ["chaq"]', "forms = []"), "S013", id="S013-no-form"),
    pytest.param(
        _edit('forms = ["chaq"]', 'forms = ["chaq", "jamar"]'),
        "S014",
        id="S014-form-without-respondents",
    ),
    pytest.param(
        _edit('respondent = "child"', 'respondent = "kid"'), "S015", id="S015-unknown-respondent"
    ),
    pytest.param(_edit('mode = "single"', 'mode = "one"'), "S015", id="S015-unknown-mode"),
    pytest.param(_edit("below_age = 8", "below_age = 0"), "S016", id="S016-empty-age-band"),
    pytest.param(_edit("below_age = 8", "below_age = 9"), "S017", id="S017-rules-overlap"),
    pytest.param(_edit("below_age = 8", "below_age = 7"), "S018", id="S018-gap-7-to-8"),
    pytest.param(
        _edit(
            '{ respondent = "parent", below_age = 8 }',
            '{ respondent = "parent", from_age = 2, below_age = 8 }',
        ),
        "S018",
        id="S018-gap-below-2",
    ),
    pytest.param(
        _edit("max_age_years = 18", "max_age_years = 3"), "S019", id="S019-age-range-upside-down"
    ),
    pytest.param(
        _edit('kiosk = false\nforms = ["clinician"]', 'kiosk = false\nforms = ["chaq"]'),
        "S020",
        id="S020-patient-form-without-kiosk",
    ),
    pytest.param(
        _edit('baseline_visit = "V1"', 'baseline_visit = "V1"\nstudy_key_fingerprint = "abc"'),
        "S022",
        id="S022-fingerprint-too-short",
    ),
    pytest.param(
        _edit(
            'baseline_visit = "V1"',
            'baseline_visit = "V1"\nstudy_key_fingerprint = "' + "zz" * 16 + '"',
        ),
        "S022",
        id="S022-fingerprint-not-hex",
    ),
]


def test_a_study_key_fingerprint_is_read_as_people_copy_it() -> None:
    digits = "0123456789ABCDEF" * 4
    grouped = "sha256:" + "-".join(digits[i : i + 4] for i in range(0, 64, 4))
    text = _edit(
        'baseline_visit = "V1"', f'baseline_visit = "V1"\nstudy_key_fingerprint = "{grouped}"'
    )
    assert parse_study(text).study_key_fingerprint == digits.lower()
    assert parse_study(VALID).study_key_fingerprint == ""


@pytest.mark.parametrize(("text", "code"), BROKEN)
def test_broken_study_text_gives_its_coded_problem_and_no_other(text: str, code: str) -> None:
    assert _codes(text) == [code]


def test_every_catalogued_code_is_checked_by_a_test_here() -> None:
    # S000, S012 and S021 have their own tests below.
    tested = {str(param.values[1]) for param in BROKEN} | {"S000", "S012", "S021"}
    assert tested == set(STUDY_CODES)


def test_the_valid_text_used_by_these_tests_is_valid() -> None:
    study = parse_study(VALID)
    assert [v.code for v in study.visits] == ["V0", "V1", "V2"]


def test_unknown_form_id_is_reported_with_a_suggestion_when_form_ids_are_known() -> None:
    text = _edit('forms = ["chaq"]', 'forms = ["chaq", "jammar"]')
    with pytest.raises(FormProblems) as caught:
        parse_study(text, "study.toml", known_forms={"chaq", "jamar", "clinician"})
    problem = next(p for p in caught.value.problems if p.code == "S012")
    assert problem.suggestion == "jamar"
    assert "jammar" in str(problem)
    # the unknown form is not reported a second time as "no respondent rules"
    assert "S014" not in [p.code for p in caught.value.problems]


def test_all_problems_are_collected_each_naming_the_file_and_the_fix() -> None:
    text = (
        _edit('code = "V2"', 'code = "V1"')
        .replace("window_before_days = 2", "window_before_days = -2")
        .replace("below_age = 8", "below_age = 7")
    )
    with pytest.raises(FormProblems) as caught:
        parse_study(text, "forms/study.toml")
    codes = {p.code for p in caught.value.problems}
    assert {"S006", "S008", "S018"} <= codes
    message = str(caught.value)
    assert message.count("forms/study.toml") == len(caught.value.problems)
    assert all(p.fix for p in caught.value.problems)


def test_a_typo_in_a_key_suggests_the_right_key() -> None:
    with pytest.raises(FormProblems) as caught:
        parse_study(_edit("window_after_days = 3\nforms", "window_afterdays = 3\nforms"))
    problem = next(p for p in caught.value.problems if p.code == "S004")
    assert problem.suggestion == "window_after_days"


def test_respondent_rules_no_visit_uses_are_a_warning_only() -> None:
    text = VALID + '\n[respondents.jamar]\nmode = "all"\nrules = [{ respondent = "parent" }]\n'
    study = parse_study(text)
    assert [w.code for w in study.warnings] == ["S021"]


def test_missing_study_file_is_a_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(FormProblems, match=r"S000.*does not exist"):
        load_study(tmp_path / "study.toml")


def test_load_study_reads_a_file_and_names_it_as_the_source(tmp_path: Path) -> None:
    path = tmp_path / "study.toml"
    path.write_text(VALID, encoding="utf-8")
    assert load_study(path).source == str(path)


# --- the shipped protocol: instruments.md §1 and §2 --------------------------------------------


def test_shipped_study_has_the_nine_visits_and_weeks_of_instruments_section_1(
    study: Study,
) -> None:
    assert [(v.code, v.week) for v in study.visits] == [
        ("V0", -12), ("V1", 0), ("V2", 4), ("V3", 8), ("V4", 12),
        ("V5", 16), ("V6", 26), ("V7", 39), ("V8", 52),
    ]  # fmt: skip
    assert study.baseline.code == "V1"
    assert [v.code for v in study.visits if v.is_baseline] == ["V1"]
    assert (study.min_age_years, study.max_age_years) == (4, 18)
    assert (study.id, study.version) == ("MSC-JIA-DEMO", "1.0.0")
    assert study.warnings == ()


def test_shipped_study_has_no_kiosk_questionnaires_at_screening(study: Study) -> None:
    v0 = study.visit("V0")
    assert (v0.forms, v0.kiosk) == (("clinician",), False)


def test_shipped_study_asks_the_four_patient_forms_and_clinician_from_v1(study: Study) -> None:
    for visit in study.visits[1:]:
        assert set(visit.forms) == {"chaq", "jamar", "vas_pain", "vas_wellbeing", "clinician"}
        assert visit.kiosk


def test_shipped_study_modes_single_respondent_except_jamar(study: Study) -> None:
    modes = {entry.form_id: entry.mode for entry in study.respondents}
    assert modes.pop("jamar") is RespondentMode.ALL
    assert set(modes.values()) == {RespondentMode.SINGLE}


INSTRUMENTS = {"chaq", "jamar", "vas_pain", "vas_wellbeing", "clinician"}  # instruments.md §2


def test_shipped_study_names_only_the_instruments_of_section_2() -> None:
    study = load_study(known_forms=INSTRUMENTS)
    assert set(study.form_ids) == INSTRUMENTS


def test_every_form_the_shipped_study_names_has_a_form_file(study: Study) -> None:
    forms_dir = Path(__file__).resolve().parents[3] / "forms"
    present = {path.stem for path in forms_dir.glob("*.toml")} - {"study"}
    assert set(study.form_ids) <= present
