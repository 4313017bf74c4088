"""The extras keep each installation to what it runs: a kiosk installs no server or analysis
package, a server no terminal UI; a missing extra is named, never a traceback."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_ONLY = ("fastapi", "uvicorn", "starlette")
EXPORT_ONLY = ("pyreadstat", "pandas", "odmlib", "scipy", "matplotlib")


def _extras() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]
    extras["core"] = project["dependencies"]
    return extras


def _names(requirements: list[str]) -> set[str]:
    return {r.split(">")[0].split("=")[0].split("[")[0].strip().lower() for r in requirements}


def test_the_core_and_the_kiosk_extra_hold_no_server_ui_or_analysis_package() -> None:
    extras = _extras()
    kiosk = _names(extras["core"]) | _names(extras["kiosk"])
    assert "textual" in kiosk
    assert not kiosk & {*SERVER_ONLY, *EXPORT_ONLY}


def test_the_server_extra_holds_no_terminal_ui() -> None:
    extras = _extras()
    server = _names(extras["core"]) | _names(extras["server"])
    assert "fastapi" in server
    assert "textual" not in server


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in done.stdout.split()}


def test_the_kiosk_app_loads_no_server_or_analysis_package() -> None:
    loaded = _modules_after("import epro.kiosk.app, epro.cli")
    assert "textual" in loaded
    assert not loaded & {*SERVER_ONLY, *EXPORT_ONLY}


def test_the_study_server_loads_no_terminal_ui() -> None:
    loaded = _modules_after("import epro_sync.app, epro_sync.cli")
    assert "fastapi" in loaded
    assert "textual" not in loaded


@pytest.mark.parametrize(
    ("blocked", "command", "extra"),
    [
        ("uvicorn", "from epro_sync.cli import main; sys.exit(main(['serve']))", "epro[server]"),
        ("textual", "from epro.cli import main; sys.exit(main(['kiosk', '--db', DB]))", "kiosk"),
    ],
)
def test_a_missing_extra_is_named_with_the_command_that_installs_it(
    blocked: str, command: str, extra: str, tmp_path: Path
) -> None:
    db = tmp_path / "kiosk.db"
    db.write_bytes(b"")
    code = f"import sys; sys.modules[{blocked!r}] = None; DB = {str(db)!r}; {command}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert f"{blocked} is not installed" in done.stderr
    assert extra in done.stderr
