"""Every connection runs with WAL, synchronous=FULL, foreign keys and a busy timeout — checked."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import event

from epro.errors import StoreError
from epro.store import Store
from epro.store.connection import BUSY_TIMEOUT_MS, EXPECTED_PRAGMAS, apply_pragmas, read_pragmas


def test_every_new_connection_has_the_safety_pragmas(store: Store) -> None:
    engine = store._context.engine
    seen: list[dict[str, str | int]] = []

    # Registered after the store's own listener, so it runs after it on each new connection.
    @event.listens_for(engine, "connect")
    def record(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        seen.append(read_pragmas(dbapi_connection))

    for _ in range(3):
        engine.dispose()  # the next unit of work must open a brand-new connection
        with store.unit_of_work() as uow:
            assert uow.pragmas() == EXPECTED_PRAGMAS
    worker = threading.Thread(target=store.verify)
    worker.start()
    worker.join()
    assert len(seen) >= 3
    assert seen == [EXPECTED_PRAGMAS] * len(seen)


def test_the_expected_values_are_the_safe_ones() -> None:
    assert EXPECTED_PRAGMAS == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": BUSY_TIMEOUT_MS,
    }


def test_a_connection_that_refuses_wal_is_an_error_naming_the_setting() -> None:
    # An in-memory database cannot use WAL: SQLite answers "memory" — the read-back catches it.
    connection = sqlite3.connect(":memory:")
    with pytest.raises(StoreError, match="journal_mode is 'memory', needs 'wal'"):
        apply_pragmas(connection)
    connection.close()


def test_foreign_keys_are_enforced(store: Store, db_path: Path) -> None:
    with store.unit_of_work() as uow:
        raw = uow._require_session().connection().connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            raw.execute("INSERT INTO answers VALUES ('no-such-response', 'x', 1, x'00')")
