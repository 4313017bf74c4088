"""One stolen device token against a whole site's roster (the hardening review's finding 3).

Once, 5,000 made-up patients pushed with one token made every kiosk of the site build a roster
push over the protocol's limit; the validation error escaped, `epro sync` showed a traceback
and the background sync thread died for good.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

from epro.protocol import ROSTER_MAX_PATIENTS, ROSTER_PAGE_MAX
from epro.sync_client import BackgroundSync, SyncClient, SyncReport
from tests.helpers.sync_harness import SITE, Kiosk, LiveServer, ServerDb

MakeKiosk = Callable[[str, ServerDb, str], Kiosk]


def _flood(live_server: LiveServer, kiosk: Kiosk, count: int) -> None:
    """What the holder of a stolen token can do: push ``count`` made-up patients, page by page."""
    auth = kiosk.auth()
    with httpx.Client(base_url=live_server.url, auth=auth, timeout=60) as client:
        for start in range(0, count, ROSTER_PAGE_MAX):
            patients = [
                {
                    "code": f"FAKE-{n:05d}",
                    "site": SITE,
                    "birth_ym": "2015-07",
                    "baseline_date": "2026-03-02",
                    "language": "nl",
                }
                for n in range(start, min(start + ROSTER_PAGE_MAX, count))
            ]
            reply = client.post("/v1/roster", json={"patients": patients})
            assert reply.status_code == 200, reply.text


def test_a_flood_of_made_up_patients_does_not_stop_a_kiosk_syncing(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    """What: the site roster. How: a stolen token pushes 5,000 made-up patients; a real kiosk
    of the site, with patients of its own and responses queued, then syncs twice.
    Expected: both syncs succeed (the kiosk pushes and pulls the roster in pages), every
    response is acknowledged, no traceback."""
    thief, victim = make_kiosk("thief", server_db, live_server.url), None
    _flood(live_server, thief, 5_000)
    victim = make_kiosk("victim", server_db, live_server.url)
    queued = victim.queue(6)
    client = SyncClient(victim.store)
    first = client.sync_once()
    assert first.error is None, first.error
    second = client.sync_once()  # now holding 5,000 more patients, its push is paged
    assert second.error is None, second.error
    assert set(queued) <= set(server_db.response_ids())


def test_a_roster_larger_than_any_site_is_refused_in_words_while_responses_still_sync(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    """What: the kiosk's bound on the roster. How: the stolen token pushes more patients than
    the kiosk takes (ROSTER_MAX_PATIENTS + 1). Expected: the kiosk's sync says plainly that the
    roster was not taken, keeps none of it, and its responses are stored all the same."""
    thief = make_kiosk("thief", server_db, live_server.url)
    _flood(live_server, thief, ROSTER_MAX_PATIENTS + 1)
    victim = make_kiosk("victim", server_db, live_server.url)
    queued = victim.queue(4)
    report = SyncClient(victim.store).sync_once()
    assert report.error is not None
    assert "more than" in str(report.error)
    assert "ask the data manager" in str(report.error)
    assert set(queued) <= set(server_db.response_ids())
    with victim.store.unit_of_work() as uow:
        assert not [p for p in uow.patients.list() if p.code.startswith("FAKE-")]


def test_the_background_sync_outlives_a_sync_that_fails_unexpectedly(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    """What: the kiosk's background sync thread. How: its store is closed under it, so the
    next sync fails with an error no sync rule foresaw; then the store is opened again.
    Expected: the failure is reported in words (no traceback), the thread keeps running, and
    the next sync after the store is back succeeds."""
    kiosk = make_kiosk("kiosk", server_db, live_server.url)
    kiosk.queue(2)
    reports: list[SyncReport] = []
    arrived = threading.Event()

    def on_report(report: SyncReport) -> None:
        reports.append(report)
        arrived.set()

    kiosk.store.close()  # every read of the store now fails
    client = SyncClient(kiosk.store)
    background = BackgroundSync(client, interval=3600, on_report=on_report)
    background.start()
    try:
        background.kick()
        assert arrived.wait(60)
        assert reports[0].error is not None
        assert "unexpected problem" in str(reports[0].error)
        assert "Traceback" not in str(reports[0].error)
        kiosk.reopen()
        client.store = kiosk.store
        arrived.clear()
        background.kick()
        assert arrived.wait(60), "the background sync thread died"
        assert reports[1].error is None, reports[1].error
        assert reports[1].acknowledged == 2
    finally:
        background.stop()
