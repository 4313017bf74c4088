"""Fixtures every test folder shares: the project's form files, the shipped forms and study
protocol, and a study key pair (what the data manager holds; tests open envelopes with it).
Folder conftests add what only their tests need."""

from __future__ import annotations

from pathlib import Path

import pytest

from epro.crypto import StudyPrivateKey, generate_study_keypair
from epro.forms import Form, default_forms_dir, load_forms
from epro.schedule import Study, load_study

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def forms_dir() -> Path:
    return ROOT / "forms"


@pytest.fixture(scope="session")
def forms() -> dict[str, Form]:
    return load_forms(default_forms_dir())


@pytest.fixture(scope="session")
def study() -> Study:
    return load_study()


@pytest.fixture(scope="session")
def study_key() -> StudyPrivateKey:
    """A study key pair made once per test process (the sync tests' ``study_key`` adds the
    public key file a server reads)."""
    return generate_study_keypair()
