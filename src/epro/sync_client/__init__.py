"""The kiosk's side of sync: enrolment, outbox upload, roster/completion pull, status.

Core module: imports httpx but never textual. See :mod:`epro.sync_client.client` for the
exactly-once argument.
"""

from __future__ import annotations

from epro.sync_client.background import BackgroundSync
from epro.sync_client.backoff import backoff_ceiling, backoff_delay
from epro.sync_client.client import (
    Acknowledger,
    SyncClient,
    SyncReport,
    default_acknowledger,
    is_flagged,
)
from epro.sync_client.enrol import Enrolment, enrol_kiosk
from epro.sync_client.errors import (
    NotEnrolledError,
    RevokedError,
    SyncFailure,
    map_http_error,
)
from epro.sync_client.status import SKEW_LIMIT_S, SyncStatus, sync_status

__all__ = [
    "SKEW_LIMIT_S",
    "Acknowledger",
    "BackgroundSync",
    "Enrolment",
    "NotEnrolledError",
    "RevokedError",
    "SyncClient",
    "SyncFailure",
    "SyncReport",
    "SyncStatus",
    "backoff_ceiling",
    "backoff_delay",
    "default_acknowledger",
    "enrol_kiosk",
    "is_flagged",
    "map_http_error",
    "sync_status",
]
