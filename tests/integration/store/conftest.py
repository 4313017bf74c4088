"""Fixtures of the store tests: a real SQLite file in tmp_path, cheap Argon2id, made-up data."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from epro.crypto import FAST_KDF
from epro.store import Patient, ResponseMeta, ResponseStatus, Store, init_store

PASSPHRASE = "demo passphrase 1"
NURSE = "anna"
NURSE_PIN = "1234"

MakeResponse = Callable[..., ResponseMeta]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "kiosk.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    opened = init_store(
        db_path,
        passphrase=PASSPHRASE,
        site="DEMO",
        nurse_name=NURSE,
        nurse_pin=NURSE_PIN,
        kdf=FAST_KDF,
    )
    yield opened
    opened.close()


@pytest.fixture
def make_response(store: Store) -> MakeResponse:
    """Add (patient if needed and) a response; returns its metadata."""
    counter = itertools.count(1)

    def make(patient: str = "DEMO-001", form_id: str = "chaq", **changes: object) -> ResponseMeta:
        moment = datetime(2026, 3, 2, 9, 0, next(counter), tzinfo=UTC)
        meta = ResponseMeta(
            id=str(uuid.uuid4()),
            patient=patient,
            visit="V1",
            form_id=form_id,
            form_version="1.0.0",
            form_sha256="ab" * 32,
            respondent="parent",
            language="en",
            status=ResponseStatus.IN_PROGRESS,
            started_at=moment,
            updated_at=moment,
        )
        for name, value in changes.items():
            setattr(meta, name, value)
        with store.unit_of_work() as uow:
            if uow.patients.get(patient) is None:
                uow.patients.add(Patient(patient, "2015-04", date(2026, 3, 2), "DEMO"))
            uow.responses.add(meta)
            uow.commit()
        return meta

    return make


@pytest.fixture
def filled(store: Store, make_response: MakeResponse) -> list[ResponseMeta]:
    """Two responses with a few answers each, committed."""
    first = make_response("DEMO-001", "chaq")
    second = make_response("DEMO-002", "vas_pain")
    with store.unit_of_work() as uow:
        uow.answers.put(first, "chaq_dress_a", 1)
        uow.answers.put(first, "chaq_dress_b", "na")
        uow.answers.put(first, "chaq_devices", ["wheelchair", "jar_opener"])
        uow.answers.put(second, "vas_pain", 42)
        uow.commit()
    return [first, second]
