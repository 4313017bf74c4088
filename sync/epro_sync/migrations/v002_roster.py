"""Schema version 2: the patient roster, kiosk audit-log heads, and when a kiosk was last seen."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    text,
)
from sqlalchemy.engine import Connection

_meta = MetaData()

Table(
    "patients",
    _meta,
    Column("code", String(64), primary_key=True),
    Column("site", String(64), nullable=False, index=True),
    Column("birth_ym", String(7), nullable=False),
    Column("baseline_date", Date, nullable=False),
    Column("language", String(16), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Table(
    "audit_heads",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", String(64), nullable=False, index=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

_SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER audit_heads_no_update BEFORE UPDATE ON audit_heads
       BEGIN SELECT RAISE(ABORT, 'the audit_heads table is append-only'); END""",
    """CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
       BEGIN SELECT RAISE(ABORT, 'the audit_heads table is append-only'); END""",
]
_POSTGRES_APPEND_ONLY = [
    """CREATE TRIGGER audit_heads_append_only BEFORE UPDATE OR DELETE ON audit_heads
       FOR EACH ROW EXECUTE FUNCTION epro_append_only()""",
]


def upgrade(conn: Connection) -> None:
    _meta.create_all(conn)
    conn.execute(text("ALTER TABLE devices ADD COLUMN last_seen_at TIMESTAMP WITH TIME ZONE"))
    statements = _POSTGRES_APPEND_ONLY if conn.dialect.name == "postgresql" else _SQLITE_APPEND_ONLY
    for statement in statements:
        conn.execute(text(statement))
