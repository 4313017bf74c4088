"""What is due when: upcoming → due → overdue → missed, and done (epro.schedule.timeline)."""

from __future__ import annotations

from datetime import date

import pytest

from epro.errors import ScheduleError
from epro.schedule import DueForm, DueStatus, Study, due_forms

BIRTH = "2014-03"  # 11.8 years at baseline: CHAQ and VAS by the child, JAMAR by both


def _statuses(items: list[DueForm], visit: str) -> dict[tuple[str, str], DueStatus]:
    return {(i.form_id, i.respondent): i.status for i in items if i.visit_code == visit}


# V2: target 2026-02-02, window 2026-01-30 .. 2026-02-05 (instruments.md §1, ±3 days).
TRANSITIONS = [
    pytest.param(date(2026, 1, 29), DueStatus.UPCOMING, id="day-before-window-upcoming"),
    pytest.param(date(2026, 1, 30), DueStatus.DUE, id="window-opens-due"),
    pytest.param(date(2026, 2, 2), DueStatus.DUE, id="target-day-still-due"),
    pytest.param(date(2026, 2, 3), DueStatus.OVERDUE, id="day-after-target-overdue"),
    pytest.param(date(2026, 2, 5), DueStatus.OVERDUE, id="last-window-day-overdue"),
    pytest.param(date(2026, 2, 6), DueStatus.MISSED, id="window-closed-missed"),
]


@pytest.mark.parametrize(("on", "expected"), TRANSITIONS)
def test_v2_status_moves_from_upcoming_through_due_and_overdue_to_missed(
    study: Study, baseline: date, on: date, expected: DueStatus
) -> None:
    statuses = _statuses(due_forms(study, baseline, BIRTH, on), "V2")
    assert set(statuses.values()) == {expected}


def test_baseline_visit_is_never_overdue_because_its_window_ends_on_the_target(
    study: Study, baseline: date
) -> None:
    # instruments.md §1: V1 −7/+0 — questionnaires before the infusion.
    assert set(_statuses(due_forms(study, baseline, BIRTH, baseline), "V1").values()) == {
        DueStatus.DUE
    }
    next_day = date(2026, 1, 6)
    assert set(_statuses(due_forms(study, baseline, BIRTH, next_day), "V1").values()) == {
        DueStatus.MISSED
    }


def test_done_forms_stay_done_after_the_window_closes(study: Study, baseline: date) -> None:
    done = {("V2", "chaq", "child"), ("V2", "jamar", "parent")}
    statuses = _statuses(due_forms(study, baseline, BIRTH, date(2026, 3, 1), done), "V2")
    assert statuses[("chaq", "child")] is DueStatus.DONE
    assert statuses[("jamar", "parent")] is DueStatus.DONE
    assert statuses[("jamar", "child")] is DueStatus.MISSED
    assert statuses[("vas_pain", "child")] is DueStatus.MISSED


def test_each_visit_lists_its_forms_per_respondent_for_an_eleven_year_old(
    study: Study, baseline: date
) -> None:
    statuses = _statuses(due_forms(study, baseline, BIRTH, baseline), "V1")
    assert sorted(statuses) == sorted(
        [
            ("chaq", "child"),
            ("jamar", "parent"),
            ("jamar", "child"),
            ("vas_pain", "child"),
            ("vas_wellbeing", "child"),
            ("clinician", "staff"),
        ]
    )


def test_screening_visit_has_only_the_clinician_form_and_no_kiosk(
    study: Study, baseline: date
) -> None:
    # instruments.md §1: V0 — clinician data, no kiosk questionnaires.
    v0 = [i for i in due_forms(study, baseline, BIRTH, baseline) if i.visit_code == "V0"]
    assert [(i.form_id, i.respondent, i.kiosk) for i in v0] == [("clinician", "staff", False)]


def test_respondent_follows_the_age_on_the_day_while_the_visit_is_open(
    study: Study, baseline: date
) -> None:
    # Born 2018-03: turns 8 on 2026-03-15. V4 (target 2026-03-30) is after that, but V3
    # (target 2026-03-02) is before: CHAQ by the parent at V3, by the child at V4.
    items = due_forms(study, baseline, "2018-03", date(2026, 1, 5))
    chaq = {i.visit_code: i.respondent for i in items if i.form_id == "chaq"}
    assert chaq["V3"] == "parent"
    assert chaq["V4"] == "child"


def test_a_birthday_inside_the_window_keeps_the_respondent_who_already_answered(
    study: Study,
) -> None:
    # Born 2018-03 (8 on 2026-03-15); baseline 2026-01-16 puts V3's target on 2026-03-13 and
    # its window at 2026-03-10 .. 2026-03-16, so the birthday falls inside the window.
    baseline = date(2026, 1, 16)
    before = due_forms(study, baseline, "2018-03", date(2026, 3, 14))
    assert {i.respondent for i in before if (i.visit_code, i.form_id) == ("V3", "chaq")} == {
        "parent"
    }
    done = {("V3", "chaq", "parent")}
    after = due_forms(study, baseline, "2018-03", date(2026, 3, 16), done)
    v3_chaq = [i for i in after if (i.visit_code, i.form_id) == ("V3", "chaq")]
    # instruments.md §2.1: a single respondent — the parent's answer counts, no child is due.
    assert [(i.respondent, i.status) for i in v3_chaq] == [("parent", DueStatus.DONE)]
    v3_vas = [i for i in after if (i.visit_code, i.form_id) == ("V3", "vas_pain")]
    assert [(i.respondent, i.status) for i in v3_vas] == [("child", DueStatus.OVERDUE)]


@pytest.mark.parametrize(
    ("done", "message"),
    [
        pytest.param(("V9", "chaq", "child"), r"unknown visit 'V9'", id="unknown-visit"),
        pytest.param(("V0", "chaq", "child"), r"'chaq' is not due at visit V0", id="form-not-due"),
        pytest.param(("V1", "chaq", "staff"), r"'staff' does not answer 'chaq'", id="respondent"),
    ],
)
def test_done_entries_that_do_not_fit_the_protocol_are_refused(
    study: Study, baseline: date, done: tuple[str, str, str], message: str
) -> None:
    with pytest.raises(ScheduleError, match=message):
        due_forms(study, baseline, BIRTH, baseline, [done])


def test_due_forms_checks_the_age_at_baseline(study: Study, baseline: date) -> None:
    with pytest.raises(ScheduleError, match=r"admits ages 4–18"):
        due_forms(study, baseline, "2024-01", baseline)
