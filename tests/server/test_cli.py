"""The `epro-sync` command: administration on the same database the server uses."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from epro_sync import cli
from epro_sync.config import ServerSettings
from epro_sync.testing import RunningServer, ScriptedKiosk

CODE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


@pytest.fixture
def env(settings: ServerSettings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point `epro-sync` at the test database through its environment, as an operator would."""
    values = {
        "EPRO_SYNC_DATABASE_URL": settings.database_url,
        "EPRO_SYNC_STUDY_FILE": str(settings.study_file),
        "EPRO_SYNC_STUDY_PUBLIC_KEY_FILE": str(settings.study_public_key_file),
        "EPRO_SYNC_SIGNING_KEY_FILE": str(settings.signing_key_path()),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_enrol_code_prints_a_code_that_enrols_a_kiosk(
    env: dict[str, str], server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["enrol-code", "--site", "UMCU"]) == 0
    out = capsys.readouterr().out
    assert "valid once, until" in out
    match = CODE.search(out)
    assert match is not None
    assert ScriptedKiosk(server.client).enrol(match.group()).status_code == 200


def test_devices_lists_kiosks_and_revoke_marks_one(
    env: dict[str, str],
    new_kiosk: Callable[..., ScriptedKiosk],
    capsys: pytest.CaptureFixture[str],
) -> None:
    kiosk = new_kiosk(label="ward 3 tablet")
    assert cli.main(["devices"]) == 0
    listing = capsys.readouterr().out
    assert kiosk.device_id in listing
    assert "ward 3 tablet" in listing
    assert "active" in listing
    assert cli.main(["revoke", kiosk.device_id]) == 0
    assert cli.main(["devices"]) == 0
    assert "revoked" in capsys.readouterr().out


def test_revoking_an_unknown_kiosk_is_a_clear_error(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["revoke", "no-such-kiosk"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("epro-sync: no kiosk with id no-such-kiosk")
    assert "Traceback" not in err


def test_status_counts_patients_and_responses_per_visit_and_form(
    env: dict[str, str],
    new_kiosk: Callable[..., ScriptedKiosk],
    capsys: pytest.CaptureFixture[str],
) -> None:
    kiosk = new_kiosk("UMCU")
    kiosk.upload(
        kiosk.envelope(visit="V1", form_id="chaq"),
        kiosk.envelope(visit="V1", form_id="chaq", patient="DEMO-002"),
        kiosk.envelope(visit="V2", form_id="jamar"),
    )
    patient = {"code": "DEMO-001", "site": "UMCU", "birth_ym": "2015-07"}
    patient |= {"baseline_date": "2026-03-02", "language": "nl"}
    kiosk.post_json("/v1/roster", {"patients": [patient]})
    assert cli.main(["status"]) == 0
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        "site UMCU: 1 patients, 1 kiosks",
        "V1 chaq 2 responses",
        "V2 jamar 1 responses",
    ]


def test_migrate_reports_the_upgrade_then_that_it_is_current(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["migrate"]) == 0
    assert "upgraded from version 0" in capsys.readouterr().out
    assert cli.main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_invalid_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EPRO_SYNC_BATCH_MAX", "lots")
    assert cli.main(["devices"]) == 2
    assert capsys.readouterr().err.startswith("epro-sync: invalid setting: EPRO_SYNC_BATCH_MAX")


def test_unreachable_database_is_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("EPRO_SYNC_DATABASE_URL", f"sqlite:///{tmp_path}")  # a directory
    assert cli.main(["devices"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("epro-sync: the database cannot be used: ")
    assert "Traceback" not in err


def test_serve_without_a_study_public_key_explains_how_to_make_one(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("EPRO_SYNC_STUDY_PUBLIC_KEY_FILE")
    assert cli.main(["serve"]) == 1
    assert "epro keys study-keypair" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_serve_runs_the_server_as_a_real_process(env: dict[str, str]) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "epro_sync.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, env=os.environ | env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[1].decode()
                assert time.monotonic() < deadline, "server did not start within 30 s"
                time.sleep(0.1)
        assert reply.json()["status"] == "ok"
        assert len(reply.headers.get_list("date")) == 1
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_enrol_code_via_a_real_process(env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "epro_sync.cli", "enrol-code", "--site", "EMC"]
    done = subprocess.run(
        command, env=os.environ | env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert CODE.search(done.stdout)
    assert "for site EMC" in done.stdout
