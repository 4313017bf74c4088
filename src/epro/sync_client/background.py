"""Sync in the background: after each Submit (``kick``) and on a timer, never in the UI thread.

The kiosk calls :meth:`BackgroundSync.kick` after a Submit; a daemon thread wakes, runs one
sync and hands the report to ``on_report`` (the kiosk turns it into a message for the nurse
station). Failures never escape the thread: they are in the report.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from epro.sync_client.client import SyncClient, SyncReport
from epro.sync_client.errors import unexpected_failure


class BackgroundSync:
    """A thread that runs ``client.sync_once()`` when kicked and every ``interval`` seconds."""

    def __init__(
        self,
        client: SyncClient,
        *,
        interval: float = 300.0,
        on_report: Callable[[SyncReport], None] | None = None,
    ) -> None:
        self._client = client
        self._interval = interval
        self._on_report = on_report
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="epro-sync", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        """Ask for a sync soon (e.g. right after a Submit); cheap and never blocks."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current sync (if any) and wait for the thread up to ``timeout``."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                report = self._client.sync_once()
            except Exception as error:  # the thread must outlive any one sync
                report = SyncReport(error=unexpected_failure(error))
            self.runs += 1
            if self._on_report is not None:
                self._on_report(report)
