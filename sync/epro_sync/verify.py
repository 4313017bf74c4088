"""``epro-sync verify``: check every stored envelope end to end, as a data manager does before lock.

An upload is authenticated by one request signature; each envelope also carries the signature
its kiosk made at Submit. This module checks, for every stored response, that its envelope
still parses, that ``sha256`` is the hash of its content, and that its own signature is valid
for the key the kiosk registered at enrolment. Nothing is changed; the run is audited.
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
from sqlmodel import Session, col, select

from epro.protocol import Envelope, content_sha256, signing_bytes
from epro_sync.storage import record
from epro_sync.tables import Device, StoredResponse

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

    @property
    def ok(self) -> bool:
        return not self.findings


def verify_responses(session: Session, now: datetime) -> VerifyReport:
    """Check every stored response (see the module docstring); audit the outcome."""
    keys = {device.device_id: _key(device) for device in session.exec(select(Device))}
    report = VerifyReport()
    for row in _responses(session):
        report.checked += 1
        problem = envelope_problem(row.envelope, row.response_id, keys.get(row.device_id))
        if problem:
            report.findings.append(Finding(row.response_id, row.device_id, problem))
    record(session, now, "verify", checked=report.checked, failed=len(report.findings))
    return report


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
