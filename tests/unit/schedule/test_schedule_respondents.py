"""Respondents by age (instruments.md §2.1–2.4) and the birth-month day-15 rule (DESIGN §4)."""

from __future__ import annotations

from datetime import date

import pytest

from epro.errors import ScheduleError
from epro.schedule import Study, age_at, age_at_baseline

RESPONDENTS = [
    # instruments.md §2.1: CHAQ parent below 8 years, child from 8 (a single respondent).
    pytest.param("chaq", 7.99, ("parent",), id="§2.1-chaq-7.99-parent"),
    pytest.param("chaq", 8.0, ("child",), id="§2.1-chaq-8.0-child"),
    pytest.param("chaq", 4.0, ("parent",), id="§2.1-chaq-4-parent"),
    pytest.param("chaq", 18.5, ("child",), id="§2.1-chaq-18.5-child"),
    # instruments.md §2.2: JAMAR parent at every visit, child in addition from 7.
    pytest.param("jamar", 6.99, ("parent",), id="§2.2-jamar-6.99-parent-only"),
    pytest.param("jamar", 7.0, ("parent", "child"), id="§2.2-jamar-7.0-both"),
    pytest.param("jamar", 17.0, ("parent", "child"), id="§2.2-jamar-17-both"),
    # instruments.md §2.3: stand-alone VAS forms, child from 8, otherwise parent.
    pytest.param("vas_pain", 7.99, ("parent",), id="§2.3-vas_pain-7.99-parent"),
    pytest.param("vas_pain", 8.0, ("child",), id="§2.3-vas_pain-8.0-child"),
    pytest.param("vas_wellbeing", 7.99, ("parent",), id="§2.3-vas_wellbeing-7.99-parent"),
    pytest.param("vas_wellbeing", 8.0, ("child",), id="§2.3-vas_wellbeing-8.0-child"),
    # instruments.md §2.4: clinician form by staff at any age.
    pytest.param("clinician", 3.8, ("staff",), id="§2.4-clinician-staff"),
]


@pytest.mark.parametrize(("form", "age", "expected"), RESPONDENTS)
def test_respondents_for_follow_the_age_rules(
    study: Study, form: str, age: float, expected: tuple[str, ...]
) -> None:
    assert study.respondents_for(form, age) == expected


def test_respondents_for_an_unknown_form_names_the_known_forms(study: Study) -> None:
    with pytest.raises(ScheduleError, match=r"unknown form 'chq'.*chaq"):
        study.respondents_for("chq", 9.0)


def test_age_is_counted_from_day_15_of_the_birth_month() -> None:
    # DESIGN §4: only year and month are known; day 15 is assumed.
    assert age_at("2018-03", date(2026, 3, 15)) == 8.0
    assert 7.99 < age_at("2018-03", date(2026, 3, 14)) < 8.0


def test_chaq_switches_to_the_child_on_day_15_of_the_eighth_birthday_month(study: Study) -> None:
    # instruments.md §2.1 with the day-15 rule: 14 March still the parent, 15 March the child.
    assert study.respondents_for("chaq", age_at("2018-03", date(2026, 3, 14))) == ("parent",)
    assert study.respondents_for("chaq", age_at("2018-03", date(2026, 3, 15))) == ("child",)


def test_jamar_child_joins_on_the_seventh_birthday_even_after_a_leap_year(study: Study) -> None:
    # 7 years hold one or two leap days; the birthday is exactly 7.0 either way.
    assert age_at("2019-02", date(2026, 2, 15)) == 7.0
    assert age_at("2017-02", date(2024, 2, 15)) == 7.0
    assert study.respondents_for("jamar", age_at("2019-02", date(2026, 2, 14))) == ("parent",)


def test_age_halfway_through_a_year_is_about_a_half() -> None:
    assert age_at("2014-03", date(2014, 9, 14)) == pytest.approx(0.5, abs=0.01)


def test_age_in_the_birth_month_before_day_15_is_zero() -> None:
    assert age_at("2020-05", date(2020, 5, 1)) == 0.0


@pytest.mark.parametrize("text", ["2014-3", "2014-13", "2014-00", "14-03", "2014/03", "", "march"])
def test_malformed_birth_month_is_rejected_with_the_expected_format(text: str) -> None:
    with pytest.raises(ScheduleError, match=r"write it as YYYY-MM"):
        age_at(text, date(2026, 1, 5))


def test_a_date_before_the_birth_month_is_rejected() -> None:
    with pytest.raises(ScheduleError, match=r"before the birth month"):
        age_at("2020-05", date(2020, 4, 30))


@pytest.mark.parametrize(
    ("birth", "ok"),
    [
        pytest.param("2022-01", True, id="4.0-at-baseline-admitted"),
        pytest.param("2022-02", False, id="3.9-at-baseline-refused"),
        pytest.param("2007-02", True, id="18.9-at-baseline-admitted"),
        pytest.param("2007-01", False, id="19.0-at-baseline-refused"),
    ],
)
def test_age_at_baseline_must_be_within_the_study_range(study: Study, birth: str, ok: bool) -> None:
    # Baseline 2026-01-15 is exactly a birthday for January births.
    baseline = date(2026, 1, 15)
    if ok:
        assert 4 <= age_at_baseline(study, baseline, birth) < 19
    else:
        with pytest.raises(ScheduleError, match=r"admits ages 4–18"):
            age_at_baseline(study, baseline, birth)


def test_baseline_before_birth_is_a_clear_error(study: Study) -> None:
    with pytest.raises(ScheduleError, match=r"baseline 2019-12-31 is before the birth month"):
        age_at_baseline(study, date(2019, 12, 31), "2020-01")
