"""The session service and the demo builder import without textual, and importing
them creates nothing (no database, no folders)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("module", ["epro.session", "epro.demo", "epro.cli.demo_cmd"])
def test_module_imports_without_textual_and_without_side_effects(
    module: str, tmp_path: Path
) -> None:
    code = (
        f"import os, sys, {module}; "
        "assert 'textual' not in sys.modules; "
        "assert os.listdir('.') == [], os.listdir('.')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
