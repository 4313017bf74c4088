"""The sync client against the real study server: upload, receipts, roster, completion, status.

DESIGN.md §7: an envelope is acknowledged (and its local answers purged) only on a receipt.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from epro.crypto import FAST_KDF, StudyPrivateKey
from epro.forms import load_forms
from epro.schedule import load_study
from epro.store import init_store
from epro.store.domain import ResponseStatus
from epro.sync_client import SyncClient, enrol_kiosk, sync_status
from tests.helpers.sync_harness import PASSPHRASE, SITE, Kiosk, LiveServer, ServerDb

MakeKiosk = Callable[[str, ServerDb, str], Kiosk]


def test_sync_once_uploads_every_queued_response_and_purges_local_answers(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    kiosk = make_kiosk("k1", server_db, live_server.url)
    ids = kiosk.queue(7)

    report = SyncClient(kiosk.store, batch_size=3).sync_once()

    assert report.error is None
    assert (report.sent, report.acknowledged, report.remaining) == (7, 7, 0)
    assert sorted(server_db.response_ids()) == sorted(ids)
    with kiosk.store.unit_of_work() as uow:
        for rid in ids:
            meta = uow.responses.get(rid)
            assert meta is not None
            assert meta.status == ResponseStatus.ACKNOWLEDGED
            assert meta.purged
            entry = uow.outbox.get(rid)
            assert entry is not None
            assert entry.receipt_id
    status = sync_status(kiosk.store)
    assert status.queue == 0
    assert status.last_success is not None
    assert status.last_error is None
    assert not status.revoked


@pytest.mark.parametrize("in_flight", [1, 3])
def test_any_number_of_batches_in_flight_uploads_each_response_once(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk, in_flight: int
) -> None:
    kiosk = make_kiosk("k1", server_db, live_server.url)
    ids = kiosk.queue(11)
    seen: list[tuple[int, int]] = []

    report = SyncClient(kiosk.store, batch_size=2, in_flight=in_flight).sync_once(
        lambda *p: seen.append(p)
    )

    assert (report.error, report.sent, report.acknowledged, report.duplicates) == (None, 11, 11, 0)
    assert sorted(server_db.response_ids()) == sorted(ids)
    assert [done for done, _ in seen] == [0, 2, 4, 6, 8, 10, 11]  # in order, one per reply
    with pytest.raises(ValueError, match="in_flight"):
        SyncClient(kiosk.store, in_flight=0)


@pytest.mark.parametrize("failure", ["refused", "server error"])
def test_a_failed_upload_stops_the_batches_read_ahead_behind_it(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk, failure: str
) -> None:
    # Batches wait, read and encoded, behind the one travelling; when it fails none of them
    # is sent (on a dead network each would wait out its own timeout first), and nothing is
    # marked as sent.
    kiosk = make_kiosk("k1", server_db, live_server.url)
    ids = kiosk.queue(6)
    uploads: list[httpx.Request] = []

    def fail(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("responses:batch"):
            uploads.append(request)
        if failure == "refused":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(503, json={"detail": "down for maintenance"})

    client = SyncClient(
        kiosk.store,
        transport=httpx.MockTransport(fail),
        batch_size=1,
        in_flight=1,
        read_ahead=3,
    )
    report = client.sync_once()

    assert report.error is not None
    assert report.error.retryable
    assert len(uploads) == 1
    assert (report.acknowledged, report.remaining) == (0, len(ids))
    with pytest.raises(ValueError, match="read_ahead"):
        SyncClient(kiosk.store, read_ahead=-1)


def test_a_wall_of_flagged_entries_at_the_head_of_the_queue_does_not_stall_it(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    # Entries waiting for staff (a conflict, a rejection) are passed over, however many batches
    # of them come first, and every other entry is uploaded in the same sync, once.
    kiosk = make_kiosk("k1", server_db, live_server.url)
    flagged = kiosk.queue(5)
    waiting = kiosk.queue(4)
    with kiosk.store.unit_of_work() as uow:
        for rid in flagged:
            uow.outbox.record_error(rid, "conflict: held for review")
        uow.commit()
    seen: list[tuple[int, int]] = []

    report = SyncClient(kiosk.store, batch_size=2).sync_once(lambda *p: seen.append(p))

    assert report.error is None
    assert (report.sent, report.acknowledged) == (4, 4)
    assert sorted(server_db.response_ids()) == sorted(waiting)
    assert seen[-1] == (4, 9)  # every waiting entry handled, of the nine without a receipt
    with kiosk.store.unit_of_work() as uow:
        metas = [uow.responses.get(rid) for rid in flagged]
        assert all(m is not None and m.status == ResponseStatus.SUBMITTED for m in metas)
        assert uow.outbox.count_pending() == 5


def test_responses_submitted_before_enrolment_sync_after_it(
    tmp_path: Path,
    live_server: LiveServer,
    server_db: ServerDb,
    study_key: tuple[StudyPrivateKey, Path],
) -> None:
    # DESIGN §7: a kiosk may work offline from day one (study key given at `epro init`) and be
    # enrolled later; the server adopts the kiosk's own device id, so those envelopes are valid.
    private, _ = study_key
    store = init_store(
        tmp_path / "offline-first.db",
        passphrase=PASSPHRASE,
        site=SITE,
        nurse_name="nurse",
        nurse_pin="1234",
        kdf=FAST_KDF,
        study_public_key=private.public_key(),
    )
    kiosk = Kiosk(tmp_path / "offline-first.db", store, load_forms(), load_study(), prefix="OFF")
    ids = kiosk.queue(3)

    enrolment = enrol_kiosk(
        store, server_url=live_server.url, code=server_db.enrol_code(), label="late"
    )
    report = SyncClient(store).sync_once()

    assert enrolment.device_id == store.device_id
    assert report.error is None
    assert (report.acknowledged, report.rejected) == (3, 0)
    assert sorted(server_db.response_ids()) == sorted(ids)
    kiosk.close()
