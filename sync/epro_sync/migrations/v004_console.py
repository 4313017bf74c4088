"""Schema version 4: console accounts and their server-side sessions; who did an audited act.

``audit.actor`` names the console account behind an event (kiosk events keep ``device_id``);
older events have none. Adding a column is not an UPDATE, so the append-only triggers stay.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.engine import Connection

_meta = MetaData()

Table(
    "console_users",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("sites", Text, nullable=True),
    Column("password_hash", Text, nullable=True),
    Column("totp_secret", String(64), nullable=True),
    Column("totp_last_step", BigInteger, nullable=True),
    Column("reset_sha256", String(64), nullable=True, unique=True),
    Column("reset_expires_at", DateTime(timezone=True), nullable=True),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
)
Table(
    "console_sessions",
    _meta,
    Column("id_sha256", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("console_users.id"), nullable=False, index=True),
    Column("stage", String(16), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("pending_totp", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)


def upgrade(conn: Connection) -> None:
    _meta.create_all(conn)
    conn.execute(text("ALTER TABLE audit ADD COLUMN actor VARCHAR(320)"))
