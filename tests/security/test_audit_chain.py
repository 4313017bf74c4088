"""The audit chain, the kiosk's audit heads and the server's own records (the hardening
review's finding 2).

Once, the kiosk's chain was an unkeyed SHA-256 with droppable triggers: a script removed three
PIN-failure events, re-chained the rest, and both `epro verify` and the server accepted it.
The server only checked that a head's number grew, so a kiosk file rolled back to an older
copy, plus new offline work, synced with exit 0 and a CHAQ submitted after the copy was lost.
A stolen token alone could post a head of seq 2^62; on PostgreSQL TRUNCATE passed the row
triggers; server rows could be edited or deleted and `epro-sync verify` said nothing.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from epro.cli import main as epro_main
from epro.demo import demo_answer
from epro.forms.model import ItemType
from epro.kiosk.widgets.sync_panel import sync_text
from epro.store import open_store
from epro.store.audit import GENESIS, canonical_event, chain_hash
from epro.sync_client import SyncClient, sync_status
from epro.sync_client.status import DEVICE_TOKEN
from tests.helpers.sync_harness import PASSPHRASE, SITE, Kiosk, LiveServer, ServerDb, _env

MakeKiosk = Callable[[str, ServerDb, str], Kiosk]


# ------------------------------------------------------------------------------ helpers


def _wrong_pins(kiosk: Kiosk, count: int) -> None:
    for _ in range(count):
        with kiosk.store.unit_of_work() as uow:
            assert not uow.staff.verify_pin("nurse", "0000")
            uow.commit()


def _rechain_without(path: Path, kind: str) -> int:
    """What a script with the file (no passphrase) does: drop the triggers, remove every event
    of ``kind``, renumber and re-chain the rest with the plain SHA-256 links the old chain
    used. Returns how many events it removed."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("DROP TRIGGER IF EXISTS audit_no_update")
    connection.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    columns = "seq, at, actor, kind, device_id, response_id, link_id, detail"
    rows = connection.execute(f"SELECT {columns} FROM audit ORDER BY seq").fetchall()
    kept = [row for row in rows if row[3] != kind]
    connection.execute("BEGIN")
    connection.execute("DELETE FROM audit")
    prev = GENESIS
    for seq, (_, at, actor, kind_, device, response_id, link_id, detail) in enumerate(kept, 1):
        canonical = canonical_event(
            seq=seq,
            at=at,
            actor=actor,
            kind=kind_,
            device_id=device,
            response_id=response_id,
            link_id=link_id,
            detail=detail,
        )
        digest = chain_hash(prev, canonical)
        connection.execute(
            f"INSERT INTO audit ({columns}, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (seq, at, actor, kind_, device, response_id, link_id, detail, prev, digest),
        )
        prev = digest
    connection.execute("COMMIT")
    connection.close()
    return len(rows) - len(kept)


def _submit_chaq(kiosk: Kiosk) -> str:
    """A full CHAQ through the real session service (new offline work)."""
    with kiosk.store.unit_of_work() as uow:
        code = uow.patients.list()[0].code
    respondent = kiosk.study.respondents_for("chaq", 10)[0]
    session = kiosk.service.start(
        patient=code,
        visit="V2",
        form_id="chaq",
        respondent=respondent,
        language="en",
        actor="nurse",
        out_of_window_reason="test bench",
    )
    rng = random.Random(7)
    while True:
        pending = [line.item for line in session.review() if line.value is None]
        if not pending:
            break
        item = pending[0]
        if item.type is ItemType.TEXT:
            session.answer(item.link_id, "a cushion")
            continue
        value = demo_answer(item, rng, 0.5)
        if value == "na":
            session.not_applicable(item.link_id)
        else:
            session.answer(item.link_id, value)
    return session.submit(actor="nurse").response_id


def _kept_whole(kiosk: Kiosk, response_id: str) -> bool:
    """The kiosk still holds the response's answers (not purged)."""
    with kiosk.store.transaction() as tx:
        meta = tx.response(response_id)
        assert meta is not None
        return not meta.purged and bool(tx.answers(meta))


