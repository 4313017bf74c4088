"""`epro kiosk` at the command line: clear messages and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from epro.cli import build_parser, main
from epro.cli.kiosk_cmd import kiosk_options
from epro.config import load_settings


def test_kiosk_without_a_database_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.db"
    assert main(["kiosk", "--db", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("epro: no kiosk database at")
    assert "epro init" in err
    assert "--db PATH" in err


def test_kiosk_help_names_the_minimum_terminal_size(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["kiosk", "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert "80×24" in out
    assert "--high-contrast" in out


def test_kiosk_refuses_an_unknown_language_in_a_real_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "epro.cli",
            "kiosk",
            "--db",
            str(tmp_path / "k.db"),
            "--language",
            "fr",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "invalid choice: 'fr'" in done.stderr
    assert "Traceback" not in done.stderr


def test_kiosk_with_a_missing_database_in_a_real_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "epro.cli", "kiosk", "--db", str(tmp_path / "k.db")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("epro: no kiosk database at")
    assert "Traceback" not in done.stderr


def test_kiosk_takes_its_database_from_epro_db_when_no_db_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EPRO_DB", str(tmp_path / "from-env.db"))
    assert main(["kiosk"]) == 1
    assert "from-env.db" in capsys.readouterr().err


@pytest.mark.parametrize("given", ["soon", "1", "999999"])
def test_kiosk_refuses_a_sync_interval_it_cannot_use(
    given: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["kiosk", "--db", str(tmp_path / "k.db"), "--sync-interval", given])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "--sync-interval" in err
    assert "seconds" in err


def _kiosk_args(*extra: str) -> argparse.Namespace:
    return build_parser().parse_args(["kiosk", "--db", "k.db", *extra])


def test_epro_sync_interval_s_sets_the_background_sync_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EPRO_SYNC_INTERVAL_S", "45")
    options = kiosk_options(_kiosk_args(), load_settings())
    assert options["sync_interval_s"] == 45.0


def test_the_command_line_sync_interval_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EPRO_SYNC_INTERVAL_S", "45")
    options = kiosk_options(_kiosk_args("--sync-interval", "120"), load_settings())
    assert options["sync_interval_s"] == 120.0


def test_inactivity_settings_reach_the_kiosk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPRO_INACTIVITY_WARNING_S", "20")
    monkeypatch.setenv("EPRO_INACTIVITY_LOCK_S", "15")
    options = kiosk_options(_kiosk_args(), load_settings())
    assert options["idle_warning_s"] == 20.0
    assert options["idle_lock_s"] == 35.0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EPRO_SYNC_INTERVAL_S", "5"),
        ("EPRO_SYNC_INTERVAL_S", "soon"),
        ("EPRO_INACTIVITY_LOCK_S", "-1"),
    ],
)
def test_a_setting_that_does_not_fit_is_named_without_a_traceback(
    variable: str,
    value: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["kiosk", "--db", str(tmp_path / "k.db")]) == 1
    err = capsys.readouterr().err
    assert f"invalid setting {variable}" in err


def test_the_demo_kiosk_takes_the_same_inactivity_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # README: the EPRO_INACTIVITY_* settings apply to `make demo` (epro demo) too.
    monkeypatch.setenv("EPRO_INACTIVITY_WARNING_S", "20")
    monkeypatch.setenv("EPRO_INACTIVITY_LOCK_S", "15")
    captured: dict[str, object] = {}

    def run_demo_kiosk(db: Path, **options: object) -> int:
        captured.update(options)
        return 0

    monkeypatch.setattr("epro.kiosk.app.run_demo_kiosk", run_demo_kiosk)
    from epro.cli.demo_cmd import _run_kiosk

    assert _run_kiosk(Path("demo.db"), None) == 0
    assert captured == {"idle_warning_s": 20.0, "idle_lock_s": 35.0, "demo_console": None}
