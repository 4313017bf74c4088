"""`epro init` and `epro verify`: secrets from the environment or getpass, clear refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from epro.cli import main
from epro.crypto import generate_study_keypair
from epro.store import open_store

PASSPHRASE = "cli passphrase 9"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("EPRO_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("EPRO_NURSE_PIN", "2580")
    monkeypatch.setenv("EPRO_KDF", "fast")
    return monkeypatch


def test_init_then_verify_reports_ok_with_counts(
    env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "kiosk.db"
    assert main(["init", "--db", str(db), "--site", "DEMO", "--nurse", "anna"]) == 0
    assert f"created {db}: site DEMO" in capsys.readouterr().out
    assert main(["verify", "--db", str(db)]) == 0
    assert capsys.readouterr().out.strip() == "ok: 0 responses, 0 answers, 1 audit events"
    store = open_store(db, passphrase=PASSPHRASE)
    try:
        with store.unit_of_work() as uow:
            assert uow.staff.verify_pin("anna", "2580")
    finally:
        store.close()


def test_init_with_a_study_key_stores_it_and_prints_its_fingerprint(
    env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public = generate_study_keypair().public_key()
    key_file = tmp_path / "study.pub.json"
    key_file.write_text(public.to_json())
    db = tmp_path / "kiosk.db"
    assert main(["init", "--db", str(db), "--site", "DEMO", "--study-key", str(key_file)]) == 0
    assert public.fingerprint() in capsys.readouterr().out
    store = open_store(db, passphrase=PASSPHRASE)
    try:
        with store.unit_of_work() as uow:
            assert uow.keys.study_public_key() == public
    finally:
        store.close()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("EPRO_PASSPHRASE", "short", "at least 8 characters"),
        ("EPRO_NURSE_PIN", "12", "at least 4 digits"),
        ("EPRO_KDF", "turbo", "EPRO_KDF='turbo' is not known"),
    ],
    ids=["weak-passphrase", "short-pin", "unknown-kdf"],
)
def test_init_refuses_bad_settings_with_a_clear_message(
    env: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    message: str,
) -> None:
    env.setenv(variable, value)
    db = tmp_path / "kiosk.db"
    assert main(["init", "--db", str(db), "--site", "DEMO"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("epro: ")
    assert message in err
    assert "Traceback" not in err
    assert not db.exists()


def test_init_refuses_a_damaged_study_key_file_naming_it(
    env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "study.pub.json"
    key_file.write_text("{not json")
    db = tmp_path / "kiosk.db"
    assert main(["init", "--db", str(db), "--site", "DEMO", "--study-key", str(key_file)]) == 1
    assert "study.pub.json: the study public key is not JSON" in capsys.readouterr().err
    assert not db.exists()


def test_init_refuses_to_overwrite_and_says_so(
    env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "kiosk.db"
    db.write_bytes(b"precious")
    assert main(["init", "--db", str(db), "--site", "DEMO"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert db.read_bytes() == b"precious"


def test_without_a_terminal_or_environment_the_secret_is_asked_for_by_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("EPRO_PASSPHRASE", raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert main(["verify", "--db", str(tmp_path / "kiosk.db")]) == 1
    assert "set EPRO_PASSPHRASE" in capsys.readouterr().err


def test_getpass_asks_twice_and_refuses_two_different_entries(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("EPRO_PASSPHRASE", raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    entries = iter(["first passphrase", "second passphrase"])
    monkeypatch.setattr("getpass.getpass", lambda _prompt: next(entries))
    db = tmp_path / "kiosk.db"
    assert main(["init", "--db", str(db), "--site", "DEMO"]) == 1
    assert "the two entries of the site passphrase differ" in capsys.readouterr().err
    assert not db.exists()


def test_verify_with_a_wrong_passphrase_exits_non_zero(
    env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "kiosk.db"
    assert main(["init", "--db", str(db), "--site", "DEMO"]) == 0
    before = db.read_bytes()
    env.setenv("EPRO_PASSPHRASE", "not the passphrase")
    assert main(["verify", "--db", str(db)]) == 1
    assert "passphrase is not right" in capsys.readouterr().err
    assert db.read_bytes() == before


def test_the_installed_command_inits_and_verifies_in_a_real_process(tmp_path: Path) -> None:
    db = tmp_path / "kiosk.db"
    environment = os.environ | {
        "EPRO_PASSPHRASE": PASSPHRASE,
        "EPRO_NURSE_PIN": "2580",
        "EPRO_KDF": "fast",
    }
    command = [sys.executable, "-m", "epro.cli"]
    created = subprocess.run(
        [*command, "init", "--db", str(db), "--site", "DEMO"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert created.returncode == 0, created.stderr
    checked = subprocess.run(
        [*command, "verify", "--db", str(db)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert (checked.returncode, checked.stdout.strip()) == (
        0,
        "ok: 0 responses, 0 answers, 1 audit events",
    )
    wrong = subprocess.run(
        [*command, "verify", "--db", str(db)],
        env=environment | {"EPRO_PASSPHRASE": "not the passphrase"},
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert wrong.returncode != 0
    assert wrong.stderr.startswith("epro: the site passphrase is not right")
