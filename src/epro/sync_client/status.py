"""What the nurse station shows about sync, read from the store's settings.

The names of the settings the sync client keeps live here, in one place, so the client, the
enrolment and the status view agree on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from epro.store import Store

SERVER_URL = "server_url"
DEVICE_TOKEN = "device_token"  # kept as a secret (encrypted) setting
SERVER_DEVICE_ID = "server_device_id"
SERVER_PUBLIC_KEY = "server_public_key"  # the server's receipt-signing key, pinned
STUDY_TOML = "study_toml"
STUDY_SHA256 = "study_sha256"
LAST_SUCCESS = "last_sync_success"
LAST_ERROR = "last_sync_error"
CLOCK_SKEW = "last_clock_skew_s"
REVOKED = "sync_revoked"
COMPLETION = "completion_cache"
AUDIT_HEAD_SENT = "audit_head_sent_seq"
#: The seq of the last audit head the server stored (links are sent from there).
AUDIT_HEAD_ACKED = "audit_head_acked_seq"
#: The server's words when it flagged this kiosk's audit log (empty: not flagged).
CHAIN_FLAG = "audit_chain_flag"

#: Above this many seconds between kiosk and server clocks the kiosk flags its clock.
SKEW_LIMIT_S = 120.0


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """Queue length, last success and error, clock skew, revocation: for the nurse station."""

    queue: int
    last_success: datetime | None
    last_error: str | None
    skew_seconds: float | None
    revoked: bool
    enrolled: bool = True
    #: The study server flagged the audit log (rolled back or forked); the kiosk purges
    #: nothing until the data manager resolves it.
    chain_problem: str | None = None

    @property
    def skew_flagged(self) -> bool:
        return self.skew_seconds is not None and abs(self.skew_seconds) > SKEW_LIMIT_S


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def sync_status(store: Store) -> SyncStatus:
    """Read the sync state of ``store`` (no network)."""
    with store.unit_of_work() as uow:
        keys = uow.keys
        skew = keys.get_setting(CLOCK_SKEW)
        return SyncStatus(
            queue=uow.outbox.count_pending(),
            last_success=_parse_time(keys.get_setting(LAST_SUCCESS)),
            last_error=keys.get_setting(LAST_ERROR) or None,
            skew_seconds=float(skew) if skew else None,
            revoked=keys.get_setting(REVOKED) == "1",
            enrolled=keys.has_setting(DEVICE_TOKEN),
            chain_problem=keys.get_setting(CHAIN_FLAG) or None,
        )