def _server_cli(db: ServerDb, *args: str) -> tuple[int, str]:
    """The real `epro-sync` CLI, whatever its exit code."""
    env = _env()
    env["EPRO_SYNC_DATABASE_URL"] = db.settings.database_url
    env["EPRO_SYNC_STUDY_PUBLIC_KEY_FILE"] = str(db.settings.study_public_key_file)
    code = "import sys; from epro_sync.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    return done.returncode, done.stdout + done.stderr


def _server_sql(db: ServerDb, *statements: str) -> None:
    """Statements straight on the server database, committed (the operator's own access)."""
    url = db.settings.database_url
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            for statement in statements:
                conn.execute(statement)
            conn.commit()
        return
    import psycopg

    base, _, query = url.replace("postgresql+psycopg://", "postgresql://").partition("?")
    schema = query.rpartition("%3D")[2]
    with psycopg.connect(base) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        for statement in statements:
            conn.execute(statement)


def _is_postgres(db: ServerDb) -> bool:
    return db.settings.database_url.startswith("postgresql")


def _audit_state(db: ServerDb, device_id: str) -> str | None:
    rows = db.rows(f"SELECT audit_state FROM devices WHERE device_id = '{device_id}'")
    return None if rows[0][0] is None else str(rows[0][0])


# ------------------------------------------------------------------------------ attacks


