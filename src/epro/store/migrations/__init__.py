"""A small versioned migration runner: numbered steps of SQL, applied in one transaction.

The schema version lives in SQLite's own header field ``PRAGMA user_version`` (the file type in
``PRAGMA application_id``): both are readable before anything else about the file is trusted,
and both change inside the same transaction as the DDL, so a crash leaves the old version or the
new one, never a half-migrated file. SQLite DDL is transactional, which is why plain numbered
SQL steps are enough here and a heavier tool (Alembic) would add nothing but moving parts.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from epro.store.migrations import (
    v0001_initial,
    v0002_settings,
    v0003_outbox_pending_index,
    v0004_outbox_envelopes,
    v0005_keyed_audit,
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = tuple(
    Migration(module.VERSION, module.DESCRIPTION, module.STATEMENTS)
    for module in (
        v0001_initial,
        v0002_settings,
        v0003_outbox_pending_index,
        v0004_outbox_envelopes,
        v0005_keyed_audit,
    )
)

#: The schema this program writes; a file with a higher version is refused, never downgraded.
CURRENT_VERSION = MIGRATIONS[-1].version


def pending(from_version: int, to_version: int = CURRENT_VERSION) -> list[Migration]:
    """The steps that take a database from ``from_version`` to ``to_version``, in order."""
    return [m for m in MIGRATIONS if from_version < m.version <= to_version]


def apply(connection: sqlite3.Connection, from_version: int, to_version: int) -> None:
    """Run the pending steps on ``connection``, which must already be inside a transaction.

    The caller owns the transaction: it commits once after all steps (or rolls everything back).
    """
    for migration in pending(from_version, to_version):
        for statement in migration.statements:
            connection.execute(statement)
        # PRAGMA values cannot be bound parameters; the version is our own int.
        connection.execute(f"PRAGMA user_version = {int(migration.version)}")
