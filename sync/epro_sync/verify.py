"""``epro-sync verify``: check every stored envelope end to end, as a data manager does before lock.

An upload is authenticated by one request signature; each envelope also carries the signature
its kiosk made at Submit. This module checks, for every stored response, that its envelope
still parses, that ``sha256`` is the hash of its content, that its own signature is valid
for the key the kiosk registered at enrolment, and that the row's routing columns (kiosk, site,
patient, visit, form, respondent, time, hash) are the envelope's — an edited row is found.
Then the server's own audit chain (``server_audit``), and per kiosk the responses stored
against the number the kiosk last said it holds receipts for (its audit head): a deleted row
is found. Nothing is changed; the run is audited.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from epro.protocol import Envelope, content_sha256, signing_bytes
from epro_sync import server_audit
from epro_sync.kiosk_heads import held_head
from epro_sync.storage import record
from epro_sync.tables import Device, StoredResponse, as_utc

#: Responses read per query, so a large study does not sit in memory at once.
_CHUNK = 1000


@dataclass(frozen=True)
class Finding:
    """One stored response that failed a check."""

    response_id: str
    device_id: str
    problem: str


@dataclass
class VerifyReport:
    checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: Problems not of one stored response: the server audit chain, missing rows.
    problems: list[str] = field(default_factory=list)
    audit_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings and not self.problems


def verify_responses(session: Session, now: datetime) -> VerifyReport:
    """Check every stored response (see the module docstring); audit the outcome."""
    keys = {device.device_id: _key(device) for device in session.exec(select(Device))}
    report = VerifyReport()
    for row in _responses(session):
        report.checked += 1
        problem = envelope_problem(row.envelope, row.response_id, keys.get(row.device_id))
        if problem is None:
            problem = routing_problem(row)
        if problem:
            report.findings.append(Finding(row.response_id, row.device_id, problem))
    report.audit_rows, chain = server_audit.chain_problem(session.connection())
    if chain is not None:
        report.problems.append(chain)
    report.problems += count_problems(session)
    record(
        session,
        now,
        "verify",
        checked=report.checked,
        failed=len(report.findings),
        problems=len(report.problems),
    )
    return report


def routing_problem(row: StoredResponse) -> str | None:
    """Which routing column of the stored row differs from its (checked) envelope, if any."""
    envelope = Envelope.model_validate_json(row.envelope)
    expected = {
        "device_id": str(envelope.device_id),
        "site": envelope.site,
        "patient": envelope.patient,
        "visit": envelope.visit,
        "form_id": envelope.form_id,
        "form_version": envelope.form_version,
        "respondent": envelope.respondent,
        "sha256": envelope.sha256,
        "out_of_window": envelope.out_of_window,
        "submitted_at": as_utc(envelope.submitted_at),
    }
    for name, value in expected.items():
        stored = getattr(row, name)
        if name == "submitted_at":
            stored = as_utc(stored)
        if stored != value:
            return f"the stored {name} is not the envelope's (the row was edited)"
    return None


def count_problems(session: Session) -> list[str]:
    """Kiosks with fewer stored responses than they hold receipts for: rows were deleted."""
    stored = dict(
        session.exec(
            select(StoredResponse.device_id, func.count()).group_by(col(StoredResponse.device_id))
        ).all()
    )
    problems = []
    for device in session.exec(select(Device).order_by(col(Device.device_id))):
        head = held_head(session, device.device_id)
        if head is None or head.acknowledged is None:
            continue
        have = int(stored.get(device.device_id, 0))
        if have < head.acknowledged:
            problems.append(
                f"kiosk {device.device_id} ({device.label}) holds receipts for "
                f"{head.acknowledged} responses, but the server stores {have}: "
                f"{head.acknowledged - have} stored responses were deleted"
            )
    return problems


def envelope_problem(text: str, response_id: str, key: Ed25519PublicKey | None) -> str | None:
    """Why the stored envelope ``text`` does not check out, or None when it does."""
    try:
        envelope = Envelope.model_validate_json(text)
    except ValidationError:
        return "the stored envelope no longer parses"
    if str(envelope.response_id) != response_id:
        return "the stored envelope carries another response id"
    if content_sha256(envelope) != envelope.sha256:
        return "sha256 does not match the content"
    if key is None:
        return "the kiosk that sent it has no usable registered key"
    try:
        key.verify(base64.b64decode(envelope.signature), signing_bytes(envelope))
    except (InvalidSignature, ValueError, binascii.Error):
        return "the kiosk's signature is not valid for its registered key"
    return None


def _key(device: Device) -> Ed25519PublicKey | None:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(device.public_key))
    except (ValueError, binascii.Error):
        return None


def _responses(session: Session) -> Iterator[StoredResponse]:
    after = ""
    while True:
        chunk = session.exec(
            select(StoredResponse)
            .where(col(StoredResponse.response_id) > after)
            .order_by(col(StoredResponse.response_id))
            .limit(_CHUNK)
        ).all()
        yield from chunk
        if len(chunk) < _CHUNK:
            return
        after = chunk[-1].response_id
        session.expunge_all()
