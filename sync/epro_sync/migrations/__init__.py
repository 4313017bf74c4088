"""Versioned schema migrations of the study server, applied in order and recorded in the database.

Each migration module holds its own frozen DDL (never the current table models), so an old
database is upgraded exactly along the path a real one took. ``migrate`` is idempotent and safe
to run from several server instances at once (PostgreSQL advisory lock; SQLite write lock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, inspect, text
from sqlalchemy.engine import Connection

from epro.errors import EproError
from epro_sync.migrations import (
    v001_initial,
    v002_roster,
    v003_completion_index,
    v004_console,
    v005_annotations,
)

#: An arbitrary constant naming this server's migration lock on PostgreSQL.
_ADVISORY_LOCK_ID = 7_303_011_250


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    upgrade: Callable[[Connection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1, "initial: devices, enrolment codes, responses, quarantine, audit", v001_initial.upgrade
    ),
    Migration(2, "roster, audit heads, device last seen", v002_roster.upgrade),
    Migration(3, "covering index for completion", v003_completion_index.upgrade),
    Migration(4, "console accounts and sessions, audit actor", v004_console.upgrade),
    Migration(5, "annotations of stored responses (entered in error)", v005_annotations.upgrade),
)
LATEST = MIGRATIONS[-1].version

_meta = MetaData()
schema_version = Table(
    "schema_version",
    _meta,
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


def current_version(engine: Engine) -> int:
    """The schema version of the database, 0 when it is empty."""
    if not inspect(engine).has_table("schema_version"):
        return 0
    with engine.connect() as conn:
        found = conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar()
    return int(found or 0)


def migrate(engine: Engine, target: int = LATEST) -> list[int]:
    """Apply every pending migration up to ``target``; return the versions applied."""
    if not 0 <= target <= LATEST:
        raise EproError(f"unknown schema version {target}; this epro-sync knows 1–{LATEST}")
    applied: list[int] = []
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
        schema_version.create(conn, checkfirst=True)
        found = conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar()
        have = int(found or 0)
        if have > LATEST:
            raise EproError(
                f"the database is at schema version {have}, newer than this epro-sync "
                f"(which knows up to {LATEST}); upgrade epro-sync before serving it"
            )
        # One transaction for the whole upgrade: both SQLite and PostgreSQL have transactional
        # DDL, so a failed step leaves the database exactly as it was.
        for migration in MIGRATIONS:
            if have < migration.version <= target:
                migration.upgrade(conn)
                conn.execute(
                    schema_version.insert().values(
                        version=migration.version,
                        name=migration.name,
                        applied_at=datetime.now(UTC),
                    )
                )
                applied.append(migration.version)
    return applied
