"""Shared helpers of the session tests: fixed clock, enrolment, and reading the outbox the way
the study would (open the seal with the study private key, check the device signature)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from epro.crypto import StudyPrivateKey, open_sealed
from epro.protocol import Envelope, verify_envelope
from epro.session.submission import SEAL_INFO
from epro.store import Store
from epro.store.domain import AuditEvent, Patient

PASSPHRASE = "correct horse battery"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TODAY = NOW.date()


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def birth_ym_for_age(years: int, on: date = TODAY) -> str:
    """A birth month that makes the patient ``years`` old (and a few months) on ``on``."""
    month = on.month - 3
    year = on.year - years
    if month < 1:
        month += 12
        year -= 1
    return f"{year:04d}-{month:02d}"


def enrol(store: Store, code: str, *, age: int, baseline: date = TODAY) -> Patient:
    patient = Patient(
        code=code, birth_ym=birth_ym_for_age(age), baseline_date=baseline, site="DEMO"
    )
    with store.unit_of_work() as uow:
        uow.patients.add(patient)
        uow.commit()
    return patient


def open_outbox(store: Store, response_id: str, study_key: StudyPrivateKey) -> tuple[Envelope, Any]:
    """The signed envelope of a response (signature checked) and its opened document."""
    with store.unit_of_work() as uow:
        entry = uow.outbox.get(response_id)
        device_public = uow.keys.device_key().public_bytes()
    assert entry is not None, f"no outbox entry for {response_id}"
    envelope = Envelope.model_validate_json(entry.envelope_json)
    verify_envelope(envelope, device_public)
    assert entry.sha256 == envelope.sha256
    document = json.loads(open_sealed(base64.b64decode(envelope.sealed), study_key, info=SEAL_INFO))
    return envelope, document


def audit_of(store: Store, response_id: str) -> list[AuditEvent]:
    with store.unit_of_work() as uow:
        return [event for event in uow.audit.list() if event.response_id == response_id]
