"""The nurse station's side of sync: status, "Sync now", the background timer, site completion.

A small service over :mod:`epro.sync_client` so the kiosk package never speaks HTTP itself:
screens call these methods (sync in a worker thread) and render what comes back. One lock
keeps "Sync now" and the background timer from running two syncs of one store at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from epro.session import SessionService
    from epro.store import Store
    from epro.sync_client import BackgroundSync, SyncClient, SyncReport, SyncStatus

#: One cell of the completion grid is keyed by (patient, visit, form, respondent).
CellKey = tuple[str, str, str, str]


class StationSync:
    """Sync for one kiosk store; ``acknowledger`` purges what the server acknowledged."""

    def __init__(self, store: Store, acknowledger: SessionService) -> None:
        self.store = store
        self.acknowledger = acknowledger
        self._lock = threading.Lock()

    def status(self) -> SyncStatus:
        """Queue length, last success and error, clock skew, revocation (no network)."""
        from epro.sync_client import sync_status

        return sync_status(self.store)

    def sync_now(self) -> SyncReport:
        """One sync with the study server; failures come back in ``report.error``.

        Blocks for the length of the sync: the kiosk calls it from a worker thread.
        """
        return self._client().sync_once()

    def background(
        self, on_report: Callable[[SyncReport], None], *, interval: float = 300.0
    ) -> BackgroundSync | None:
        """A started background sync when the store is enrolled with a server, else None."""
        from epro.sync_client import BackgroundSync

        if not self.status().enrolled:
            return None
        background = BackgroundSync(self._client(), interval=interval, on_report=on_report)
        background.start()
        return background

    def site_completion(self) -> frozenset[CellKey]:
        """What the study server holds for this site (all kiosks), as of the last sync."""
        from pydantic import ValidationError

        from epro.protocol import Completion
        from epro.sync_client.status import COMPLETION

        with self.store.unit_of_work() as uow:
            cached = uow.keys.get_setting(COMPLETION)
        if not cached:
            return frozenset()
        try:
            entries = Completion.model_validate_json(cached).entries
        except ValidationError:
            return frozenset()  # an unreadable cache is replaced at the next sync
        return frozenset((e.patient, e.visit, e.form_id, e.respondent) for e in entries)

    def _client(self) -> SyncClient:
        return _locked_client(self.store, self._lock, self.acknowledger)


def _locked_client(store: Store, lock: threading.Lock, acknowledger: SessionService) -> SyncClient:
    """A sync client whose ``sync_once`` waits for any other sync of this station (no overlap)."""
    from epro.sync_client import SyncClient

    class _Locked(SyncClient):
        def sync_once(self, progress: Callable[[int, int], None] | None = None) -> SyncReport:
            with lock:
                return super().sync_once(progress)

    return _Locked(store, acknowledger=acknowledger)
