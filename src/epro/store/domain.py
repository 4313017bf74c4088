"""Domain objects of the local store: what repositories hand out and take in.

Table rows convert to and from these in one place (the repositories); the session service,
the kiosk and the sync client only ever see these objects — never rows, ciphertext or keys.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum


class ResponseStatus(StrEnum):
    """Life of a response: in_progress → submitted → sent → acknowledged, or stopped."""

    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    STOPPED = "stopped"


class AuditKind(StrEnum):
    SESSION_START = "session_start"
    SESSION_STOP = "session_stop"
    ANSWERED = "answered"
    CHANGED = "changed"
    SKIPPED = "skipped"
    CLEARED = "cleared"  # an answer cleared because its item became disabled
    TIMEOUT = "timeout"
    RESUME = "resume"
    SUBMIT = "submit"
    ENROL = "enrol"
    PIN_FAILURE = "pin_failure"
    PIN_LOCKED = "pin_locked"
    PURGE = "purge"
    SYNC = "sync"
    UNLOCK = "unlock"
    PASSPHRASE_CHANGED = "passphrase_changed"
    STORE_INIT = "store_init"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def new_response_id(started_at: datetime) -> str:
    """A new response id: a time-ordered UUID (version 7, RFC 9562) of ``started_at``.

    48 bits of Unix milliseconds, then 74 random bits. Ids made later sort later, so a
    kiosk's responses, answers and outbox entries sit next to each other in their indexes
    (and in the server's): acknowledging a batch rewrites a few neighbouring index pages
    instead of touching nearly every page of a random (version 4) key. The time it carries
    is the session's start, which the kiosk keeps anyway; the server sees the submit time.
    """
    millis = (started_at - _EPOCH) // _MILLISECOND & (1 << 48) - 1
    tail = bytearray(os.urandom(10))
    tail[0] = tail[0] & 0x0F | 0x70  # version 7 over the top bits of rand_a
    tail[2] = tail[2] & 0x3F | 0x80  # RFC 9562 variant
    return str(uuid.UUID(bytes=millis.to_bytes(6, "big") + bytes(tail)))


@dataclass(frozen=True, slots=True)
class Patient:
    """A pseudonymous study participant: no names, only a study code."""

    code: str
    birth_ym: str  # "YYYY-MM"
    baseline_date: date
    site: str
    language: str = "en"


@dataclass(slots=True)
class ResponseMeta:
    """Everything about a response except the answers themselves (which are encrypted)."""

    id: str  # client UUID made when the session starts, never regenerated
    patient: str
    visit: str
    form_id: str
    form_version: str
    form_sha256: str
    respondent: str
    language: str
    status: ResponseStatus
    started_at: datetime
    updated_at: datetime
    key_version: int = 1
    position: int = 0  # index of the item on screen, for resume
    submitted_at: datetime | None = None
    out_of_window_reason: str | None = None
    answers_sha256: str | None = None  # kept after the answer ciphertext is purged
    purged: bool = False


@dataclass(slots=True)
class OutboxEntry:
    """A sealed, signed envelope waiting for (or having received) the server's receipt."""

    response_id: str
    envelope_json: str
    sha256: str
    created_at: datetime
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    acknowledged_at: datetime | None = None
    receipt_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One link of the SHA-256 chained, append-only audit log (UTC time)."""

    seq: int
    at: datetime
    actor: str
    kind: AuditKind
    device_id: str
    response_id: str | None
    link_id: str | None
    detail: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A nurse or other staff member; the PIN is only ever stored as an Argon2id hash."""

    name: str
    failures: int
    locked_until: datetime | None
