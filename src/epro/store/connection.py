"""Opening the SQLite file safely: PRAGMAs asserted on every connection, errors in plain words.

Every connection gets WAL, ``synchronous=FULL``, foreign keys and a busy timeout, and the values
are read back: a file system that silently refuses WAL (some network drives) is an error, not a
quiet loss of durability. Transactions start with ``BEGIN IMMEDIATE`` so that two writers queue
on the busy timeout instead of failing mid-transaction when one upgrades a read lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy.exc
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext

from epro.errors import StoreError

#: "EPRO" in ASCII: marks the file as an epro kiosk database (``PRAGMA application_id``).
APPLICATION_ID = 0x4550524F
BUSY_TIMEOUT_MS = 10_000

EXPECTED_PRAGMAS: dict[str, str | int] = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL: a committed answer survives a power cut
    "foreign_keys": 1,
    "busy_timeout": BUSY_TIMEOUT_MS,
}


@dataclass(slots=True)
class Limits:
    """Connection limits; only tests set ``max_page_count`` (to simulate a full disk)."""

    max_page_count: int | None = None


def read_pragmas(connection: sqlite3.Connection) -> dict[str, str | int]:
    values: dict[str, str | int] = {}
    for name in EXPECTED_PRAGMAS:
        row = connection.execute(f"PRAGMA {name}").fetchone()
        values[name] = row[0]
    return values


def apply_pragmas(connection: sqlite3.Connection, limits: Limits | None = None) -> None:
    """Set the safety PRAGMAs and read them back; StoreError if any did not take effect."""
    connection.execute("PRAGMA journal_mode = WAL").fetchone()
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if limits is not None and limits.max_page_count is not None:
        connection.execute(f"PRAGMA max_page_count = {int(limits.max_page_count)}")
    actual = read_pragmas(connection)
    wrong = [
        f"{name} is {actual[name]!r}, needs {expected!r}"
        for name, expected in EXPECTED_PRAGMAS.items()
        if actual[name] != expected
    ]
    if wrong:
        raise StoreError(
            "the database refused its safety settings ("
            + "; ".join(wrong)
            + "); keep the database on a local disk (not a network or read-only drive)"
        )


def make_engine(path: Path, limits: Limits) -> Engine:
    """An engine whose every connection is checked; no I/O happens until first use."""
    engine = create_engine(URL.create("sqlite", database=str(path)))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let us issue BEGIN ourselves (the sqlite3 module's implicit BEGIN is deferred).
        dbapi_connection.isolation_level = None
        try:
            apply_pragmas(dbapi_connection, limits)
        except sqlite3.Error as error:
            raise translate(error, path) from None

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # Replace the driver error (whose text may carry bound row values) with plain words.
        original = context.original_exception
        if isinstance(original, sqlite3.Error):
            raise translate(original, path) from None

    return engine


def open_raw(path: Path) -> sqlite3.Connection:
    """A plain connection that never creates the file and changes nothing by itself."""
    uri = path.resolve().as_uri() + "?mode=rw"
    try:
        return sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise translate(error, path) from None


def translate(error: BaseException, path: Path) -> StoreError:
    """One plain-language StoreError for a database failure (never with row values in it)."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_FULL:
        return StoreError(
            "the disk is full: nothing was lost, the last answer is kept in memory; "
            "free space and try again"
        )
    if primary == sqlite3.SQLITE_NOTADB:
        return StoreError(
            f"{path} is not an epro database (not a SQLite file); check the --db path, "
            "or restore the database from its backup"
        )
    if primary == sqlite3.SQLITE_CORRUPT:
        return StoreError(
            f"{path} is damaged (the database file is malformed); restore it from its backup "
            "and report the damaged copy to the data manager"
        )
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreError(
            f"{path} is busy in another epro program; close the other program and try again"
        )
    if primary == sqlite3.SQLITE_READONLY:
        return StoreError(f"{path} cannot be written (read-only file or drive); check its rights")
    if primary == sqlite3.SQLITE_CANTOPEN:
        return StoreError(f"{path} cannot be opened; check that the folder exists and is writable")
    if primary == sqlite3.SQLITE_IOERR:
        return StoreError(f"reading or writing {path} failed (disk error); check the disk")
    # SQLite's own message names tables and constraints, never row values.
    message = str(getattr(error, "args", ("",))[0] or error.__class__.__name__)
    return StoreError(f"the database {path} failed ({message}); run `epro verify --db {path}`")


@contextmanager
def db_errors(path: Path) -> Iterator[None]:
    """Translate driver errors raised inside the block into StoreError."""
    try:
        yield
    except sqlalchemy.exc.DBAPIError as error:
        raise translate(error.orig or error, path) from None
    except sqlite3.Error as error:
        raise translate(error, path) from None
