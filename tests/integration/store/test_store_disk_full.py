"""A full disk: a clear message, the transaction rolled back, the file intact, writing resumes.

The full disk is made real inside SQLite with ``PRAGMA max_page_count`` (the store's test hook):
SQLite then fails with SQLITE_FULL exactly as on a full file system.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from epro.errors import StoreError
from epro.store import AuditKind, ResponseMeta, Store

BIG_TEXT = "free text " * 20_000  # ~200 kB: needs many new pages


def page_count(path: Path) -> int:
    with sqlite3.connect(path) as raw:
        count = int(raw.execute("PRAGMA page_count").fetchone()[0])
    raw.close()
    return count


def answer_with_audit(store: Store, meta: ResponseMeta) -> None:
    with store.unit_of_work() as uow:
        uow.audit.append(AuditKind.ANSWERED, "anna", response_id=meta.id, link_id="chaq_note")
        uow.answers.put(meta, "chaq_note", BIG_TEXT)
        uow.commit()


def test_a_full_disk_is_a_clear_error_and_nothing_is_lost(
    store: Store, db_path: Path, filled: list[ResponseMeta]
) -> None:
    meta = filled[0]
    with store.unit_of_work() as uow:
        head_before = uow.audit.head()
    store.limit_pages_for_tests(page_count(db_path))
    with pytest.raises(StoreError) as raised:
        answer_with_audit(store, meta)
    assert str(raised.value) == (
        "the disk is full: nothing was lost, the last answer is kept in memory; "
        "free space and try again"
    )

    # Rolled back as a whole: earlier answers and the audit head unchanged, file verifies.
    with store.unit_of_work() as uow:
        assert uow.answers.load(meta) == {
            "chaq_dress_a": 1,
            "chaq_dress_b": "na",
            "chaq_devices": ["wheelchair", "jar_opener"],
        }
        assert uow.audit.head() == head_before
    assert store.verify().ok

    store.limit_pages_for_tests(None)  # space freed
    answer_with_audit(store, meta)
    with store.unit_of_work() as uow:
        assert uow.answers.load(meta)["chaq_note"] == BIG_TEXT
    assert store.verify().ok
