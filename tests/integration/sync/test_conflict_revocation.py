"""Conflicts, rejections, revocation, clock skew, roster and completion against the real server.

DESIGN.md §7: same id with different bytes is a conflict — the server keeps the original and
the kiosk flags the response for staff, never retrying it blindly and never deleting it. A
revoked kiosk (403) keeps all its data and says plainly what to do.
"""

from __future__ import annotations

import base64
import contextlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from epro.protocol import Completion, Envelope, EnvelopeContent, sign_envelope
from epro.store.domain import ResponseStatus
from epro.sync_client import RevokedError, SyncClient, is_flagged, sync_status
from epro.sync_client.status import COMPLETION
from tests.helpers.sync_harness import PASSPHRASE, Kiosk, LiveServer, ServerDb

MakeKiosk = Callable[[str, ServerDb, str], Kiosk]


def upload_other_bytes_first(kiosk: Kiosk, url: str, response_id: str) -> str:
    """Upload a validly signed envelope with the same id but other content; return its sha."""
    with kiosk.store.unit_of_work() as uow:
        entry = uow.outbox.get(response_id)
        key = uow.keys.device_key()
    assert entry is not None
    original = Envelope.model_validate_json(entry.envelope_json)
    fields = original.model_dump(include=set(EnvelopeContent.model_fields))
    fields["submitted_at"] = original.submitted_at - timedelta(minutes=5)
    other = sign_envelope(EnvelopeContent(**fields), key.sign)
    reply = httpx.post(
        f"{url}/v1/responses:batch",
        content='{"envelopes":[' + other.model_dump_json() + "]}",
        headers={"Content-Type": "application/json"},
        auth=kiosk.auth(),
    )
    assert reply.json()["receipts"][0]["status"] == "stored"
    return other.sha256


def test_conflict_is_flagged_kept_on_the_kiosk_and_never_resent(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    kiosk = make_kiosk("k1", server_db, live_server.url)
    first, _second = kiosk.queue(2)
    original_sha = upload_other_bytes_first(kiosk, live_server.url, first)

    report = SyncClient(kiosk.store).sync_once()

    assert (report.conflicts, report.acknowledged, report.flagged) == (1, 1, [first])
    assert server_db.stored()[first] == original_sha  # the server kept the first bytes
    assert server_db.quarantined() == [first]
    with kiosk.store.unit_of_work() as uow:
        entry = uow.outbox.get(first)
        meta = uow.responses.get(first)
        assert entry is not None
        assert meta is not None
        assert is_flagged(entry)
        assert entry.last_error is not None
        assert entry.last_error.startswith("conflict: ")
        assert meta.status == ResponseStatus.SUBMITTED
        assert not meta.purged  # the kiosk's copy stays for review
        assert uow.answers.load(meta)
    again = SyncClient(kiosk.store).sync_once()
    assert (again.sent, again.conflicts) == (0, 0)  # not retried blindly
    assert server_db.quarantined() == [first]
    assert sync_status(kiosk.store).queue == 1


def test_a_tampered_envelope_is_rejected_with_the_server_message(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    kiosk = make_kiosk("k1", server_db, live_server.url)
    (rid,) = kiosk.queue(1)
    with kiosk.store.unit_of_work() as uow:
        entry = uow.outbox.get(rid)
    assert entry is not None
    tampered = Envelope.model_validate_json(entry.envelope_json).model_copy(
        update={"sealed": base64.b64encode(b"edited after signing").decode()}
    )
    with contextlib.closing(sqlite3.connect(kiosk.path)) as raw, raw:
        raw.execute(
            "UPDATE envelopes SET envelope_json = ? WHERE response_id = ?",
            (tampered.model_dump_json(), rid),
        )

    report = SyncClient(kiosk.store).sync_once()

    assert (report.rejected, report.acknowledged) == (1, 0)
    assert rid not in server_db.stored()
    with kiosk.store.unit_of_work() as uow:
        stored = uow.outbox.get(rid)
    assert stored is not None
    assert stored.last_error is not None
    assert stored.last_error.startswith("rejected: ")
    assert "sha256" in stored.last_error or "signature" in stored.last_error


def test_a_revoked_kiosk_keeps_its_data_and_tells_the_nurse_what_to_do(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    kiosk = make_kiosk("k1", server_db, live_server.url)
    ids = kiosk.queue(3)
    server_db.revoke(kiosk.device_id)

    report = SyncClient(kiosk.store).sync_until_empty(max_attempts=3)

    assert isinstance(report.error, RevokedError)
    assert report.attempts == 1  # retrying cannot help; no hammering
    message = str(report.error)
    assert "revoked by the data manager" in message
    assert "every response is still on it" in message
    assert server_db.response_ids() == []
    with kiosk.store.unit_of_work() as uow:
        assert uow.outbox.count_pending() == 3
        for rid in ids:
            meta = uow.responses.get(rid)
            assert meta is not None
            assert not meta.purged
            assert uow.answers.load(meta)
    status = sync_status(kiosk.store)
    assert status.revoked
    assert status.last_error == message


def test_clock_skew_is_recorded_and_flagged_above_the_limit(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    kiosk = make_kiosk("k1", server_db, live_server.url)
    kiosk.queue(1)

    def slow_clock() -> datetime:
        return datetime.now(UTC) - timedelta(seconds=600)

    report = SyncClient(kiosk.store, clock=slow_clock).sync_once()

    assert report.error is None
    assert report.skew_seconds is not None
    assert 595 <= report.skew_seconds <= 605
    assert report.skew_flagged
    status = sync_status(kiosk.store)
    assert status.skew_flagged
    in_step = SyncClient(kiosk.store).sync_once()
    assert in_step.skew_seconds is not None
    assert abs(in_step.skew_seconds) < 5
    assert not sync_status(kiosk.store).skew_flagged


def test_roster_and_completion_are_shared_between_kiosks_of_a_site(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    one = make_kiosk("k1", server_db, live_server.url)
    two = make_kiosk("k2", server_db, live_server.url)
    ids = one.queue(2)
    assert SyncClient(one.store).sync_once().error is None

    assert SyncClient(two.store).sync_once().error is None

    with two.store.unit_of_work() as uow:
        codes = {p.code for p in uow.patients.list()}
        cached = uow.keys.get_setting(COMPLETION)
    assert "K1-0001" in codes  # enrolled on kiosk one, known on kiosk two
    assert cached is not None
    completion = Completion.model_validate_json(cached)
    with one.store.unit_of_work() as uow:
        metas = [uow.responses.get(rid) for rid in ids]
    cells = {(m.patient, m.visit, m.form_id, m.respondent) for m in metas if m is not None}
    assert {(e.patient, e.visit, e.form_id, e.respondent) for e in completion.entries} == cells
    assert sum(e.responses for e in completion.entries) == len(ids)


def test_syncing_without_enrolment_says_how_to_enrol(tmp_path: object) -> None:
    from pathlib import Path

    from epro.crypto import FAST_KDF
    from epro.store import init_store

    assert isinstance(tmp_path, Path)
    store = init_store(
        tmp_path / "k.db",
        passphrase=PASSPHRASE,
        site="SITE-A",
        nurse_name="nurse",
        nurse_pin="1234",
        kdf=FAST_KDF,
    )
    report = SyncClient(store).sync_once()
    store.close()
    assert report.error is not None
    assert "epro init --server URL --code CODE" in str(report.error)
    assert not report.error.retryable
