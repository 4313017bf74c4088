"""The plain-SQL transaction of the session's hot path, against a real SQLite file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from epro.errors import StoreError
from epro.store import AuditKind, OutboxEntry, ResponseMeta, ResponseStatus, Store

from .conftest import MakeResponse


def test_leaving_the_transaction_without_commit_rolls_back(
    store: Store, make_response: MakeResponse
) -> None:
    meta = make_response()
    with store.transaction() as tx:
        stored = tx.response(meta.id)
        assert stored is not None
        tx.put_answer(stored, "chaq_dress_a", 2)
        tx.audit(AuditKind.ANSWERED, "child", response_id=meta.id, link_id="chaq_dress_a")
    with store.unit_of_work() as uow:
        assert uow.answers.load(meta) == {}
        head = uow.audit.head()
    assert head is not None
    assert head.kind is not AuditKind.ANSWERED


def test_an_answer_written_there_is_read_back_by_a_unit_of_work_and_verifies(
    store: Store, make_response: MakeResponse
) -> None:
    meta = make_response()
    with store.transaction() as tx:
        stored = tx.response(meta.id)
        assert stored is not None
        tx.put_answer(stored, "chaq_devices", ["wheelchair"])
        tx.audit(AuditKind.ANSWERED, "child", response_id=meta.id, link_id="chaq_devices")
        stored.position = 3
        stored.updated_at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        tx.update_response(stored)
        tx.commit()
    with store.unit_of_work() as uow:
        assert uow.answers.load(meta) == {"chaq_devices": ["wheelchair"]}
        again = uow.responses.get(meta.id)
        head = uow.audit.head()
    assert again is not None
    assert again.position == 3
    assert head is not None
    assert head.kind is AuditKind.ANSWERED
    assert store.verify().ok  # the hash chain runs on across both write paths


def test_a_change_of_patient_or_form_is_refused(store: Store, make_response: MakeResponse) -> None:
    meta = make_response()
    with store.transaction() as tx:
        stored = tx.response(meta.id)
        assert stored is not None
        stored.form_id = "vas_pain"
        with pytest.raises(StoreError, match="start a new response instead"):
            tx.update_response(stored)


def test_a_purged_response_takes_no_answer(store: Store, make_response: MakeResponse) -> None:
    meta = make_response(status=ResponseStatus.ACKNOWLEDGED, purged=True)
    with store.transaction() as tx:
        stored = tx.response(meta.id)
        assert stored is not None
        with pytest.raises(StoreError, match="purged"):
            tx.put_answer(stored, "chaq_dress_a", 1)


def test_the_cached_connection_has_the_safety_pragmas(
    store: Store, db_path: Path, make_response: MakeResponse
) -> None:
    meta = make_response()
    with store.transaction() as tx:
        assert tx.response(meta.id) == meta
    # WAL is a property of the file; a second plain reader sees it.
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_a_full_disk_on_the_hot_path_is_a_clear_error(
    store: Store, db_path: Path, filled: list[ResponseMeta]
) -> None:
    meta = filled[0]
    with sqlite3.connect(db_path) as raw:
        pages = int(raw.execute("PRAGMA page_count").fetchone()[0])
    raw.close()
    with store.transaction() as tx:  # the connection is open (and cached) before the limit
        assert tx.response(meta.id) is not None
    store.limit_pages_for_tests(pages)

    def write_big_answer() -> None:
        with store.transaction() as tx:
            stored = tx.response(meta.id)
            assert stored is not None
            tx.put_answer(stored, "chaq_note", "free text " * 20_000)
            tx.commit()

    with pytest.raises(StoreError, match="the disk is full"):
        write_big_answer()
    store.limit_pages_for_tests(None)
    with store.unit_of_work() as uow:
        assert "chaq_note" not in uow.answers.load(meta)
    assert store.verify().ok


def test_a_closed_store_opens_no_transaction(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError, match="is closed"):
        store.transaction()


def test_a_response_for_an_unknown_patient_is_refused_in_plain_words(
    store: Store, make_response: MakeResponse
) -> None:
    meta = make_response()
    meta.id = "00000000-0000-4000-8000-000000000001"
    meta.patient = "DEMO-404"
    with store.transaction() as tx, pytest.raises(StoreError, match="enrol the patient first"):
        tx.add_response(meta)


def test_a_second_outbox_entry_for_a_response_is_refused(
    store: Store, make_response: MakeResponse
) -> None:
    meta = make_response()
    entry = OutboxEntry(
        response_id=meta.id,
        envelope_json="{}",
        sha256="00" * 32,
        created_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
    )
    with store.transaction() as tx:
        tx.add_outbox(entry)
        with pytest.raises(StoreError, match="already in the outbox"):
            tx.add_outbox(entry)
