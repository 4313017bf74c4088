"""The nurse-station service (``epro.station``) on a real store: no textual involved.

Enrolment rules (DESIGN §5.2, instruments.md §1 ages 4–18), the completion statuses of the
grid, the session queue of today's visit, and trends scored from submitted answers.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta

import pytest

from epro.errors import SessionError, StoreError
from epro.station import CellStatus, SessionPlan, Station
from tests.helpers.ui_constants import NURSE, PASSPHRASE, PIN, TODAY

Opener = Callable[[str], Station]


def test_station_imports_without_textual() -> None:
    # The service layer under the kiosk never imports the UI.
    code = "import sys, epro.station; assert 'textual' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_kiosk_app_module_loads_neither_store_nor_scoring_before_unlock() -> None:
    # Start-up stays close to an empty Textual app because these load only at unlock.
    code = (
        "import sys, epro.kiosk.app; "
        "loaded = [m for m in ('epro.store', 'epro.scoring', 'epro.session', 'cryptography')"
        " if m in sys.modules]; assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_enrol_adds_a_patient_with_an_upper_case_study_code(open_station: Opener) -> None:
    station = open_station(PASSPHRASE)
    patient = station.enrol("demo-005", "2016-02", TODAY, actor=NURSE)
    assert patient.code == "DEMO-005"
    assert "DEMO-005" in [p.code for p in station.patients()]


@pytest.mark.parametrize(
    ("code", "birth_ym", "fix"),
    [
        ("DEMO-001", "2016-02", "already enrolled"),
        ("Jan Jansen", "2016-02", "letters, digits or dashes"),
        ("DEMO-006", "2024-01", "admits ages 4–18"),  # 2 years old at baseline
        ("DEMO-007", "2000-01", "admits ages 4–18"),  # 26 years old at baseline
        ("DEMO-008", "2016-13", "YYYY-MM"),
    ],
    ids=["duplicate", "name-like", "too-young", "too-old", "bad-month"],
)
def test_enrol_refuses_bad_input_with_a_message_naming_the_fix(
    open_station: Opener, code: str, birth_ym: str, fix: str
) -> None:
    station = open_station(PASSPHRASE)
    with pytest.raises(SessionError, match=fix):
        station.enrol(code, birth_ym, TODAY, actor=NURSE)


def test_today_lists_patients_with_an_open_kiosk_visit_and_their_due_forms(
    open_station: Opener,
) -> None:
    station = open_station(PASSPHRASE)
    station.enrol("DEMO-009", "2014-05", TODAY + timedelta(weeks=10), actor=NURSE)  # no window
    rows = {row.code: row for row in station.patients_today()}
    assert set(rows) == {"DEMO-001", "DEMO-002"}
    assert rows["DEMO-001"].visit == "V2"
    cells = {(c.form_id, c.respondent): c.status for c in rows["DEMO-001"].cells}
    # instruments.md §2: below 8 years the parent answers CHAQ and the VAS; no clinician form.
    assert cells == {
        ("chaq", "parent"): CellStatus.DUE,
        ("jamar", "parent"): CellStatus.DUE,
        ("vas_pain", "parent"): CellStatus.DUE,
        ("vas_wellbeing", "parent"): CellStatus.DUE,
    }
    child = {(c.form_id, c.respondent) for c in rows["DEMO-002"].cells}
    assert ("chaq", "child") in child
    assert ("jamar", "parent") in child
    assert ("jamar", "child") in child


def test_a_draft_shows_in_progress_and_a_submission_shows_submitted(open_station: Opener) -> None:
    station = open_station(PASSPHRASE)
    pain = station.start(SessionPlan("DEMO-001", "V2", "vas_pain", "parent", "en"), actor=NURSE)
    pain.answer("vas_pain", 40)
    station.start(SessionPlan("DEMO-001", "V2", "chaq", "parent", "en"), actor=NURSE)
    grid = {(c.visit, c.form_id): c.status for c in station.completion("DEMO-001")}
    assert grid[("V2", "chaq")] == CellStatus.IN_PROGRESS
    assert grid[("V2", "vas_pain")] == CellStatus.IN_PROGRESS
    assert grid[("V1", "chaq")] == CellStatus.MISSED
    assert grid[("V3", "chaq")] == CellStatus.UPCOMING
    pain.submit(actor=NURSE)
    grid = {(c.visit, c.form_id): c.status for c in station.completion("DEMO-001")}
    assert grid[("V2", "vas_pain")] == CellStatus.SUBMITTED
    assert station.outbox_count() == 1
    queue = [plan.form_id for plan in station.plans_for("DEMO-001", "nl")]
    assert queue == ["jamar", "vas_wellbeing"]  # chaq has a draft: it is resumed, not restarted
    assert [meta.form_id for meta in station.drafts("DEMO-001")] == ["chaq"]


def test_trends_follow_the_submitted_answers(open_station: Opener) -> None:
    # instruments.md §2.3: the VAS forms score as the value itself.
    station = open_station(PASSPHRASE)
    pain = station.start(SessionPlan("DEMO-001", "V2", "vas_pain", "parent", "en"), actor=NURSE)
    pain.answer("vas_pain", 63)
    pain.submit(actor=NURSE)
    trends = station.trends("DEMO-001")
    assert [(p.visit, p.value) for p in trends["vas_pain"]] == [("V2", 63.0)]
    assert [p.value for p in trends["chaq_di"]] == [None]
    assert set(trends) == {"vas_pain", "vas_wellbeing", "chaq_di", "cjadas10"}


def test_pin_check_counts_failures_and_locks_after_repeated_ones(open_station: Opener) -> None:
    station = open_station(PASSPHRASE)
    assert station.verify_pin(NURSE, PIN)
    with pytest.raises(StoreError):  # noqa: PT012 - the lock comes after several failures
        for _ in range(10):
            assert not station.verify_pin(NURSE, "0000")


def test_a_queue_resumed_later_keeps_only_the_forms_still_to_do(open_station: Opener) -> None:
    # DESIGN §5.4: the rest of a queue goes on after a resume, but a form started or submitted
    # meanwhile (by another handover) is not asked again.
    station = open_station(PASSPHRASE)
    queue = [
        SessionPlan("DEMO-001", "V2", form_id, "parent", "nl")
        for form_id in ("chaq", "jamar", "vas_pain", "vas_wellbeing")
    ]
    station.start(queue[1], actor=NURSE)
    wellbeing = station.start(queue[3], actor=NURSE)
    wellbeing.answer("vas_wellbeing", 40)
    wellbeing.submit(actor=NURSE)
    assert station.still_open(queue) == [queue[0], queue[2]]
