"""The protocol imports no UI or HTTP client; the server does nothing at import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_protocol_imports_neither_textual_nor_httpx() -> None:
    code = (
        "import sys, epro.protocol; "
        "assert not {'textual', 'httpx'} & set(sys.modules), 'protocol pulled in a client or UI'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_importing_the_server_creates_no_files_or_settings(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = os.environ | {"HOME": str(home), "XDG_DATA_HOME": str(home / "data")}
    code = (
        "import sys, epro_sync.app, epro_sync.cli, epro_sync.testing; "
        "assert 'textual' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
    assert list(home.iterdir()) == []
    assert list(tmp_path.iterdir()) == [home]
