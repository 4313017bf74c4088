"""Schema version 7: the server audit is hash-chained; kiosk audit heads are checked links.

* ``audit.prev_hash``/``audit.hash``: existing rows are chained in id order here (the
  append-only triggers are lifted for that one update and put back);
* ``audit_heads.keyed_from``/``audit_heads.acknowledged``: where the kiosk's keyed chain starts
  and how many responses it holds receipts for (``epro-sync verify`` compares);
* ``devices.audit_state``/``audit_problem``/``audit_flagged_at``: a rolled-back or forked kiosk
  log, flagged until a person resolves it (``epro-sync resolve-chain``);
* PostgreSQL: ``TRUNCATE`` of the append-only tables (audit, heads, annotations) is refused
  by statement-level triggers (row triggers never see a TRUNCATE).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from epro_sync.server_audit import chain_existing

_COLUMNS = [
    "ALTER TABLE audit ADD COLUMN prev_hash VARCHAR(64)",
    "ALTER TABLE audit ADD COLUMN hash VARCHAR(64)",
    "ALTER TABLE audit_heads ADD COLUMN keyed_from BIGINT",
    "ALTER TABLE audit_heads ADD COLUMN acknowledged BIGINT",
    "ALTER TABLE devices ADD COLUMN audit_state VARCHAR(16)",
    "ALTER TABLE devices ADD COLUMN audit_problem TEXT",
    "ALTER TABLE devices ADD COLUMN audit_flagged_at TIMESTAMP WITH TIME ZONE",
]
_SQLITE_UPDATE_TRIGGER = """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"""
_POSTGRES_NO_TRUNCATE = [
    """CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
       FOR EACH STATEMENT EXECUTE FUNCTION epro_append_only()""",
    """CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
       FOR EACH STATEMENT EXECUTE FUNCTION epro_append_only()""",
    """CREATE TRIGGER annotations_no_truncate BEFORE TRUNCATE ON annotations
       FOR EACH STATEMENT EXECUTE FUNCTION epro_append_only()""",
]


def upgrade(conn: Connection) -> None:
    for statement in _COLUMNS:
        conn.execute(text(statement))
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit DISABLE TRIGGER audit_append_only"))
        chain_existing(conn)
        conn.execute(text("ALTER TABLE audit ENABLE TRIGGER audit_append_only"))
        for statement in _POSTGRES_NO_TRUNCATE:
            conn.execute(text(statement))
    else:
        conn.execute(text("DROP TRIGGER audit_no_update"))
        chain_existing(conn)
        conn.execute(text(_SQLITE_UPDATE_TRIGGER))
