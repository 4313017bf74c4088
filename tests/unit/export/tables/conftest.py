"""Fixtures of the CSV and codebook tests: the hand-made study of :mod:`tables_kit`."""

from __future__ import annotations

from pathlib import Path

import pytest

from epro.forms import load_forms
from tests.helpers.tables_kit import FORMS, Scenario, checked, make_context


@pytest.fixture
def scenario(forms_dir: Path) -> Scenario:
    return checked(make_context(forms_dir, FORMS, deidentified=False))


@pytest.fixture
def deidentified(forms_dir: Path) -> Scenario:
    return checked(make_context(forms_dir, FORMS, deidentified=True))


@pytest.fixture
def every_form(forms_dir: Path) -> Scenario:
    """The same patients with every shipped form known (JAMAR and VAS well-being too)."""
    names = tuple(load_forms(forms_dir))
    return checked(make_context(forms_dir, names, deidentified=False))
