"""Kiosk audit heads and the server's own append-only audit log (DESIGN §6, §8)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError

from epro_sync.testing import ScriptedKiosk


def _head(
    kiosk: ScriptedKiosk, seq: int, digest: str, *, from_seq: int | None = None, links: str = ""
) -> tuple[int, str]:
    """Post a head ending at ``seq``; ``links`` gives one letter per link from ``from_seq``."""
    body: dict[str, object] = {"seq": seq, "hash": digest * 64, "at": "2026-03-02T10:00:00+01:00"}
    if from_seq is not None:
        body.update(from_seq=from_seq, links=[letter * 64 for letter in links])
    reply = kiosk.post_json("/v1/audit-head", body)
    return reply.status_code, reply.json().get("status") or reply.json()["detail"]


def test_audit_heads_are_appended_per_kiosk_when_they_extend_the_last(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine
) -> None:
    kiosk = new_kiosk()
    assert _head(kiosk, 10, "a") == (200, "stored")
    assert _head(kiosk, 10, "a") == (200, "unchanged")
    assert _head(kiosk, 12, "b") == (200, "resend")  # no links back to event 10
    assert _head(kiosk, 12, "b", from_seq=10, links="acb") == (200, "stored")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, hash FROM audit_heads ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(10, "a" * 64), (12, "b" * 64)]


@pytest.mark.parametrize(
    ("seq", "digest", "from_seq", "links"),
    [(5, "c", 4, "dc"), (12, "c", 10, "efc")],
    ids=["rewound", "forked"],
)
def test_audit_head_that_does_not_extend_the_log_flags_the_kiosk(
    new_kiosk: Callable[..., ScriptedKiosk],
    engine: Engine,
    seq: int,
    digest: str,
    from_seq: int,
    links: str,
) -> None:
    kiosk = new_kiosk()
    _head(kiosk, 10, "b")
    assert _head(kiosk, seq, digest, from_seq=from_seq, links=links) == (200, "flagged")
    # flagged until a person resolves it: even a head that would extend is not taken
    assert _head(kiosk, 11, "e", from_seq=10, links="be") == (200, "flagged")
    with engine.connect() as conn:
        events = conn.execute(text("SELECT event FROM audit")).scalars().all()
        state = conn.execute(text("SELECT audit_state FROM devices")).scalar()
    assert "audit_head_mismatch" in events
    assert state == "flagged"


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
    kiosk.post_json("/v1/roster", {"patients": [patient]})
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


def test_a_head_whose_links_skip_events_flags_the_kiosk(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine
) -> None:
    """A signed head from event 10 to 13 with three links: the kiosk's log lost an event."""
    kiosk = new_kiosk()
    _head(kiosk, 10, "a")
    assert _head(kiosk, 13, "d", from_seq=10, links="acd") == (200, "flagged")
    with engine.connect() as conn:
        problem = conn.execute(text("SELECT audit_problem FROM devices")).scalar()
    assert "events were removed" in str(problem)
