"""Migration 5 keys the audit chain from the next event on; the older links stay checkable.

A kiosk file of schema 4 or older carries plain SHA-256 links. After the upgrade those are
checked as before, every new event carries an HMAC link under the audit key, and the point
where keying starts is authenticated, so it cannot be moved to pass a re-chained log off as
old data.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from epro.store import AuditKind, open_store
from epro.store.audit import canonical_event, chain_hash

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "v1.db"
FIXTURE_PASSPHRASE = "fixture-passphrase"  # see fixtures/make_v1.py


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "old-kiosk.db"
    shutil.copyfile(FIXTURE, target)
    return target


def _plain_link(row: tuple[object, ...]) -> str:
    seq, at, actor, kind, device, response_id, link_id, detail, prev = row
    canonical = canonical_event(
        seq=int(str(seq)),
        at=str(at),
        actor=str(actor),
        kind=str(kind),
        device_id=str(device),
        response_id=None if response_id is None else str(response_id),
        link_id=None if link_id is None else str(link_id),
        detail=None if detail is None else str(detail),
    )
    return chain_hash(str(prev), canonical)


_ROW = "SELECT seq, at, actor, kind, device_id, response_id, link_id, detail, prev_hash, hash"


def test_old_links_stay_plain_and_checked_new_ones_are_keyed(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    store = open_store(path, passphrase=FIXTURE_PASSPHRASE)
    with store.unit_of_work() as uow:
        assert uow.audit.keyed_from() == 4  # three events were there before the upgrade
        uow.audit.append(AuditKind.ENROL, "anna", detail="DEMO-003 enrolled")
        uow.commit()
    assert store.verify().ok
    store.close()
    with sqlite3.connect(path) as raw:
        rows = raw.execute(f"{_ROW} FROM audit ORDER BY seq").fetchall()
    raw.close()
    # The upgrade's own event (security settings authenticated) is keyed like the new one.
    assert [row[3] for row in rows[3:]] == [AuditKind.STORE_INIT.value, AuditKind.ENROL.value]
    assert [_plain_link(row[:9]) == row[9] for row in rows] == [True, True, True, False, False]

    with sqlite3.connect(path) as raw:  # an edit in the old, unkeyed part is still found
        raw.execute("DROP TRIGGER audit_no_update")
        raw.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    raw.close()
    store = open_store(path, passphrase=FIXTURE_PASSPHRASE)
    report = store.verify()
    store.close()
    assert report.problems[0].startswith("audit event 2: hash does not match")


def test_moving_the_start_of_the_keyed_part_is_found(tmp_path: Path) -> None:
    """An attacker moves the start forward (trigger dropped) and re-chains the new event with a
    plain link: the keying record no longer authenticates, and everything is checked keyed."""
    path = _copy(tmp_path)
    store = open_store(path, passphrase=FIXTURE_PASSPHRASE)
    with store.unit_of_work() as uow:
        uow.audit.append(AuditKind.ENROL, "anna", detail="DEMO-003 enrolled")
        uow.commit()
    store.close()
    with sqlite3.connect(path) as raw:
        raw.execute("DROP TRIGGER audit_keying_sealed")
        raw.execute("DROP TRIGGER audit_no_update")
        raw.execute("UPDATE audit_keying SET keyed_from = 100")
        row = raw.execute(f"{_ROW} FROM audit WHERE seq = 4").fetchone()
        raw.execute("UPDATE audit SET hash = ? WHERE seq = 4", (_plain_link(row[:9]),))
    raw.close()
    store = open_store(path, passphrase=FIXTURE_PASSPHRASE)
    report = store.verify()
    store.close()
    assert not report.ok
    assert "the audit keying record does not authenticate" in report.problems[0]
    assert report.problems[1].startswith("audit event 1: hash does not match")


def test_the_keying_record_of_a_new_store_starts_at_one_and_is_sealed(tmp_path: Path) -> None:
    from epro.crypto import FAST_KDF
    from epro.store import init_store

    path = tmp_path / "new.db"
    store = init_store(
        path,
        passphrase="correct horse battery",
        site="DEMO",
        nurse_name="anna",
        nurse_pin="2468",
        kdf=FAST_KDF,
    )
    with store.unit_of_work() as uow:
        assert uow.audit.keyed_from() == 1
    assert store.verify().ok
    store.close()
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="sealed"):
        raw.execute("UPDATE audit_keying SET keyed_from = 5")
    raw.close()
