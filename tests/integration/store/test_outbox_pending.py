"""``outbox.pending`` reads plain rows; it must hand out exactly what the ORM ``get`` does."""

from __future__ import annotations

from datetime import UTC, datetime

from epro.store import OutboxEntry, ResponseStatus, Store

from .conftest import MakeResponse


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
