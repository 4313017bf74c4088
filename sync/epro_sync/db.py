"""Engine construction: one code path for SQLite (WAL) and PostgreSQL, chosen by URL."""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlmodel import Session

#: How long a SQLite writer waits for the lock before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 30_000

#: Execution option marking a connection whose transaction only reads (see read_session).
_READ_ONLY = "epro_read_only"

#: Page size of a new server database file.
SQLITE_PAGE_SIZE = 16_384


#: One lock per SQLite engine, taken around an upload's write transaction (see writer_lock).
_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


def make_engine(database_url: str) -> Engine:
    """An engine for ``database_url``; SQLite gets WAL, full fsync and serialised writers."""
    if not database_url.startswith("sqlite"):
        return create_engine(database_url, pool_pre_ping=True)
    engine = create_engine(database_url, connect_args={"check_same_thread": False, "timeout": 30})
    _WRITERS[engine] = threading.Lock()

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling would start transactions lazily (and too late
        # to take the write lock); we emit BEGIN ourselves in the "begin" hook below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Only a new, empty file takes it (before WAL is switched on): envelopes are a few
        # kilobytes each, and larger pages mean fewer page writes per stored batch.
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two concurrent uploads queue behind each
        # other instead of one failing with "database is locked" when it upgrades to a writer.
        # A session opened with read_session() only reads: a plain BEGIN, no write lock.
        if connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def writer_lock(engine: Engine) -> contextlib.AbstractContextManager[object]:
    """Hold around a write transaction that other threads of this process may race for.

    SQLite has one writer at a time, and a connection waiting for the write lock polls it,
    sleeping 1, 2, 5, 10 … milliseconds in between: it wakes several milliseconds after the
    lock is free, every time two uploads meet. Waiting on this process's own lock first wakes
    the next upload the moment the previous one commits (another process, such as the CLI,
    is still waited for by SQLite's busy timeout). PostgreSQL locks rows, not the database:
    nothing to hold there.
    """
    lock = _WRITERS.get(engine)
    return lock if lock is not None else contextlib.nullcontext()


def read_session(engine: Engine) -> Session:
    """A session for reads only: on SQLite its transaction does not take the write lock
    (writing through it is a mistake, and fails with "database is locked" under load)."""
    session = Session(engine)
    session.connection(execution_options={_READ_ONLY: True})
    return session


@contextlib.contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection in one read-only transaction that sees one consistent state of the
    database throughout, however long it reads (an export streams every table in turn):
    REPEATABLE READ on PostgreSQL; on SQLite a plain read transaction, which in WAL mode reads
    one snapshot and never blocks writers."""
    options: dict[str, Any] = {_READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    with engine.connect().execution_options(**options) as connection, connection.begin():
        yield connection


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
