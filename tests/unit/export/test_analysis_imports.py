"""Optional libraries stay inside the adapter that uses them (a subprocess proves it)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("numpy", "matplotlib", "scipy")


@pytest.mark.parametrize(
    "module", ["epro.export", "epro.export.records", "epro.export.outcomes", "epro.scoring"]
)
def test_the_shared_export_modules_import_without_numpy_or_matplotlib(module: str) -> None:
    """Only epro.export.analysis brings in NumPy and matplotlib."""
    code = f"import sys, {module}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


def test_the_analysis_needs_no_scipy() -> None:
    """SciPy is the tests' independent check of the statistics, not a part of them."""
    code = "import sys, epro.export.analysis; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
