"""Batch upload: check each envelope on its own, store it exactly once, answer with receipts.

The primary key on ``responses.response_id`` is what makes "exactly once" true under
concurrency: a batch is inserted with ``ON CONFLICT (response_id) DO NOTHING``, so the key, not
a prior look-up, decides. An id the key refused was stored by some request (an earlier one, a
concurrent one, another server instance — on PostgreSQL the insert waits for a concurrent
writer of the same id to commit); we then read what it stored and answer ``duplicate`` or
``conflict``. One statement for the whole batch instead of one round trip per envelope.
Functions never commit; the route does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from epro.protocol import Envelope, Receipt, ReceiptStatus, signing_bytes
from epro_sync.storage import record
from epro_sync.tables import Device, Quarantined, StoredResponse, as_utc


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"]) or "envelope"
    return f"{where}: {problem['msg'].removeprefix('Value error, ')}"


def store_batch(session: Session, device: Device, items: list[Any], now: datetime) -> list[Receipt]:
    """Check and store each envelope on its own; receipts come back in the order given."""
    receipts: list[Receipt | None] = [None] * len(items)
    valid: list[tuple[int, Envelope]] = []
    key = _device_key(device)  # parsed once per batch, not once per envelope
    for index, item in enumerate(items):
        try:
            envelope = Envelope.model_validate(item)
        except ValidationError as error:
            raw_id = item.get("response_id") if isinstance(item, dict) else None
            receipts[index] = _rejected(
                raw_id, f"envelope {index} is malformed: {_first_problem(error)}"
            )
            continue
        problem = _envelope_problem(envelope, device, key)
        if problem:
            receipts[index] = _rejected(envelope.response_id, problem)
        else:
            valid.append((index, envelope))
    for index, receipt in _store_all(session, device, valid, now).items():
        receipts[index] = receipt
    done = [receipt for receipt in receipts if receipt is not None]
    counts = {status: sum(r.status == status for r in done) for status in _STATUSES}
    record(session, now, "batch_received", device=device, **counts)
    device.last_seen_at = now
    session.add(device)
    return done


_STATUSES = ("stored", "duplicate", "conflict", "rejected")


def _rejected(response_id: Any, message: str) -> Receipt:
    try:
        parsed = uuid.UUID(str(response_id)) if response_id is not None else None
    except ValueError:
        parsed = None
    return Receipt(
        response_id=parsed,
        status="rejected",
        receipt_id=None,
        received_at=None,
        sha256=None,
        message=message,
    )


def _device_key(device: Device) -> Ed25519PublicKey | None:
    """The kiosk's registered key, or None when it is unusable (every envelope then fails)."""
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(device.public_key))
    except (ValueError, binascii.Error):
        return None


def _signature_problem(envelope: Envelope, key: Ed25519PublicKey | None) -> str | None:
    """``epro.protocol.verify_envelope`` with the key parsed once per batch and the signing
    bytes built once per envelope (they were the largest cost after the signature itself)."""
    data = signing_bytes(envelope)
    if hashlib.sha256(data).hexdigest() != envelope.sha256:
        return (
            f"envelope {envelope.response_id}: sha256 does not match its content; "
            "it was changed after it was signed"
        )
    try:
        if key is None:
            raise ValueError("no usable key")
        key.verify(base64.b64decode(envelope.signature), data)
    except (InvalidSignature, ValueError, binascii.Error):
        return (
            f"envelope {envelope.response_id}: the signature is not valid for the key "
            f"registered for kiosk {envelope.device_id}"
        )
    return None


def _envelope_problem(
    envelope: Envelope, device: Device, key: Ed25519PublicKey | None
) -> str | None:
    if envelope.device_id != device.device_id:
        return (
            f"envelope {envelope.response_id} names kiosk {envelope.device_id} but was sent "
            f"with the token of kiosk {device.device_id}; each kiosk uploads only its own"
        )
    if envelope.site != device.site:
        return (
            f"envelope {envelope.response_id} is for site {envelope.site} but this kiosk is "
            f"enrolled at site {device.site}"
        )
    return _signature_problem(envelope, key)


def _store_all(
    session: Session, device: Device, envelopes: list[tuple[int, Envelope]], now: datetime
) -> dict[int, Receipt]:
    """Insert every new id in one statement; what the key refused is re-read and classified."""
    first: dict[str, dict[str, Any]] = {}
    for _index, envelope in envelopes:
        first.setdefault(str(envelope.response_id), _row(envelope, now))
    # Sorted ids give every transaction the same lock order: no deadlock between two batches.
    rows = [first[key] for key in sorted(first)]
    inserted: set[str] = set()
    if rows:
        statement = _insert_ignoring_existing(session).returning(_RESPONSES.c.response_id)
        inserted = set(session.connection().execute(statement, rows).scalars())
    # Rows the key refused were stored earlier, by a concurrent request, or by an earlier
    # copy in this very batch; read them now (READ COMMITTED sees a concurrent winner).
    refused = {str(e.response_id) for _i, e in envelopes} - inserted
    stored = _read_receipts(session, refused | inserted)
    receipts: dict[int, Receipt] = {}
    fresh = set(inserted)
    for index, envelope in envelopes:
        key = str(envelope.response_id)
        original = stored[key]
        if key in fresh and original.sha256 == envelope.sha256:
            fresh.discard(key)  # the first copy in the batch is the one that was stored
            receipts[index] = _receipt(original, "stored", "")
        elif original.sha256 == envelope.sha256:
            receipts[index] = _receipt(
                original, "duplicate", "already stored; this is the original receipt"
            )
        else:
            receipts[index] = _quarantine(session, device, envelope, original, now)
    return receipts


_RESPONSES: Table = StoredResponse.metadata.tables["responses"]


def _insert_ignoring_existing(session: Session) -> Any:
    """``INSERT … ON CONFLICT (response_id) DO NOTHING`` in the backend's own dialect."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(_RESPONSES).on_conflict_do_nothing(index_elements=["response_id"])


def _row(envelope: Envelope, now: datetime) -> dict[str, Any]:
    return {
        "response_id": str(envelope.response_id),
        "receipt_id": str(uuid.uuid4()),
        "device_id": envelope.device_id,
        "site": envelope.site,
        "patient": envelope.patient,
        "visit": envelope.visit,
        "form_id": envelope.form_id,
        "form_version": envelope.form_version,
        "respondent": envelope.respondent,
        "submitted_at": envelope.submitted_at,
        "out_of_window": envelope.out_of_window,
        "sha256": envelope.sha256,
        "envelope": envelope.model_dump_json(),
        "received_at": now,
    }


@dataclass(frozen=True)
class _Stored:
    response_id: str
    receipt_id: str
    sha256: str
    received_at: datetime


def _read_receipts(session: Session, ids: set[str]) -> dict[str, _Stored]:
    found: dict[str, _Stored] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):  # keep IN lists well under driver limits
        chunk = ordered[start : start + 500]
        rows = session.connection().execute(
            select(
                _RESPONSES.c.response_id,
                _RESPONSES.c.receipt_id,
                _RESPONSES.c.sha256,
                _RESPONSES.c.received_at,
            ).where(_RESPONSES.c.response_id.in_(chunk))
        )
        for row in rows:
            found[row.response_id] = _Stored(
                row.response_id, row.receipt_id, row.sha256, as_utc(row.received_at)
            )
    return found


def _quarantine(
    session: Session, device: Device, envelope: Envelope, original: _Stored, now: datetime
) -> Receipt:
    session.add(
        Quarantined(
            response_id=original.response_id,
            device_id=envelope.device_id,
            sha256=envelope.sha256,
            envelope=envelope.model_dump_json(),
            received_at=now,
            original_receipt_id=original.receipt_id,
        )
    )
    record(
        session,
        now,
        "conflict",
        device=device,
        response_id=original.response_id,
        original_sha256=original.sha256,
        new_sha256=envelope.sha256,
    )
    receipt = _receipt(
        original,
        "conflict",
        "a different response with this id was stored before; the original is kept and this "
        "one is quarantined for the data manager to review",
    )
    return receipt.model_copy(update={"sha256": envelope.sha256})


def _receipt(row: _Stored, status: ReceiptStatus, message: str) -> Receipt:
    return Receipt(
        response_id=uuid.UUID(row.response_id),
        status=status,
        receipt_id=uuid.UUID(row.receipt_id),
        received_at=row.received_at,
        sha256=row.sha256,
        message=message,
    )
