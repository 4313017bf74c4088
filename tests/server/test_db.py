"""Engine helpers: read-only sessions take no write lock; uploads in one process queue on a
lock of their own in front of SQLite's single writer."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from epro_sync.db import make_engine, read_session, writer_lock


def test_a_read_session_reads_while_another_connection_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'server.sqlite3'}")
    try:
        with engine.connect() as writer:  # BEGIN IMMEDIATE: holds the write lock
            writer.execute(text("CREATE TABLE t (x INTEGER)"))
            started = time.monotonic()
            with read_session(engine) as session:
                assert session.execute(text("SELECT 1")).scalar() == 1
            assert time.monotonic() - started < 5  # no wait for the writer (busy timeout 30 s)
            writer.rollback()
    finally:
        engine.dispose()


def test_uploads_of_one_sqlite_engine_share_one_writer_lock(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'server.sqlite3'}")
    other = make_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    try:
        assert writer_lock(engine) is writer_lock(engine)
        assert writer_lock(engine) is not writer_lock(other)
        order: list[str] = []
        with writer_lock(engine):
            waiter = threading.Thread(target=lambda: _enter(engine, order))
            waiter.start()
            time.sleep(0.05)
            order.append("first done")
        waiter.join(5)
        assert order == ["first done", "second in"]
    finally:
        engine.dispose()
        other.dispose()


def _enter(engine: object, order: list[str]) -> None:
    with writer_lock(engine):  # type: ignore[arg-type]
        order.append("second in")


def test_postgresql_needs_no_writer_lock() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connects
    with writer_lock(engine) as held:
        assert held is None
