"""Fixed credentials and clock of the kiosk tests (a uniquely named module, not conftest)."""

from __future__ import annotations

from datetime import UTC, date, datetime

PASSPHRASE = "kiosk test passphrase"
NURSE, PIN = "nurse", "4321"
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
TODAY = date(2026, 3, 10)


def clock() -> datetime:
    return NOW
