"""Set-up weaknesses of the study server (the hardening review's finding 8, server side).

Once, the server database was created world-readable, a kiosk label with bidi overrides was
printed raw by `epro-sync devices`, and failed enrolments were neither audited nor slowed.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from epro_sync import cli
from epro_sync.config import ServerSettings
from epro_sync.enrol_guard import MAX_DELAY_S, WINDOW, EnrolGuard
from epro_sync.testing import RunningServer, ScriptedKiosk, running_server


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "study_public_key.json"
    key = base64.b64encode(os.urandom(32)).decode()
    path.write_text(json.dumps({"suite": "x25519", "public_key": key}))
    return path


def _settings(tmp_path: Path, key_file: Path, **extra: object) -> ServerSettings:
    url = f"sqlite:///{tmp_path / 'private' / 'server.sqlite3'}"
    return ServerSettings(database_url=url, study_public_key_file=key_file, **extra)  # type: ignore[arg-type]


@pytest.fixture
def server(tmp_path: Path, key_file: Path) -> Iterator[RunningServer]:
    settings = _settings(tmp_path, key_file, enrol_failure_delay_s=0.01, enrol_lockout_failures=3)
    with running_server(settings) as running:
        yield running


def _audit(settings: ServerSettings, event: str) -> list[dict[str, object]]:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT detail FROM audit WHERE event = :e ORDER BY id"), {"e": event}
            ).all()
    finally:
        engine.dispose()
    return [json.loads(row[0]) for row in rows]


def _enrol_body(code: str, label: str = "clinic 2") -> dict[str, str]:
    return {
        "code": code,
        "device_id": str(uuid.uuid4()),
        "public_key": base64.b64encode(os.urandom(32)).decode(),
        "label": label,
    }


def test_the_server_database_is_readable_by_the_server_s_user_alone(
    server: RunningServer, tmp_path: Path
) -> None:
    """What: the server's SQLite files. How: start a server on a new folder, enrol a kiosk so
    the journal files exist, then read the modes. Expected: folder 0700, every file 0600."""
    kiosk = ScriptedKiosk(server.client)
    assert kiosk.enrol(server.code()).status_code == 200
    folder = tmp_path / "private"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(folder.glob("server.sqlite3*"))
    assert files
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) & 0o077 == 0, file.name


def test_a_world_readable_database_is_tightened_at_start_up(tmp_path: Path, key_file: Path) -> None:
    """What: an existing database file left readable by others. How: chmod 0644, then run any
    server command on it. Expected: the file is 0600 afterwards."""
    settings = _settings(tmp_path, key_file)
    settings.ensure_database_dir()
    path = tmp_path / "private" / "server.sqlite3"
    path.chmod(0o644)
    settings.ensure_database_dir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("hidden", ["\u202e", "\u2066", "\u200b", "\t", "\u2028"])
def test_a_kiosk_label_with_hidden_characters_is_refused(
    server: RunningServer, hidden: str
) -> None:
    """What: kiosk labels. How: enrol with a label holding a bidi override, an isolate, a
    zero-width space, a tab or a line separator. Expected: 422 naming the label; no kiosk."""
    reply = server.client.post("/v1/enrol", json=_enrol_body(server.code(), f"clinic{hidden}2"))
    assert reply.status_code == 422
    assert reply.json()["detail"].startswith("label: must not contain control or invisible")
    assert not _audit(server.settings, "enrol")


def test_a_label_stored_before_the_rule_is_printed_escaped(
    server: RunningServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What: `epro-sync devices`. How: a label with a right-to-left override already in the
    database. Expected: the override is printed as a visible escape, never raw."""
    kiosk = ScriptedKiosk(server.client)
    assert kiosk.enrol(server.code(), label="clinic 2").status_code == 200
    engine = create_engine(server.settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE devices SET label = :l"), {"l": "clinic \u202e2 cinilc"})
    engine.dispose()
    monkeypatch.setenv("EPRO_SYNC_DATABASE_URL", server.settings.database_url)
    assert cli.main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "\u202e" not in out
    assert "clinic \\u202e2 cinilc" in out


def test_failed_enrolments_are_audited_and_lock_the_address_out(server: RunningServer) -> None:
    """What: guessing enrolment codes. How: three wrong codes from one address, then a valid
    code. Expected: each failure is a server audit event with its reason; after the third the
    address gets 429 even with a valid code (itself audited), and the code stays unused."""
    for _ in range(3):
        reply = server.client.post("/v1/enrol", json=_enrol_body("AAAA-BBBB-CCCC"))
        assert reply.status_code == 403
    valid = server.code()
    locked = server.client.post("/v1/enrol", json=_enrol_body(valid))
    assert locked.status_code == 429
    assert "too many failed enrolments" in locked.json()["detail"]
    failures = _audit(server.settings, "enrol_failed")
    assert [f["status"] for f in failures] == [403, 403, 403, 429]
    assert all(f["address"] == "127.0.0.1" for f in failures)
    assert "unknown enrolment code" in str(failures[0]["reason"])
    assert not _audit(server.settings, "enrol")


def test_each_failure_from_one_address_is_answered_later_than_the_one_before() -> None:
    """enrol_guard: the delay doubles per failure within the window, up to its cap; another
    address is not slowed; the lockout ends one window after the last failure."""
    guard = EnrolGuard(base_delay_s=0.25, lockout_failures=5)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    delays = [guard.failed("10.0.0.1", now + timedelta(seconds=n)) for n in range(4)]
    assert delays == [0.25, 0.5, 1.0, 2.0]
    assert guard.failed("10.0.0.2", now) == 0.25
    assert guard.locked_until("10.0.0.1", now) is None
    last = now + timedelta(seconds=10)
    guard.failed("10.0.0.1", last)
    assert guard.locked_until("10.0.0.1", last) == last + WINDOW
    assert guard.locked_until("10.0.0.1", last + WINDOW + timedelta(seconds=1)) is None
    many = EnrolGuard(base_delay_s=1, lockout_failures=100)
    assert max(many.failed("x", now) for _ in range(20)) == MAX_DELAY_S


def test_the_receipt_signing_key_is_private_and_kept(tmp_path: Path, key_file: Path) -> None:
    """What: the server's receipt-signing key, which decides what kiosks purge.
    How: start a server on a new folder and read the key file's mode; start it again; then
    make the file readable by others (0644) and start it once more.
    Expected: the key is made at first start with mode 0600 and kept (the same public key at
    every start, as pinned kiosks need); a key others may read stops the server with a plain
    message saying how to fix it, rather than being used."""
    from epro.errors import EproError
    from epro_sync.app import create_app

    settings = _settings(tmp_path, key_file)
    first = create_app(settings).state.signing_key
    path = settings.signing_key_path()
    assert path.parent == tmp_path / "private"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert create_app(settings).state.signing_key.public_key_b64 == first.public_key_b64
    path.chmod(0o644)
    with pytest.raises(EproError, match=r"may be read by other users.*chmod 600"):
        create_app(settings)
