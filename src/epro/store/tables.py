"""The SQLModel tables of the local store: rows only, no behaviour.

Rows never leave ``epro.store``: the repositories convert them to and from the domain objects
in ``domain.py``. Times are stored as ISO-8601 UTC text (``_time.py``) so that no driver ever
guesses a time zone. The schema is *created* by the numbered migrations in ``migrations/``; a
test checks that the migrated database matches these models exactly.
"""

from __future__ import annotations

from sqlalchemy import Index, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class StoreModel(SQLModel, registry=registry()):
    """Base of the kiosk's tables: their own metadata, apart from the study server's tables
    (both have ``responses`` and ``audit`` tables, and one process may import both)."""


class MetaRow(StoreModel, table=True):
    """Key material: the data key wrapped under the passphrase-derived key (one row)."""

    __tablename__ = "meta"

    id: int = Field(default=1, primary_key=True)
    kdf_salt: bytes
    kdf_params: str  # JSON of KdfParams
    wrapped_key: bytes
    key_version: int
    created_at: str


class DeviceRow(StoreModel, table=True):
    __tablename__ = "device"

    id: str = Field(primary_key=True)
    site: str
    public_key: bytes
    private_key_enc: bytes  # encrypted under the data key
    study_public_key: str | None = None  # public, so stored in clear (JSON)
    created_at: str


class PatientRow(StoreModel, table=True):
    __tablename__ = "patients"

    code: str = Field(primary_key=True)
    birth_ym: str
    baseline_date: str
    site: str
    language: str


class ResponseRow(StoreModel, table=True):
    __tablename__ = "responses"

    id: str = Field(primary_key=True)
    patient: str = Field(foreign_key="patients.code", index=True)
    visit: str
    form_id: str
    form_version: str
    form_sha256: str
    respondent: str
    language: str
    status: str = Field(index=True)
    started_at: str
    updated_at: str
    key_version: int
    position: int
    submitted_at: str | None = None
    answers_sha256: str | None = None
    purged: bool
    out_of_window_reason: str | None = None  # schema v2


class AnswerRow(StoreModel, table=True):
    """One encrypted answer: nonce || AES-GCM ciphertext+tag, bound to its row by the AAD."""

    __tablename__ = "answers"

    response_id: str = Field(foreign_key="responses.id", primary_key=True)
    link_id: str = Field(primary_key=True)
    key_version: int
    ciphertext: bytes


class OutboxRow(StoreModel, table=True):
    __tablename__ = "outbox"
    # Schema v3: only the rows still waiting for a receipt, in upload order, so the next batch
    # and the queue count do not scan the acknowledged envelopes the outbox keeps.
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "created_at",
            "response_id",
            sqlite_where=text("acknowledged_at IS NULL"),
        ),
    )

    response_id: str = Field(foreign_key="responses.id", primary_key=True)
    sha256: str
    created_at: str
    attempts: int
    last_error: str | None = None
    sent_at: str | None = None
    acknowledged_at: str | None = None
    receipt_id: str | None = None


class EnvelopeRow(StoreModel, table=True):
    """The sealed envelope of an outbox entry: written once at Submit, never changed.

    Schema v4: apart from the outbox row, so the changes at each attempt and at the receipt
    rewrite small rows instead of the pages holding the envelopes.
    """

    __tablename__ = "envelopes"

    response_id: str = Field(foreign_key="responses.id", primary_key=True)
    envelope_json: str  # sealed to the study key: the kiosk itself cannot read it


class StaffRow(StoreModel, table=True):
    __tablename__ = "staff"

    name: str = Field(primary_key=True)
    pin_hash: str
    failures: int
    locked_until: str | None = None
    created_at: str


class AuditRow(StoreModel, table=True):
    """Append-only (a trigger forbids UPDATE and DELETE); ``verify`` recomputes the chain."""

    __tablename__ = "audit"

    seq: int = Field(primary_key=True)
    at: str
    actor: str
    kind: str
    device_id: str
    response_id: str | None = None
    link_id: str | None = None
    detail: str | None = None
    prev_hash: str
    hash: str


class AuditKeyingRow(StoreModel, table=True):
    """Where the keyed part of the audit chain starts, and its HMAC (schema v5, one row)."""

    __tablename__ = "audit_keying"

    id: int = Field(default=1, primary_key=True)
    keyed_from: int
    mac: bytes | None = None


class SettingRow(StoreModel, table=True):
    """Small configuration values (schema v2); secrets are encrypted under the data key."""

    __tablename__ = "settings"

    name: str = Field(primary_key=True)
    value: str | None = None
    ciphertext: bytes | None = None
    secret: bool
