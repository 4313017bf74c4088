"""The attacks use the sync tests' harness: a real server process on 127.0.0.1 (SQLite, or the
PostgreSQL of ``EPRO_TEST_POSTGRES_URL``) and real kiosk stores."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "sync"))

from sync_harness import (  # the harness folder goes on the path first
    database_url,
    live_server,
    make_kiosk,
    server_db,
    server_settings,
    start_server,
    study_key,
)

__all__ = [
    "database_url",
    "live_server",
    "make_kiosk",
    "server_db",
    "server_settings",
    "start_server",
    "study_key",
]
