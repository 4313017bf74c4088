"""The encrypted local store: SQLite file, AES-GCM records, hash-chained audit, migrations.

Only this package sees rows, ciphertext and keys; everything else works with the domain
objects re-exported here, through a :class:`UnitOfWork` (or, for the session's
per-answer writes, the plain-SQL ``Store.transaction()`` of ``epro.store.hot``).
"""

from epro.store.domain import (
    AuditEvent,
    AuditKind,
    OutboxEntry,
    Patient,
    ResponseMeta,
    ResponseStatus,
    StaffMember,
)
from epro.store.store import Store, check_new_passphrase, init_store, open_store
from epro.store.unit_of_work import UnitOfWork
from epro.store.verify import VerifyReport

__all__ = [
    "AuditEvent",
    "AuditKind",
    "OutboxEntry",
    "Patient",
    "ResponseMeta",
    "ResponseStatus",
    "StaffMember",
    "Store",
    "UnitOfWork",
    "VerifyReport",
    "check_new_passphrase",
    "init_store",
    "open_store",
]
