"""Shared fixtures: paths to the project's form files; where the browser tests' screenshots are."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_STARTED = time.time()


@pytest.fixture
def forms_dir() -> Path:
    return ROOT / "forms"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the folder of this run's browser screenshots (tests/browser writes them)."""
    folder = Path(os.environ.get("EPRO_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "browser"
    if not folder.is_dir():
        return
    shots = [p for p in folder.glob("*/*.png") if p.stat().st_mtime >= _STARTED]
    if shots:
        terminalreporter.write_line(f"browser screenshots: {len(shots)} in {folder}")
