"""``epro schedule``: the table, the open-visit mark, and plain messages for bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from epro.cli import main

ARGS = ["schedule", "--baseline", "2026-01-05", "--birth", "2014-03"]


def _row(out: str, visit: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if f" {visit} " in f" {line} ")


def test_schedule_prints_every_visit_with_target_window_and_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*ARGS, "--on", "2026-02-03"]) == 0
    out = capsys.readouterr().out
    # V2 is open on 2026-02-03, the day after its target: marked and overdue.
    assert _row(out, "V2")[:8] == [
        ">", "V2", "+4", "2026-02-02", "2026-01-30..2026-02-05", "11.9", "child", "overdue",
    ]  # fmt: skip
    assert _row(out, "V0")[:7] == ["V0", "-12", "2025-10-13", "2025-09-29..2025-10-27", "11.6",
                                   "staff", "missed"]  # fmt: skip
    assert _row(out, "V8")[:3] == ["V8", "+52", "2027-01-04"]
    assert "> marks visit V2, open on 2026-02-03." in out


def test_schedule_shows_done_forms_as_done(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--on", "2026-01-05", "--done", "V1:chaq:child"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[-2:] == ["done", "chaq"] for line in lines)
    assert any(
        line.split()[-4:] == ["due", "jamar,", "vas_pain,", "vas_wellbeing"] for line in lines
    )


def test_schedule_says_when_no_visit_is_open(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--on", "2026-02-20"]) == 0
    assert "No visit is open on 2026-02-20; next: V3 opens 2026-02-27." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(["--on", "2026-02-30"], "--on '2026-02-30' is not a date", id="bad-on"),
        pytest.param(["--on", "20260105"], "write it as YYYY-MM-DD", id="compact-date"),
        pytest.param(["--done", "V1-chaq-child"], "must be VISIT:FORM:RESPONDENT", id="done"),
        pytest.param(["--done", "V9:chaq:child"], "unknown visit 'V9'", id="unknown-visit"),
    ],
)
def test_bad_input_gives_a_plain_message_and_a_non_zero_exit(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main([*ARGS, *extra]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing half-printed before the error
    assert captured.err.startswith("epro: ")
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_a_broken_study_file_is_reported_with_its_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "study.toml"
    study.write_text('[study]\nid = "DEMO"\n', encoding="utf-8")
    assert main([*ARGS, "--on", "2026-01-05", "--study", str(study)]) == 1
    err = capsys.readouterr().err
    assert "[S002]" in err
    assert "[S005]" in err


def test_schedule_runs_as_a_real_command_and_refuses_a_bad_birth_month() -> None:
    command = [sys.executable, "-m", "epro.cli", *ARGS, "--on", "2026-01-05"]
    ok = subprocess.run(command, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "> marks visit V1, open on 2026-01-05." in ok.stdout
    bad = [sys.executable, "-m", "epro.cli", "schedule", "--baseline", "2026-01-05",
           "--birth", "2014-13"]  # fmt: skip
    refused = subprocess.run(bad, capture_output=True, text=True, check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "epro: birth month '2014-13' is not a year and month; write it as YYYY-MM, e.g. 2014-03"
    )
    assert refused.stdout == ""


def test_a_patient_too_young_at_baseline_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "--baseline", "2026-01-05", "--birth", "2023-06"]) == 1
    assert "admits ages 4–18" in capsys.readouterr().err
