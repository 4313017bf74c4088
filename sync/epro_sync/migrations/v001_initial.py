"""Schema version 1: devices, enrolment codes, responses, quarantine and the server audit log."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.engine import Connection

# Frozen copy of the tables as they were in version 1; later versions alter them in place.
_meta = MetaData()

Table(
    "devices",
    _meta,
    Column("device_id", String(64), primary_key=True),
    Column("site", String(64), nullable=False, index=True),
    Column("label", String(200), nullable=False),
    Column("public_key", String(64), nullable=False, unique=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)
Table(
    "enrol_codes",
    _meta,
    Column("code_sha256", String(64), primary_key=True),
    Column("site", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("device_id", String(64), nullable=True),
)
Table(
    "responses",
    _meta,
    # The primary key is the uniqueness guarantee the upload protocol rests on.
    Column("response_id", String(36), primary_key=True),
    Column("receipt_id", String(36), nullable=False, unique=True),
    Column("device_id", String(64), nullable=False),
    Column("site", String(64), nullable=False),
    Column("patient", String(64), nullable=False),
    Column("visit", String(64), nullable=False),
    Column("form_id", String(64), nullable=False),
    Column("form_version", String(64), nullable=False),
    Column("respondent", String(32), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("out_of_window", Boolean, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("envelope", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_responses_site_patient", "site", "patient"),
)
Table(
    "quarantine",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("response_id", String(36), nullable=False, index=True),
    Column("device_id", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("envelope", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("original_receipt_id", String(36), nullable=False),
)
Table(
    "audit",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("event", String(40), nullable=False),
    Column("device_id", String(64), nullable=True),
    Column("site", String(64), nullable=True),
    Column("detail", Text, nullable=False),
)

_SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
]
_POSTGRES_APPEND_ONLY = [
    """CREATE OR REPLACE FUNCTION epro_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the % table is append-only', TG_TABLE_NAME; END;
       $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
       FOR EACH ROW EXECUTE FUNCTION epro_append_only()""",
]


def upgrade(conn: Connection) -> None:
    _meta.create_all(conn)
    statements = _POSTGRES_APPEND_ONLY if conn.dialect.name == "postgresql" else _SQLITE_APPEND_ONLY
    for statement in statements:
        conn.execute(text(statement))
