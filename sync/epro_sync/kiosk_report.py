"""What a kiosk reports of itself on each request: its app version and its clock.

The sync client sends ``X-Epro-App-Version`` and ``X-Epro-Kiosk-Time`` (its clock when it
sent the request) on the requests it makes anyway. The server keeps the last version and the
measured skew — kiosk clock minus server clock at receipt, so it includes the request's
transit time (well under a second on a working link) — on the kiosk's row, written where a
sync already writes: an upload and the audit-head push that ends every sync.

The values are informational: a header that is missing or unreadable is ignored (an older
kiosk sends none), never refused, and they decide nothing but what the console shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from starlette.datastructures import Headers

from epro.protocol import APP_VERSION_HEADER, KIOSK_TIME_HEADER

#: Longest app version kept (the column's width).
VERSION_MAX = 64


class KioskReport(NamedTuple):
    app_version: str | None
    clock_skew_s: float | None


def read_report(headers: Headers, now: datetime) -> KioskReport:
    """The version and measured skew these request headers carry (None where absent/unusable)."""
    return KioskReport(_version(headers.get(APP_VERSION_HEADER)), _skew(headers, now))


def _version(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > VERSION_MAX or not value.isascii() or not value.isprintable():
        return None
    return value


def _skew(headers: Headers, now: datetime) -> float | None:
    value = headers.get(KIOSK_TIME_HEADER)
    if not value:
        return None
    try:
        kiosk = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if kiosk.tzinfo is None:
        return None  # a time without its offset could be any zone's
    return round((kiosk - now).total_seconds(), 3)
