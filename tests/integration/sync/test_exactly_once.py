"""Acceptance: 2,000 responses from 3 kiosks reach the server exactly once through a hostile
network and a crashing, failing server (DESIGN.md §7, §10).

The proxy cuts replies mid-body, resets connections before and after the server acted, stalls
past the client timeout and delays; the server answers 500 before or after storing some
batches and is SIGKILLed in the middle of batches. Afterwards: the server holds exactly the
2,000 ids the kiosks made, each with the bytes the kiosk signed, and every kiosk has every
response acknowledged.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable

import pytest

from epro.store.domain import ResponseStatus
from epro.sync_client import SyncClient, SyncReport
from epro_sync.config import ServerSettings
from tests.helpers.faultproxy import Fault, FaultProxy
from tests.helpers.sync_harness import Kiosk, LiveServer, ServerDb

TOTAL = int(os.environ.get("EPRO_SYNC_FAULT_TOTAL", "2000"))
FAULTS = [
    (Fault.PASS, 50),
    (Fault.DELAY, 10),
    (Fault.RESET_BEFORE, 8),
    (Fault.LOST_REPLY, 10),
    (Fault.CUT_BODY, 10),
    (Fault.STALL, 4),
]


def chooser(seed: int) -> Callable[[str], Fault]:
    rng = random.Random(seed)
    lock = threading.Lock()
    faults, weights = zip(*FAULTS, strict=True)

    def choose(request_line: str) -> Fault:
        with lock:
            if "responses:batch" in request_line or rng.random() < 0.1:
                chosen: Fault = rng.choices(faults, weights)[0]
                return chosen
            return Fault.PASS

    return choose


class Crasher:
    """SIGKILLs the server right after chosen batch requests reached it, then restarts it."""

    def __init__(self, server: LiveServer, at: set[int]) -> None:
        self.server, self.at = server, at
        self.seen = 0
        self.kills = 0
        self._lock = threading.Lock()

    def __call__(self, request_line: str) -> None:
        if "responses:batch" not in request_line:
            return
        with self._lock:
            self.seen += 1
            if self.seen in self.at:
                self.server.restart()
                self.kills += 1


def drain(kiosk: Kiosk, url: str, reports: list[SyncReport]) -> None:
    client = SyncClient(kiosk.store, base_url=url, batch_size=50, timeout=2.0, rng=random.Random(7))
    for _ in range(40):
        report = client.sync_until_empty(max_attempts=10, base_delay=0.01, max_delay=0.2)
        reports.append(report)
        if report.remaining == 0 and report.error is None:
            return


@pytest.mark.slow
def test_two_thousand_responses_from_three_kiosks_arrive_exactly_once_through_faults(
    server_settings: ServerSettings,
    start_server: Callable[..., LiveServer],
    server_db: ServerDb,
    build_kiosks: Callable[[ServerDb, str, list[int]], list[Kiosk]],
) -> None:
    server = start_server(server_settings, fail_before=0.05, fail_after=0.05)
    share = [TOTAL // 3, TOTAL // 3, TOTAL - 2 * (TOTAL // 3)]
    kiosks = build_kiosks(server_db, server.url, share)
    made: dict[str, str] = {}
    for kiosk in kiosks:
        with kiosk.store.unit_of_work() as uow:
            for entry in uow.outbox.pending(TOTAL):
                made[entry.response_id] = entry.sha256
    assert len(made) == TOTAL

    crasher = Crasher(server, at={2, 6})
    with FaultProxy(server.address, chooser(2026), stall_s=5, on_forwarded=crasher) as proxy:
        reports: list[list[SyncReport]] = [[] for _ in kiosks]
        threads = [
            threading.Thread(target=drain, args=(kiosk, proxy.url, reports[i]))
            for i, kiosk in enumerate(kiosks)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
        assert not any(t.is_alive() for t in threads), "a kiosk never finished syncing"

    ids = server_db.response_ids()
    assert len(ids) == len(set(ids)), "a response is stored twice"
    assert server_db.stored() == made, "the server lacks a response, or holds unknown bytes"
    assert server_db.quarantined() == []
    for kiosk in kiosks:
        with kiosk.store.unit_of_work() as uow:
            assert uow.outbox.count_pending() == 0
            for meta in uow.responses.list():
                assert meta.status == ResponseStatus.ACKNOWLEDGED
                assert meta.purged
    # The faults really happened (otherwise this test proves nothing).
    assert crasher.kills == 2
    for fault, _ in FAULTS:
        assert proxy.counts[fault] > 0, f"fault {fault} never happened"
    errors = [r.error for rs in reports for r in rs if r.error is not None]
    assert errors, "no sync attempt failed: the faults did not reach the client"
    assert all(e.retryable for e in errors)
