"""STYLE §1: the core imports without textual (a subprocess proves it)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE = [
    "epro.forms",
    "epro.scoring",
    "epro.schedule",
    "epro.crypto",
    "epro.config",
    "epro.session",
    "epro.store",
    "epro.protocol",
    "epro.sync_client",
    "epro.station",
    "epro.demo",
    "epro.errors",
    "epro.bundle",
]


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_without_textual(module: str) -> None:
    code = f"import sys, {module}; assert 'textual' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
