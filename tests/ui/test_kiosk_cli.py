"""`epro kiosk` at the command line: clear messages and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from epro.cli import main


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
