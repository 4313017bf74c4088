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
    "epro.export.pipeline",
]


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_without_textual(module: str) -> None:
    code = f"import sys, {module}; assert 'textual' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


#: Libraries of single export formats: only the adapter module of that format imports one.
FORMAT_LIBRARIES = ("pyreadstat", "pandas", "odmlib", "scipy", "matplotlib", "fhir")


def test_the_export_pipeline_imports_no_library_of_a_single_format() -> None:
    code = (
        "import sys, epro.export.pipeline, epro.cli.export_cmd\n"
        f"loaded = [m for m in {FORMAT_LIBRARIES!r} if m in sys.modules]\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
