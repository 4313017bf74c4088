"""SQLModel tables of the study server, mirroring the latest migration (a test keeps them equal).

The schema itself is created only by ``epro_sync.migrations``; these classes are for queries.
Times are stored timezone-aware; SQLite hands them back naive, so ``as_utc`` restores UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import BigInteger, Column, DateTime, Index
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class ServerModel(SQLModel, registry=registry()):
    """Base of the server's tables: its own metadata, apart from the kiosk store's tables
    (both have a ``responses`` table, and one process may import both)."""


def _when(nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


def as_utc(value: datetime) -> datetime:
    """A database time as an aware UTC datetime, whichever backend produced it."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Device(ServerModel, table=True):
    __tablename__ = "devices"

    device_id: str = Field(primary_key=True, max_length=64)
    site: str = Field(max_length=64)
    label: str = Field(max_length=200)
    public_key: str = Field(max_length=64)
    token_sha256: str = Field(max_length=64)
    enrolled_at: datetime = Field(sa_column=_when())
    revoked_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    last_seen_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class EnrolCode(ServerModel, table=True):
    __tablename__ = "enrol_codes"

    code_sha256: str = Field(primary_key=True, max_length=64)
    site: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_when())
    expires_at: datetime = Field(sa_column=_when())
    used_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    device_id: str | None = Field(default=None, max_length=64)


class StoredResponse(ServerModel, table=True):
    __tablename__ = "responses"
    __table_args__ = (
        Index(
            "ix_responses_completion",
            "site",
            "patient",
            "visit",
            "form_id",
            "respondent",
            "submitted_at",
        ),
    )

    response_id: str = Field(primary_key=True, max_length=36)
    receipt_id: str = Field(max_length=36)
    device_id: str = Field(max_length=64)
    site: str = Field(max_length=64)
    patient: str = Field(max_length=64)
    visit: str = Field(max_length=64)
    form_id: str = Field(max_length=64)
    form_version: str = Field(max_length=64)
    respondent: str = Field(max_length=32)
    submitted_at: datetime = Field(sa_column=_when())
    out_of_window: bool
    sha256: str = Field(max_length=64)
    envelope: str
    received_at: datetime = Field(sa_column=_when())


class Quarantined(ServerModel, table=True):
    __tablename__ = "quarantine"

    id: int | None = Field(default=None, primary_key=True)
    response_id: str = Field(max_length=36)
    device_id: str = Field(max_length=64)
    sha256: str = Field(max_length=64)
    envelope: str
    received_at: datetime = Field(sa_column=_when())
    original_receipt_id: str = Field(max_length=36)


class AuditEvent(ServerModel, table=True):
    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_when())
    event: str = Field(max_length=40)
    device_id: str | None = Field(default=None, max_length=64)
    site: str | None = Field(default=None, max_length=64)
    detail: str
    actor: str | None = Field(default=None, max_length=320)


class Patient(ServerModel, table=True):
    __tablename__ = "patients"

    code: str = Field(primary_key=True, max_length=64)
    site: str = Field(max_length=64)
    birth_ym: str = Field(max_length=7)
    baseline_date: date
    language: str = Field(max_length=16)
    device_id: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_when())
    updated_at: datetime = Field(sa_column=_when())


class AuditHeadRow(ServerModel, table=True):
    __tablename__ = "audit_heads"

    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(max_length=64)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(max_length=64)
    at: datetime = Field(sa_column=_when())
    received_at: datetime = Field(sa_column=_when())


class ConsoleUser(ServerModel, table=True):
    """A console account. ``sites`` is the space-separated site codes it may see (None: all);
    passwords and reset codes are stored only as Argon2id and SHA-256 hashes."""

    __tablename__ = "console_users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    role: str = Field(max_length=20)
    sites: str | None = None
    password_hash: str | None = None
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_last_step: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    reset_sha256: str | None = Field(default=None, max_length=64)
    reset_expires_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    disabled_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    created_at: datetime = Field(sa_column=_when())
    last_login_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class ConsoleSession(ServerModel, table=True):
    """A server-side console session; the cookie holds the id, the table only its SHA-256.
    ``stage`` is ``full`` once logged in, or a step of the login still to do (``totp``,
    ``enrol``: TOTP enrolment, with the secret offered in ``pending_totp``)."""

    __tablename__ = "console_sessions"

    id_sha256: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="console_users.id")
    stage: str = Field(max_length=16)
    csrf_token: str = Field(max_length=64)
    pending_totp: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=_when())
    last_seen_at: datetime = Field(sa_column=_when())


class Annotation(ServerModel, table=True):
    """A data manager's mark on a stored response (append-only; see ``epro_sync.annotations``)."""

    __tablename__ = "annotations"

    id: int | None = Field(default=None, primary_key=True)
    response_id: str = Field(max_length=36, foreign_key="responses.response_id")
    site: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    reason: str
    actor: str = Field(max_length=200)
    at: datetime = Field(sa_column=_when())
