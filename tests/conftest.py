"""Shared fixtures: paths to the project's form files."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def forms_dir() -> Path:
    return ROOT / "forms"
