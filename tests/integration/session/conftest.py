"""Fixtures for session tests: a real encrypted SQLite store in tmp_path, the shipped forms and
study protocol, a study key pair and a fixed clock (so visit windows do not depend on today)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from epro.crypto import StudyPrivateKey
from epro.forms import Form
from epro.schedule import Study
from epro.session import SessionService
from epro.store import Store
from tests.helpers.session_support import Clock, new_store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "kiosk.db"


@pytest.fixture
def store(db_path: Path, study_key: StudyPrivateKey) -> Iterator[Store]:
    opened = new_store(db_path, study_key)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(store: Store, forms: Mapping[str, Form], study: Study, clock: Clock) -> SessionService:
    return SessionService(store, forms, study, clock=clock)
