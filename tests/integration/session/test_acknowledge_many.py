"""``SessionService.acknowledge_many``: a whole upload batch acknowledged in one transaction,
with the same outcome as ``acknowledge`` per response (purge, hash, audit, idempotence)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from epro.errors import SessionError, StoreError
from epro.session import SessionService
from epro.store import Store
from epro.store.domain import AuditKind, ResponseStatus
from tests.helpers.session_support import Clock, audit_of, enrol, meta_of, start, submitted_pain


def answer_rows(db_path: Path) -> int:
    with sqlite3.connect(db_path) as raw:
        (count,) = raw.execute("SELECT count(*) FROM answers").fetchone()
    return int(count)


def purges(store: Store, response_id: str) -> list[str | None]:
    return [e.detail for e in audit_of(store, response_id) if e.kind is AuditKind.PURGE]


@pytest.fixture
def three(service: SessionService, store: Store) -> list[str]:
    for code in ("DEMO-001", "DEMO-002", "DEMO-003"):
        enrol(store, code, age=10)
    return [
        submitted_pain(service, "DEMO-001", 20),
        submitted_pain(service, "DEMO-002", 20),
        submitted_pain(service, "DEMO-003", 70),
    ]


def test_acknowledge_many_purges_like_acknowledge_and_keeps_the_same_hash(
    service: SessionService, store: Store, db_path: Path, clock: Clock, three: list[str]
) -> None:
    one, two, three_id = three
    service.acknowledge(one, receipt_id="r-1", at=clock())
    service.acknowledge_many([(two, "r-2"), (three_id, "r-3")], at=clock())

    first, second, third = (meta_of(store, rid) for rid in three)
    assert answer_rows(db_path) == 0
    for meta in (first, second, third):
        assert (meta.status, meta.purged) == (ResponseStatus.ACKNOWLEDGED, True)
    # The same answers give the same hash, whichever way the purge ran.
    assert second.answers_sha256 == first.answers_sha256
    assert third.answers_sha256 not in (None, first.answers_sha256)
    with store.unit_of_work() as uow:
        entries = [uow.outbox.get(rid) for rid in three]
    assert [e.receipt_id if e else None for e in entries] == ["r-1", "r-2", "r-3"]
    assert purges(store, two) == [f"receipt r-2; answers sha256 {second.answers_sha256}"]
    assert purges(store, three_id) == [f"receipt r-3; answers sha256 {third.answers_sha256}"]
    assert store.verify().ok


def test_acknowledge_many_is_idempotent_and_a_repeated_receipt_changes_nothing(
    service: SessionService, store: Store, clock: Clock, three: list[str]
) -> None:
    one, two, _ = three
    service.acknowledge_many([(one, "r-1"), (one, "r-1"), (two, "r-2")], at=clock())
    with store.unit_of_work() as uow:
        events = len(uow.audit.list())
    clock.advance(minutes=5)
    service.acknowledge_many([(one, "r-other"), (two, "r-2")], at=clock())

    with store.unit_of_work() as uow:
        assert len(uow.audit.list()) == events
        entry = uow.outbox.get(one)
    assert entry is not None
    assert entry.receipt_id == "r-1"  # the first receipt is the one kept
    assert len(purges(store, one)) == 1
    assert store.verify().ok


def test_a_batch_mixing_acknowledged_and_new_responses_acknowledges_only_the_new_ones(
    service: SessionService, store: Store, clock: Clock, three: list[str]
) -> None:
    one, two, three_ = three
    service.acknowledge_many([(one, "r-1")], at=clock())
    service.acknowledge_many([(two, "r-2"), (one, "r-again"), (three_, "r-3")], at=clock())

    assert [len(purges(store, rid)) for rid in three] == [1, 1, 1]
    with store.unit_of_work() as uow:
        receipts = [entry.receipt_id for rid in three if (entry := uow.outbox.get(rid))]
    assert receipts == ["r-1", "r-2", "r-3"]
    assert all(meta_of(store, rid).status is ResponseStatus.ACKNOWLEDGED for rid in three)
    assert store.verify().ok


def test_acknowledge_many_refuses_a_draft_and_leaves_the_whole_batch_untouched(
    service: SessionService, store: Store, db_path: Path, clock: Clock, three: list[str]
) -> None:
    one = three[0]
    enrol(store, "DEMO-004", age=10)
    draft = start(service, patient="DEMO-004", form_id="vas_pain")
    draft.answer("vas_pain", 10)
    with pytest.raises(SessionError, match="only a submitted response can be acknowledged"):
        service.acknowledge_many([(one, "r-1"), (draft.response_id, "r-x")], at=clock())
    with pytest.raises(SessionError, match="no response"):
        service.acknowledge_many([(one, "r-1"), ("no-such-id", "r-x")], at=clock())

    assert meta_of(store, one).status is ResponseStatus.SUBMITTED
    assert answer_rows(db_path) == 4
    assert purges(store, one) == []
    assert store.verify().ok


def test_acknowledge_many_refuses_a_response_missing_from_the_outbox_and_changes_nothing(
    service: SessionService, store: Store, db_path: Path, clock: Clock, three: list[str]
) -> None:
    one, two, _ = three
    with sqlite3.connect(db_path) as raw:
        raw.execute("DELETE FROM outbox WHERE response_id = ?", (two,))
    with pytest.raises(StoreError, match="not in the outbox"):
        service.acknowledge_many([(one, "r-1"), (two, "r-2")], at=clock())

    assert meta_of(store, one).status is ResponseStatus.SUBMITTED
    with store.unit_of_work() as uow:
        entry = uow.outbox.get(one)
    assert entry is not None
    assert entry.acknowledged_at is None
    assert answer_rows(db_path) == 3
