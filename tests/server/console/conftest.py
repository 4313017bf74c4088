"""Console fixtures: the server's SQLite/PostgreSQL ``settings`` made cheap to log in with."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from epro_sync.config import ServerSettings
from epro_sync.console.testing import Console, console_server, fast


@pytest.fixture
def console(settings: ServerSettings) -> Iterator[Console]:
    with console_server(fast(settings)) as running:
        yield running
