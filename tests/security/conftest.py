"""The attacks use the sync tests' harness: a real server process on 127.0.0.1 (SQLite, or the
PostgreSQL of ``EPRO_TEST_POSTGRES_URL``) and real kiosk stores."""

from __future__ import annotations

from tests.helpers.sync_harness import (
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
