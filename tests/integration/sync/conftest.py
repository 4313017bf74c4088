"""Fixtures for the sync tests (defined in ``sync_harness``, a plain importable module)."""

from __future__ import annotations

from tests.helpers.sync_harness import (
    build_kiosks,
    database_url,
    live_server,
    make_kiosk,
    server_db,
    server_settings,
    start_server,
    study_key,
)

__all__ = [
    "build_kiosks",
    "database_url",
    "live_server",
    "make_kiosk",
    "server_db",
    "server_settings",
    "start_server",
    "study_key",
]
