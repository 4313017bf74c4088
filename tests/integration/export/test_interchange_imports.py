"""epro.export: the adapters' libraries are imported only by the adapter that uses them, and no
export module imports the kiosk UI (a subprocess proves it, a source scan names the module)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src" / "epro"
IMPORTS_ODMLIB = re.compile(r"^\s*(from|import)\s+odmlib\b", re.MULTILINE)


def _imported(modules: str) -> set[str]:
    code = f"import sys, {modules}; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(done.stdout.split())


def test_the_fhir_writer_and_the_odm_data_text_need_neither_odmlib_nor_textual() -> None:
    loaded = _imported("epro.export.fhir_ndjson, epro.export.odm_data")
    assert "odmlib" not in loaded
    assert "textual" not in loaded


def test_the_odm_writer_imports_odmlib_but_not_textual() -> None:
    loaded = _imported("epro.export.odm")
    assert "odmlib" in loaded
    assert "textual" not in loaded


def test_only_the_odm_adapter_imports_odmlib() -> None:
    importers = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if IMPORTS_ODMLIB.search(path.read_text(encoding="utf-8"))
    )
    assert importers == ["export/odm.py"]
