"""Visit calendar and windows (instruments.md §1: V0 ±14 d; V1 −7/+0; V2–V5 ±3; V6–V8 ±7)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from epro.errors import ScheduleError
from epro.schedule import Study, in_window, load_study, open_visit, scheduled_visit, visit_calendar

# (visit, target, first day in window, last day in window) for baseline 2026-01-05,
# worked out by hand from instruments.md §1.
EDGES = [
    pytest.param("V0", date(2025, 10, 13), date(2025, 9, 29), date(2025, 10, 27), id="V0-pm14"),
    pytest.param(
        "V1", date(2026, 1, 5), date(2025, 12, 29), date(2026, 1, 5), id="V1-minus7-plus0"
    ),
    pytest.param("V2", date(2026, 2, 2), date(2026, 1, 30), date(2026, 2, 5), id="V2-pm3"),
    pytest.param("V6", date(2026, 7, 6), date(2026, 6, 29), date(2026, 7, 13), id="V6-pm7"),
]


@pytest.mark.parametrize(("code", "target", "first", "last"), EDGES)
def test_window_includes_its_first_and_last_day_and_excludes_the_days_outside(
    study: Study, baseline: date, code: str, target: date, first: date, last: date
) -> None:
    one_day = timedelta(days=1)
    assert scheduled_visit(study, baseline, code).target == target
    assert in_window(study, baseline, code, first)
    assert in_window(study, baseline, code, last)
    assert not in_window(study, baseline, code, first - one_day)
    assert not in_window(study, baseline, code, last + one_day)


@pytest.mark.parametrize(("code", "target", "first", "last"), EDGES)
def test_open_visit_is_the_visit_on_both_window_edges(
    study: Study, baseline: date, code: str, target: date, first: date, last: date
) -> None:
    for day in (first, target, last):
        found = open_visit(study, baseline, day)
        assert found is not None
        assert found.code == code


def test_no_visit_is_open_between_windows(study: Study, baseline: date) -> None:
    # V2 closes 2026-02-05 and V3 opens 2026-02-27.
    assert open_visit(study, baseline, date(2026, 2, 6)) is None
    assert open_visit(study, baseline, date(2026, 2, 26)) is None


def test_calendar_places_every_visit_at_baseline_plus_seven_times_its_week(
    study: Study, baseline: date
) -> None:
    calendar = visit_calendar(study, baseline)
    weeks = {s.code: (s.target - baseline).days / 7 for s in calendar}
    assert weeks == {
        "V0": -12,
        "V1": 0,
        "V2": 4,
        "V3": 8,
        "V4": 12,
        "V5": 16,
        "V6": 26,
        "V7": 39,
        "V8": 52,
    }


@pytest.mark.parametrize(
    ("code", "before", "after"),
    [
        ("V0", 14, 14),
        ("V1", 7, 0),
        ("V2", 3, 3),
        ("V3", 3, 3),
        ("V4", 3, 3),
        ("V5", 3, 3),
        ("V6", 7, 7),
        ("V7", 7, 7),
        ("V8", 7, 7),
    ],
)
def test_window_widths_follow_instruments_section_1(
    study: Study, baseline: date, code: str, before: int, after: int
) -> None:
    scheduled = scheduled_visit(study, baseline, code)
    assert (scheduled.target - scheduled.window_start).days == before
    assert (scheduled.window_end - scheduled.target).days == after


def test_unknown_visit_is_a_schedule_error_naming_the_known_codes(
    study: Study, baseline: date
) -> None:
    with pytest.raises(ScheduleError, match=r"unknown visit 'V9'.*V0, V1"):
        in_window(study, baseline, "V9", baseline)


@given(
    baseline=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    offset=st.integers(min_value=-120, max_value=400),
)
def test_at_most_one_visit_is_open_on_any_day_and_open_visit_finds_it(
    baseline: date, offset: int
) -> None:
    study = load_study()
    on = baseline + timedelta(days=offset)
    containing = [s.code for s in visit_calendar(study, baseline) if s.contains(on)]
    assert len(containing) <= 1
    found = open_visit(study, baseline, on)
    assert (found.code if found else None) == (containing[0] if containing else None)
    for code in ("V0", "V1", "V6"):
        assert in_window(study, baseline, code, on) == (code in containing)
