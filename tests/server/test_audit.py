"""Kiosk audit heads and the server's own append-only audit log (DESIGN §6, §8)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError

from epro_sync.testing import ScriptedKiosk


def _head(kiosk: ScriptedKiosk, seq: int, digest: str) -> tuple[int, str]:
    reply = kiosk.client.post(
        "/v1/audit-head",
        json={"seq": seq, "hash": digest * 64, "at": "2026-03-02T10:00:00+01:00"},
        headers=kiosk.headers,
    )
    return reply.status_code, reply.json().get("status") or reply.json()["detail"]


def test_audit_heads_are_appended_per_kiosk(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine
) -> None:
    kiosk = new_kiosk()
    assert _head(kiosk, 10, "a") == (200, "stored")
    assert _head(kiosk, 10, "a") == (200, "unchanged")
    assert _head(kiosk, 25, "b") == (200, "stored")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, hash FROM audit_heads ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(10, "a" * 64), (25, "b" * 64)]


@pytest.mark.parametrize(("seq", "digest"), [(5, "c"), (25, "c")], ids=["rewound", "forked"])
def test_audit_head_that_does_not_continue_the_log_is_a_409(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine, seq: int, digest: str
) -> None:
    kiosk = new_kiosk()
    _head(kiosk, 25, "b")
    status, detail = _head(kiosk, seq, digest)
    assert status == 409
    assert "may have been reset or altered" in detail
    with engine.connect() as conn:
        events = conn.execute(text("SELECT event FROM audit")).scalars().all()
    assert "audit_head_mismatch" in events


def test_server_audit_records_enrol_batch_conflict_and_roster(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine
) -> None:
    kiosk = new_kiosk()
    envelope = kiosk.envelope()
    kiosk.upload(envelope)
    kiosk.upload(kiosk.envelope(response_id=envelope.response_id, visit="V4"))
    patient = {
        "code": "DEMO-001",
        "site": "UMCU",
        "birth_ym": "2015-07",
        "baseline_date": "2026-03-02",
        "language": "nl",
    }
    kiosk.client.post("/v1/roster", json={"patients": [patient]}, headers=kiosk.headers)
    with engine.connect() as conn:
        events = conn.execute(text("SELECT event FROM audit ORDER BY id")).scalars().all()
    assert events == [
        "enrol_code_created",
        "enrol",
        "batch_received",
        "conflict",
        "batch_received",
        "roster_change",
    ]


@pytest.mark.parametrize("table", ["audit", "audit_heads"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET device_id = 'x'", "DELETE FROM {t}"])
def test_audit_tables_refuse_updates_and_deletes(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine, table: str, statement: str
) -> None:
    kiosk = new_kiosk()
    _head(kiosk, 1, "a")
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement.format(t=table)))