def test_removed_pin_failures_re_chained_are_found_by_epro_verify_and_by_the_server(
    live_server: LiveServer,
    server_db: ServerDb,
    make_kiosk: MakeKiosk,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What: the kiosk's audit log. How: three wrong PINs are audited and synced; then a script
    with the kiosk file but not the passphrase drops the append-only triggers, removes the
    three PIN-failure events and re-chains the rest (renumbered, every link recomputed as the
    old unkeyed chain did); the nurse goes on working and syncs.
    Expected: `epro verify` names the first event whose link does not authenticate and exits
    1; the server sees that the log no longer extends the head it holds and flags the kiosk
    (`epro-sync status` says so); the kiosk uploads but purges nothing."""
    kiosk = make_kiosk("k1", server_db, live_server.url)
    kiosk.queue(2)
    _wrong_pins(kiosk, 3)
    assert SyncClient(kiosk.store).sync_once().error is None
    assert kiosk.store.verify().ok
    kiosk.close()

    assert _rechain_without(kiosk.path, "pin_failure") == 3

    kiosk.store = open_store(kiosk.path, passphrase=PASSPHRASE)
    report = kiosk.store.verify()
    assert not report.ok
    assert report.problems[0].startswith("audit event 1: hash does not match"), report.problems
    monkeypatch.setenv("EPRO_PASSPHRASE", PASSPHRASE)
    kiosk.store.close()
    assert epro_main(["verify", "--db", str(kiosk.path)]) == 1
    assert "re-chained without the kiosk's key" in capsys.readouterr().err
    kiosk.store = open_store(kiosk.path, passphrase=PASSPHRASE)

    new = kiosk.queue(1)
    synced = SyncClient(kiosk.store).sync_once()
    assert synced.error is not None
    assert "flagged this kiosk's audit log" in str(synced.error)
    assert synced.acknowledged == 0
    assert synced.held == 1
    assert _kept_whole(kiosk, new[0])
    assert set(new) <= set(server_db.response_ids())  # uploaded all the same
    assert _audit_state(server_db, kiosk.device_id) == "flagged"
    code, out = _server_cli(server_db, "status")
    assert code == 0
    assert f"AUDIT LOG FLAGGED: kiosk {kiosk.device_id}" in out


def test_a_kiosk_file_rolled_back_with_new_offline_work_is_flagged_and_loses_nothing(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk, tmp_path: Path
) -> None:
    """What: the kiosk file as a whole. How: after a sync, the file is copied; the kiosk works
    and syncs again; then the file is put back from the copy (as a restore from an old backup
    would), a CHAQ is submitted on it offline, and the kiosk syncs.
    Expected: the server flags the rollback (stored as the kiosk's state, in `epro-sync
    status`, returned to the kiosk); the sync reports it and purges nothing, so the new CHAQ
    is kept whole on the kiosk (and is stored on the server); the nurse station says so
    plainly. After a person resolves it on the server (audited), the next sync purges."""
    kiosk = make_kiosk("k1", server_db, live_server.url)
    kiosk.queue(2)
    assert SyncClient(kiosk.store).sync_once().error is None
    kiosk.close()
    copy = tmp_path / "older-copy.db"
    shutil.copyfile(kiosk.path, copy)
    kiosk.store = open_store(kiosk.path, passphrase=PASSPHRASE)
    kiosk.queue(2)
    assert SyncClient(kiosk.store).sync_once().error is None
    kiosk.close()

    for suffix in ("-wal", "-shm"):
        Path(f"{kiosk.path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(copy, kiosk.path)
    kiosk.store = open_store(kiosk.path, passphrase=PASSPHRASE)
    chaq = _submit_chaq(kiosk)

    for _ in range(2):  # flagged at every sync until resolved
        report = SyncClient(kiosk.store).sync_once()
        assert report.error is not None
        assert "flagged this kiosk's audit log" in str(report.error)
        assert report.acknowledged == 0
        assert _kept_whole(kiosk, chaq)
    assert chaq in server_db.response_ids()
    assert _audit_state(server_db, kiosk.device_id) == "flagged"
    status = sync_status(kiosk.store)
    assert status.chain_problem is not None
    assert "restored from an older copy" in status.chain_problem
    station = sync_text(status, "en").plain
    assert "audit log does not continue" in station
    assert "Nothing is deleted from this kiosk" in station
    code, out = _server_cli(server_db, "status")
    assert f"AUDIT LOG FLAGGED: kiosk {kiosk.device_id}" in out

    code, out = _server_cli(
        server_db,
        "resolve-chain",
        kiosk.device_id,
        "--by",
        "data manager",
        "--reason",
        "file restored from the backup after a disk fault; checked",
    )
    assert code == 0, out
    events = [row[0] for row in server_db.rows("SELECT event FROM audit ORDER BY id")]
    assert "audit_chain_resolved" in events
    report = SyncClient(kiosk.store).sync_once()
    assert report.error is None, report.error
    assert not _kept_whole(kiosk, chaq)  # acknowledged and purged at last
    assert sync_status(kiosk.store).chain_problem is None
    assert _audit_state(server_db, kiosk.device_id) is None


def test_a_stolen_token_without_the_device_key_is_refused_on_every_kiosk_route(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    """What: every kiosk route of the study server. How: the holder of a stolen device token
    (but not the kiosk's device key) reads the roster and completion, pushes a patient, posts
    an audit head of seq 2^62 and uploads, first without a signature, then signing with a key
    of their own. Expected: every request is a 401 naming the missing or wrong signature;
    nothing is stored; the genuine kiosk's next head and sync go through."""
    kiosk = make_kiosk("k1", server_db, live_server.url)
    with kiosk.store.unit_of_work() as uow:
        token = uow.keys.get_setting(DEVICE_TOKEN)
    assert token
    from epro.crypto import DeviceKey
    from epro.sync_client.http import DeviceAuth

    patient = {
        "code": "FAKE-001",
        "site": SITE,
        "birth_ym": "2015-07",
        "baseline_date": "2026-03-02",
        "language": "nl",
    }
    head = {"seq": 2**62, "hash": "f" * 64, "at": "2026-03-02T10:00:00Z"}
    calls: list[tuple[str, str, object]] = [
        ("GET", "/v1/roster", None),
        ("GET", "/v1/completion", None),
        ("POST", "/v1/roster", {"patients": [patient]}),
        ("POST", "/v1/audit-head", head),
        ("POST", "/v1/responses:batch", {"envelopes": []}),
    ]
    bare = httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"})
    forged = httpx.Client(
        base_url=live_server.url, auth=DeviceAuth(token, DeviceKey.generate().sign)
    )
    with bare, forged:
        for method, path, body in calls:
            reply = bare.request(method, path, json=body)
            assert reply.status_code == 401, (path, reply.text)
            assert "missing request signature" in reply.json()["detail"]
            reply = forged.request(method, path, json=body)
            assert reply.status_code == 401, (path, reply.text)
            assert "signature does not match" in reply.json()["detail"]
    assert server_db.rows("SELECT code FROM patients WHERE code = 'FAKE-001'") == []
    assert server_db.rows(f"SELECT seq FROM audit_heads WHERE seq = {2**62}") == []
    queued = kiosk.queue(1)
    assert SyncClient(kiosk.store).sync_once().error is None
    assert set(queued) <= set(server_db.response_ids())
    assert _audit_state(server_db, kiosk.device_id) is None


def test_truncate_of_the_append_only_tables_is_refused_on_postgresql(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    """What: the server's append-only tables on PostgreSQL. How: with rows in them after a
    sync and one entered-in-error mark, the database user runs TRUNCATE on the audit log, the
    kiosk audit heads and the marks (a statement no row trigger sees). Expected: refused
    ('append-only'); every row is still there. (SQLite has no TRUNCATE: DELETE is refused by
    row triggers there.)"""
    if not _is_postgres(server_db):
        pytest.skip("TRUNCATE is a PostgreSQL statement; SQLite's DELETE has row triggers")
    import psycopg
    from sqlmodel import Session

    from epro_sync.annotations import mark_entered_in_error
    from epro_sync.db import make_engine

    kiosk = make_kiosk("k1", server_db, live_server.url)
    kiosk.queue(1)
    assert SyncClient(kiosk.store).sync_once().error is None
    engine = make_engine(server_db.settings.database_url)
    try:
        with Session(engine) as session:
            mark_entered_in_error(
                session,
                server_db.response_ids()[0],
                "session opened for the wrong patient",
                actor="dm@example.org",
                sites=None,
                now=datetime.now(UTC),
            )
            session.commit()
    finally:
        engine.dispose()
    tables = ("audit", "audit_heads", "annotations")
    before = {t: server_db.rows(f"SELECT count(*) FROM {t}")[0][0] for t in tables}
    assert all(before.values())
    for table in tables:
        for statement in (f"TRUNCATE {table}", f"TRUNCATE {table} CASCADE"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                _server_sql(server_db, statement)
    after = {t: server_db.rows(f"SELECT count(*) FROM {t}")[0][0] for t in tables}
    assert after == before


def test_edited_or_deleted_server_rows_are_reported_by_epro_sync_verify(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    """What: the rows the study server stores. How: after a kiosk synced three responses, the
    database operator (1) changes a stored response's patient, (2) deletes another stored
    response, (3) with the append-only triggers lifted, edits one server audit row and
    deletes another. Expected: `epro-sync verify` exits 1 and names each: the edited
    response's routing field, the kiosk whose receipts outnumber its stored responses, and
    the first server audit row whose link breaks."""
    kiosk = make_kiosk("k1", server_db, live_server.url)
    first, second, _third = kiosk.queue(3)
    assert SyncClient(kiosk.store).sync_once().error is None
    code, out = _server_cli(server_db, "verify")
    assert code == 0, out
    assert "check out" in out

    _server_sql(
        server_db, f"UPDATE responses SET patient = 'DEMO-999' WHERE response_id = '{first}'"
    )
    code, out = _server_cli(server_db, "verify")
    assert code == 1
    assert f"response {first}" in out
    assert "stored patient is not the envelope's" in out

    _server_sql(server_db, f"DELETE FROM responses WHERE response_id = '{second}'")
    code, out = _server_cli(server_db, "verify")
    assert code == 1
    assert f"kiosk {kiosk.device_id}" in out
    assert "1 stored responses were deleted" in out

    (enrol_row,) = server_db.rows("SELECT id FROM audit WHERE event = 'enrol'")
    (last_row,) = server_db.rows("SELECT max(id) FROM audit")
    if _is_postgres(server_db):
        lift = ["ALTER TABLE audit DISABLE TRIGGER audit_append_only"]
    else:
        lift = ["DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete"]
    _server_sql(server_db, *lift, f"UPDATE audit SET detail = '{{}}' WHERE id = {last_row[0]}")
    code, out = _server_cli(server_db, "verify")
    assert code == 1
    assert f"server audit row {last_row[0]}: its hash does not match" in out

    _server_sql(server_db, f"DELETE FROM audit WHERE id = {enrol_row[0]}")
    code, out = _server_cli(server_db, "verify")
    assert code == 1
    assert f"server audit row {enrol_row[0] + 1}: does not follow" in out
