"""Shared helpers of the session tests: fixed clock, a fresh store, enrolment, starting a
questionnaire, reading back what the store holds, and reading the outbox the way the study
would (open the seal with the study private key, check the device signature)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from epro.crypto import FAST_KDF, StudyPrivateKey, open_sealed
from epro.forms.model import AnswerValue
from epro.protocol import Envelope, verify_envelope
from epro.session import QuestionnaireSession, SessionService
from epro.session.submission import SEAL_INFO
from epro.store import Store, init_store
from epro.store.domain import AuditEvent, Patient, ResponseMeta

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


def new_store(path: Path, study_key: StudyPrivateKey | None = None) -> Store:
    """A fresh kiosk store at ``path`` (fast KDF); without ``study_key`` it cannot submit."""
    return init_store(
        path,
        passphrase=PASSPHRASE,
        site="DEMO",
        nurse_name="nurse",
        nurse_pin="1234",
        kdf=FAST_KDF,
        study_public_key=None if study_key is None else study_key.public_key(),
    )


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


def start(
    service: SessionService,
    *,
    patient: str = "DEMO-001",
    visit: str = "V1",
    form_id: str = "chaq",
    respondent: str = "child",
    language: str = "en",
    out_of_window_reason: str | None = None,
) -> QuestionnaireSession:
    """Start a questionnaire as the nurse; the defaults are a 10-year-old's CHAQ at V1."""
    return service.start(
        patient=patient,
        visit=visit,
        form_id=form_id,
        respondent=respondent,
        language=language,
        actor="nurse",
        out_of_window_reason=out_of_window_reason,
    )


def submitted_pain(service: SessionService, patient: str = "DEMO-001", pain: int = 20) -> str:
    """The response id of a pain VAS answered with ``pain`` and submitted at V1."""
    session = start(service, patient=patient, form_id="vas_pain")
    session.answer("vas_pain", pain)
    session.submit(actor="nurse")
    return session.response_id


def meta_of(store: Store, response_id: str) -> ResponseMeta:
    with store.unit_of_work() as uow:
        meta = uow.responses.get(response_id)
    assert meta is not None, f"no response {response_id}"
    return meta


def stored_answers(store: Store, response_id: str) -> dict[str, AnswerValue]:
    """The answers as the store holds them now (decrypted), not as the session remembers them."""
    with store.unit_of_work() as uow:
        meta = uow.responses.get(response_id)
        assert meta is not None, f"no response {response_id}"
        return uow.answers.load(meta)


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
