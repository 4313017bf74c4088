"""``outbox.pending`` reads plain rows; it must hand out exactly what the ORM ``get`` does.

It and ``count_pending`` run at every sync, so they must read the partial index of the pending
rows (schema v3) rather than scan an outbox that keeps every acknowledged envelope.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from epro.store import OutboxEntry, ResponseStatus, Store, open_store

from .conftest import MakeResponse
from .test_store_migrations import FIXTURE, FIXTURE_PASSPHRASE


def at(minute: int) -> datetime:
    return datetime(2026, 3, 2, 10, minute, tzinfo=UTC)


def test_pending_gives_the_same_entries_as_get_oldest_first_then_by_id(
    store: Store, make_response: MakeResponse
) -> None:
    ids = sorted(make_response(status=ResponseStatus.SUBMITTED).id for _ in range(5))
    minutes = [4, 2, 2, 1, 3]  # ids[1] and ids[2] tie on time: the id decides
    with store.unit_of_work() as uow:
        for rid, minute in zip(ids, minutes, strict=True):
            uow.outbox.add(OutboxEntry(rid, f'{{"sealed": "{rid}"}}', "cd" * 32, at(minute)))
        uow.outbox.record_error(ids[0], "server unreachable")
        uow.outbox.mark_sent(ids[1], at(7))
        uow.outbox.mark_acknowledged(ids[4], "receipt-4", at(8))
        uow.commit()

    with store.unit_of_work() as uow:
        # Written in this unit of work and not committed: pending sees it all the same.
        uow.outbox.record_error(ids[2], "timeout")
        pending = uow.outbox.pending(10)
        expected = [uow.outbox.get(rid) for rid in (ids[3], ids[1], ids[2], ids[0])]
        assert pending == expected
        assert pending[1].sent_at == at(7)
        assert (pending[2].attempts, pending[2].last_error) == (1, "timeout")
        assert [e.response_id for e in uow.outbox.pending(2)] == [ids[3], ids[1]]
        assert uow.outbox.count_pending() == 4
        assert all(e.created_at.tzinfo is UTC for e in pending)


def outbox_query_plans(store: Store) -> list[tuple[str, list[str]]]:
    """Run ``pending`` and ``count_pending``; SQLite's plan of each outbox query they sent.

    The statements are captured as sent, so the plans are those of the repository's real SQL.
    """
    sent: list[tuple[str, Any]] = []

    def record(_conn: object, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        if "FROM outbox" in statement:
            sent.append((statement, parameters))

    engine = store._context.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        with store.unit_of_work() as uow:
            uow.outbox.pending(100)
            uow.outbox.count_pending()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    raw = sqlite3.connect(store.path)
    try:
        return [
            (statement, [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", args)])
            for statement, args in sent
        ]
    finally:
        raw.close()


def assert_reads_the_pending_index(plans: list[tuple[str, list[str]]]) -> None:
    assert len(plans) == 2  # pending, count_pending
    for statement, plan in plans:
        # The outbox is read through the index (no plain "SCAN outbox", no sort of the
        # result); each envelope is then looked up by its key.
        assert plan, statement
        outbox, envelopes = plan[:1], plan[1:]
        assert "INDEX ix_outbox_pending" in outbox[0], (statement, plan)
        assert all("(response_id=?)" in step for step in envelopes), (statement, plan)
        assert len(envelopes) == ("envelope_json" in statement), (statement, plan)
        assert not any("TEMP B-TREE" in step for step in plan), (statement, plan)


def test_pending_and_count_read_the_pending_index_not_the_whole_outbox(
    store: Store, make_response: MakeResponse
) -> None:
    ids = [make_response(status=ResponseStatus.SUBMITTED).id for _ in range(6)]
    with store.unit_of_work() as uow:
        for minute, rid in enumerate(ids):
            uow.outbox.add(OutboxEntry(rid, '{"sealed": "made-up"}', "cd" * 32, at(minute)))
        for rid in ids[:4]:
            uow.outbox.mark_acknowledged(rid, f"receipt-{rid}", at(30))
        uow.commit()

    assert_reads_the_pending_index(outbox_query_plans(store))
    with store.unit_of_work() as uow:  # and the index gives the right rows in the right order
        assert [e.response_id for e in uow.outbox.pending(10)] == ids[4:]
        assert uow.outbox.count_pending() == 2


def test_a_kiosk_upgraded_from_v1_reads_the_pending_index_too(tmp_path: Path) -> None:
    old = tmp_path / "old-kiosk.db"
    shutil.copyfile(FIXTURE, old)
    store = open_store(old, passphrase=FIXTURE_PASSPHRASE)
    try:
        assert_reads_the_pending_index(outbox_query_plans(store))
        with store.unit_of_work() as uow:
            assert uow.outbox.count_pending() == len(uow.outbox.pending(10)) == 1
    finally:
        store.close()
