"""The store imports without textual and without side effects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_store_imports_without_textual_and_creates_nothing(tmp_path: Path) -> None:
    code = (
        "import sys, epro.store, epro.cli.store_cmd\n"
        "assert 'textual' not in sys.modules, 'textual was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []
