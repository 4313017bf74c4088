"""Schema version 6: what a kiosk last reported of itself — its app version and clock.

The sync client names its app version and its own clock in a header on each request it
already makes (``epro_sync.kiosk_report``); the server keeps the last-seen version and the
measured skew (kiosk clock minus server clock, in seconds) on the kiosk's row, so the
console's kiosks page shows them instead of "not reported". Both stay empty for a kiosk that
has not synced since, or whose software does not send them.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE devices ADD COLUMN app_version VARCHAR(64)"))
    conn.execute(text("ALTER TABLE devices ADD COLUMN clock_skew_s FLOAT"))
