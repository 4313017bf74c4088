"""Fixtures for the schedule tests: the shipped protocol and a patient's baseline."""

from __future__ import annotations

from datetime import date

import pytest

from epro.schedule import Study, load_study

#: A Monday; every calendar below is counted from it.
BASELINE = date(2026, 1, 5)


@pytest.fixture(scope="session")
def study() -> Study:
    return load_study()


@pytest.fixture
def baseline() -> date:
    return BASELINE
