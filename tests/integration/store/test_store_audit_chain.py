"""The audit chain: HMAC-SHA256 links from a zero genesis; edits, deletions and reorders caught.

The tamper tests drop the append-only triggers with raw sqlite3 first, as an attacker with
the file could; ``verify`` must still name the broken event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from epro.cli import main
from epro.store import AuditKind, Store
from epro.store._time import to_text
from epro.store.audit import canonical_event, chained_rows, keyed_chain_hash

from .conftest import PASSPHRASE


@pytest.fixture
def chained(store: Store) -> Store:
    """Eight events in the log (STORE_INIT plus seven)."""
    with store.unit_of_work() as uow:
        for number in range(7):
            uow.audit.append(AuditKind.ENROL, "anna", detail=f"DEMO-{number:03} enrolled")
        uow.commit()
    return store


def raw_edit(path: Path, *statements: str) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("DROP TRIGGER IF EXISTS audit_no_update")
    connection.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    for statement in statements:
        connection.execute(statement)
    connection.close()


def test_each_hash_is_the_hmac_of_the_previous_hash_and_the_canonical_event(
    chained: Store,
) -> None:
    key = chained._context.audit_key
    assert len(key) == 32
    with chained.unit_of_work() as uow:
        events = uow.audit.list()
    prev = "0" * 64
    for event in events:
        body = {
            "seq": event.seq,
            "at": event.at.isoformat(timespec="microseconds"),
            "actor": event.actor,
            "kind": event.kind.value,
            "device": event.device_id,
            "response_id": event.response_id,
            "link_id": event.link_id,
            "detail": event.detail,
        }
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        assert event.prev_hash == prev
        assert event.hash == hmac.new(key, prev.encode() + canonical, "sha256").hexdigest()
        prev = event.hash


_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@given(
    seq=st.integers(min_value=1, max_value=2**62),
    at=_TEXT,
    actor=_TEXT,
    kind=_TEXT,
    device_id=_TEXT,
    response_id=st.none() | _TEXT,
    link_id=st.none() | _TEXT,
    detail=st.none() | _TEXT,
)
def test_the_canonical_event_is_sorted_compact_utf8_json(**event: Any) -> None:
    # Quotes, backslashes, control characters and any non-ASCII text included.
    fields = {"device" if key == "device_id" else key: value for key, value in event.items()}
    general = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_event(**event) == general.encode()


@given(
    head=st.none() | st.tuples(st.integers(min_value=0, max_value=2**40), st.just("f" * 64)),
    actor=_TEXT,
    device_id=_TEXT,
    events=st.lists(st.tuples(st.none() | _TEXT, st.none() | _TEXT, st.none() | _TEXT), max_size=5),
)
def test_rows_chained_in_one_go_carry_the_hashes_of_their_canonical_events(
    head: tuple[int, str] | None,
    actor: str,
    device_id: str,
    events: list[tuple[str | None, str | None, str | None]],
) -> None:
    """chained_rows (every batch append) quotes the shared fields once: its hashes must still
    be those of canonical_event, event after event."""
    at = datetime(2026, 3, 2, 9, 30, 0, 120, tzinfo=UTC)
    key = b"k" * 32
    rows = chained_rows(
        head, key=key, at=at, kind=AuditKind.PURGE, actor=actor, device_id=device_id, events=events
    )
    seq, prev = head if head is not None else (0, "0" * 64)
    for row, (response_id, link_id, detail) in zip(rows, events, strict=True):
        seq += 1
        canonical = canonical_event(
            seq=seq,
            at=to_text(at),
            actor=actor,
            kind="purge",
            device_id=device_id,
            response_id=response_id,
            link_id=link_id,
            detail=detail,
        )
        assert row[0] == seq
        assert row[-2:] == (prev, keyed_chain_hash(key, prev, canonical))
        prev = keyed_chain_hash(key, prev, canonical)


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit SET detail = 'x' WHERE seq = 2", "DELETE FROM audit WHERE seq = 8"],
    ids=["update", "delete"],
)
def test_the_database_itself_refuses_to_change_the_audit_log(
    chained: Store, db_path: Path, statement: str
) -> None:
    connection = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute(statement)
    connection.close()


HASH = "hash does not match"
TAMPERS = [
    pytest.param(
        ("UPDATE audit SET detail = 'DEMO-999 enrolled' WHERE seq = 4",),
        f"audit event 4: {HASH}",
        id="edit-detail",
    ),
    pytest.param(
        ("UPDATE audit SET at = '2020-01-01T00:00:00.000000+00:00' WHERE seq = 6",),
        f"audit event 6: {HASH}",
        id="edit-time",
    ),
    pytest.param(
        ("UPDATE audit SET kind = 'unlock' WHERE seq = 2",),
        f"audit event 2: {HASH}",
        id="edit-kind",
    ),
    pytest.param(
        ("DELETE FROM audit WHERE seq = 5",), "audit event 5: missing", id="delete-middle"
    ),
    pytest.param(("DELETE FROM audit WHERE seq = 1",), "audit event 1: missing", id="delete-first"),
    pytest.param(
        (
            "UPDATE audit SET seq = 100 WHERE seq = 3",
            "UPDATE audit SET seq = 3 WHERE seq = 4",
            "UPDATE audit SET seq = 4 WHERE seq = 100",
        ),
        "audit event 3: does not follow event 2",
        id="reorder",
    ),
]


@pytest.mark.parametrize(("statements", "named"), TAMPERS)
def test_verify_names_the_first_tampered_audit_event(
    chained: Store, db_path: Path, statements: tuple[str, ...], named: str
) -> None:
    assert chained.verify().ok
    raw_edit(db_path, *statements)
    report = chained.verify()
    assert not report.ok
    assert report.problems[0].startswith(named)


def test_an_edit_with_a_recomputed_plain_hash_is_caught_at_once(
    chained: Store, db_path: Path
) -> None:
    """Whoever edits the file has no audit key: a link recomputed as plain SHA-256 (all
    anyone could make of the older, unkeyed chain) does not authenticate."""
    connection = sqlite3.connect(db_path)
    row = connection.execute(
        "SELECT seq, at, actor, kind, device_id, response_id, link_id, prev_hash FROM audit "
        "WHERE seq = 4"
    ).fetchone()
    connection.close()
    seq, at, actor, kind, device, response_id, link_id, prev = row
    body = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "kind": kind,
        "device": device,
        "response_id": response_id,
        "link_id": link_id,
        "detail": "forged",
    }
    forged = hashlib.sha256(  # the attacker's unkeyed link
        prev.encode() + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    raw_edit(db_path, f"UPDATE audit SET detail = 'forged', hash = '{forged}' WHERE seq = 4")
    report = chained.verify()
    assert len(report.problems) == 1
    assert report.problems[0].startswith("audit event 4: hash does not match")


def test_epro_verify_exits_non_zero_naming_the_broken_event(
    chained: Store,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    raw_edit(db_path, "UPDATE audit SET actor = 'mallory' WHERE seq = 7")
    chained.close()
    monkeypatch.setenv("EPRO_PASSPHRASE", PASSPHRASE)
    assert main(["verify", "--db", str(db_path)]) == 1
    assert "audit event 7: hash does not match" in capsys.readouterr().err
