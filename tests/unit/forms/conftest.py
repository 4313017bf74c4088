"""Fixtures for the form tests: the shipped forms, loaded once per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from epro.forms import Form, load_forms


@pytest.fixture
def shipped(forms_dir: Path) -> dict[str, Form]:
    return load_forms(forms_dir)
