"""epro.schedule imports without textual and without side effects."""

from __future__ import annotations

import subprocess
import sys


def test_schedule_imports_without_textual() -> None:
    code = (
        "import sys, epro.schedule, epro.cli.schedule_cmd; "
        "assert 'textual' not in sys.modules, 'textual was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_importing_schedule_reads_no_file() -> None:
    # The protocol is read only when load_study is called, never at import.
    code = (
        "import pathlib\n"
        "opened = []\n"
        "real = pathlib.Path.read_text\n"
        "def spy(self, *a, **k):\n"
        "    opened.append(self)\n"
        "    return real(self, *a, **k)\n"
        "pathlib.Path.read_text = spy\n"
        "import epro.schedule\n"
        "assert opened == [], opened\n"
        "epro.schedule.load_study()\n"
        "assert len(opened) == 1, opened\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
