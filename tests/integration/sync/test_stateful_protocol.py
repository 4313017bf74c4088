"""A hypothesis state machine over the sync protocol, against the real server (DESIGN.md §7).

Rules: answer (a draft), submit, crash (reopen the store from disk), sync, lost reply (the
server stores a batch but the proxy drops its reply), duplicate send (the same envelopes
arrive twice). Invariants after every step: every response the kiosk holds as acknowledged is
on the server exactly once with the bytes the kiosk signed; nothing on the server from this
kiosk is unknown to it; nothing is acknowledged without a purge, nothing purged unacknowledged.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import httpx
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from epro.store.domain import ResponseStatus
from epro.sync_client import SyncClient
from tests.helpers.faultproxy import Fault, FaultProxy
from tests.helpers.sync_harness import Kiosk, LiveServer, ServerDb, build_kiosk

EXAMPLES = 10
STEPS = 10


class Network:
    """Decides the proxy's fault for batch uploads; everything else passes."""

    def __init__(self) -> None:
        self.batch_fault = Fault.PASS

    def __call__(self, request_line: str) -> Fault:
        return self.batch_fault if "responses:batch" in request_line else Fault.PASS


class SyncProtocol(RuleBasedStateMachine):
    server: LiveServer
    db: ServerDb
    proxy: FaultProxy
    network: Network
    codes: list[str]
    workdir: Path

    def __init__(self) -> None:
        super().__init__()
        self.kiosk: Kiosk | None = None
        self.drafts: list[str] = []

    @initialize()
    def enrol(self) -> None:
        path = Path(tempfile.mkdtemp(dir=self.workdir)) / "kiosk.db"
        code = self.codes.pop() if self.codes else self.db.enrol_code()
        # A fresh code prefix per example: patients pulled from the site roster of earlier
        # examples must not collide with the codes this kiosk enrols.
        self.kiosk = build_kiosk(path, self.server.url, code, f"s{path.parent.name[-6:]}")

    @property
    def k(self) -> Kiosk:
        assert self.kiosk is not None
        return self.kiosk

    def client(self) -> SyncClient:
        return SyncClient(self.k.store, base_url=self.proxy.url, batch_size=3, timeout=5.0)

    @rule()
    def answer(self) -> None:
        """Start a questionnaire and answer it, but leave it as a draft."""
        slot = self.k._next_slot()
        session = self.k.service.start(
            patient=slot[0],
            visit=slot[1],
            form_id=slot[2],
            respondent=slot[3],
            language="en",
            actor="nurse",
            out_of_window_reason="test bench",
        )
        for item in session.items():
            if item.type != "display":
                session.answer(item.link_id, 55)
        self.drafts.append(session.response_id)

    @rule()
    def submit(self) -> None:
        if self.drafts:
            session = self.k.service.resume(self.drafts.pop(0), actor="nurse")
            session.submit(actor="nurse")
        else:
            self.k.queue(1)

    @rule()
    def crash(self) -> None:
        self.k.reopen()

    @rule()
    def sync(self) -> None:
        self.network.batch_fault = Fault.PASS
        report = self.client().sync_once()
        assert report.error is None, str(report.error)
        assert report.remaining == 0

    @rule()
    def lost_reply(self) -> None:
        self.network.batch_fault = Fault.LOST_REPLY
        try:
            report = self.client().sync_once()
        finally:
            self.network.batch_fault = Fault.PASS
        with self.k.store.unit_of_work() as uow:
            pending = uow.outbox.count_pending()
        assert (report.error is not None) == (pending > 0 or report.sent > 0)

    @precondition(lambda self: self.kiosk is not None)
    @rule()
    def duplicate_send(self) -> None:
        """Everything still queued reaches the server once behind the kiosk's back."""
        with self.k.store.unit_of_work() as uow:
            entries = uow.outbox.pending(1000)
        if not entries:
            return
        body = '{"envelopes":[' + ",".join(e.envelope_json for e in entries) + "]}"
        reply = httpx.post(
            f"{self.server.url}/v1/responses:batch",
            content=body,
            headers={"Content-Type": "application/json"},
            auth=self.k.auth(),
            timeout=10,
        )
        assert reply.status_code == 200

    @invariant()
    def acknowledged_means_on_the_server_exactly_once(self) -> None:
        if self.kiosk is None:
            return
        rows = self.db.rows(
            f"SELECT response_id, sha256 FROM responses WHERE device_id = '{self.k.device_id}'"
        )
        on_server = dict(rows)
        assert len(on_server) == len(rows), "a response is stored twice"
        with self.k.store.unit_of_work() as uow:
            metas = {m.id: m for m in uow.responses.list()}
            outbox = {rid: uow.outbox.get(rid) for rid in metas}
        for rid, meta in metas.items():
            entry = outbox[rid]
            if meta.status == ResponseStatus.ACKNOWLEDGED:
                assert entry is not None
                assert entry.receipt_id
                assert on_server.get(rid) == entry.sha256
                assert meta.purged
            else:
                assert not meta.purged
        for rid, sha in on_server.items():
            entry = outbox.get(rid)
            assert entry is not None, "the server holds a response this kiosk never made"
            assert entry.sha256 == sha

    def teardown(self) -> None:
        if self.kiosk is not None:
            self.kiosk.close()


def test_sync_protocol_state_machine_keeps_exactly_once(
    live_server: LiveServer, server_db: ServerDb, tmp_path: Path
) -> None:
    network = Network()
    with FaultProxy(live_server.address, network) as proxy:
        SyncProtocol.server = live_server
        SyncProtocol.db = server_db
        SyncProtocol.proxy = proxy
        SyncProtocol.network = network
        SyncProtocol.codes = server_db.enrol_codes(EXAMPLES + 10)
        SyncProtocol.workdir = tmp_path
        run_state_machine_as_test(
            SyncProtocol,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    assert random is not None
