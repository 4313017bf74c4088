"""BackgroundSync: a Submit kicks a sync in a worker thread; stop() ends it (DESIGN.md §7)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from epro.sync_client import BackgroundSync, SyncClient, SyncReport
from tests.helpers.sync_harness import Kiosk, LiveServer, ServerDb

MakeKiosk = Callable[[str, ServerDb, str], Kiosk]


def test_a_kick_after_submit_syncs_in_the_background(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    kiosk = make_kiosk("k1", server_db, live_server.url)
    reports: list[SyncReport] = []
    done = threading.Event()

    def on_report(report: SyncReport) -> None:
        reports.append(report)
        done.set()

    background = BackgroundSync(SyncClient(kiosk.store), interval=3600, on_report=on_report)
    background.start()
    try:
        (rid,) = kiosk.queue(1)
        background.kick()
        assert done.wait(60), "the kicked sync never reported"
    finally:
        background.stop()
    assert reports[0].error is None
    assert reports[0].acknowledged == 1
    assert server_db.response_ids() == [rid]
    assert background.runs == 1


def test_the_timer_syncs_without_a_kick_and_stop_is_prompt(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    kiosk = make_kiosk("k1", server_db, live_server.url)
    kiosk.queue(2)
    done = threading.Event()
    background = BackgroundSync(
        SyncClient(kiosk.store), interval=0.2, on_report=lambda _r: done.set()
    )
    background.start()
    try:
        assert done.wait(60)
    finally:
        background.stop(timeout=30)
    assert len(server_db.response_ids()) == 2
