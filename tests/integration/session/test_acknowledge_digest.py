"""The answers' hash is stored at Submit, so acknowledging a batch purges without decrypting.

A response submitted before that (hash NULL, e.g. an upgraded v1 kiosk) still gets its hash by
decryption; a large batch keeps the audit chain whole; a refused batch changes nothing at all.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from epro.crypto import StudyPrivateKey
from epro.errors import SessionError, StoreError
from epro.schedule import Study
from epro.session import SessionService
from epro.store import Store, open_store
from epro.store.domain import AuditKind, OutboxEntry, ResponseMeta, ResponseStatus
from tests.helpers.session_support import Clock, audit_of, enrol, open_outbox

V1_FIXTURE = Path(__file__).resolve().parents[1] / "store" / "fixtures" / "v1.db"
V1_PASSPHRASE = "fixture-passphrase"  # see store/fixtures/make_v1.py
V1_SUBMITTED = "11111111-1111-4111-8111-111111111111"
V1_DRAFT = "22222222-2222-4222-8222-222222222222"


def digest_of(answers: dict[str, object]) -> str:
    """The documented hash, computed here independently: SHA-256 of canonical JSON."""
    text = json.dumps(answers, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def submitted(service: SessionService, patient: str, pain: int) -> str:
    session = service.start(
        patient=patient,
        visit="V1",
        form_id="vas_pain",
        respondent="child",
        language="en",
        actor="nurse",
    )
    session.answer("vas_pain", pain)
    session.submit(actor="nurse")
    return session.response_id


def meta_of(store: Store, response_id: str) -> ResponseMeta:
    with store.unit_of_work() as uow:
        meta = uow.responses.get(response_id)
    assert meta is not None
    return meta


def purge_details(store: Store, response_id: str) -> list[str | None]:
    return [e.detail for e in audit_of(store, response_id) if e.kind is AuditKind.PURGE]


def snapshot(db_path: Path) -> dict[str, list[str]]:
    """Every row of every table, read beside the store: what "nothing changed" compares."""
    with sqlite3.connect(db_path) as raw:
        tables = [
            name
            for (name,) in raw.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        rows = {
            table: sorted(repr(row) for row in raw.execute(f"SELECT * FROM {table}"))
            for table in tables
        }
    raw.close()
    return rows


def test_submit_stores_the_hash_of_exactly_the_answers_it_sealed(
    service: SessionService, store: Store, study_key: StudyPrivateKey, clock: Clock
) -> None:
    enrol(store, "DEMO-001", age=10)
    response_id = submitted(service, "DEMO-001", 63)

    meta = meta_of(store, response_id)
    _, document = open_outbox(store, response_id, study_key)
    with store.unit_of_work() as uow:
        stored = uow.answers.load(meta)
    assert meta.status is ResponseStatus.SUBMITTED
    assert document["answers"] == stored == {"vas_pain": 63}
    assert meta.answers_sha256 == digest_of(document["answers"])

    service.acknowledge(response_id, receipt_id="r-1", at=clock())
    after = meta_of(store, response_id)
    assert (after.purged, after.answers_sha256) == (True, meta.answers_sha256)
    assert purge_details(store, response_id) == [
        f"receipt r-1; answers sha256 {meta.answers_sha256}"
    ]


def test_a_draft_has_no_hash_yet(service: SessionService, store: Store) -> None:
    enrol(store, "DEMO-001", age=10)
    draft = service.start(
        patient="DEMO-001",
        visit="V1",
        form_id="vas_pain",
        respondent="child",
        language="en",
        actor="nurse",
    )
    draft.answer("vas_pain", 5)
    assert meta_of(store, draft.response_id).answers_sha256 is None


def test_a_batch_mixing_new_and_older_responses_hashes_the_older_ones_by_decryption(
    service: SessionService, store: Store, db_path: Path, clock: Clock
) -> None:
    for code in ("DEMO-001", "DEMO-002"):
        enrol(store, code, age=10)
    new, old = submitted(service, "DEMO-001", 20), submitted(service, "DEMO-002", 70)
    with sqlite3.connect(db_path) as raw:  # as a response submitted before hashes were stored
        raw.execute("UPDATE responses SET answers_sha256 = NULL WHERE id = ?", (old,))
    raw.close()

    service.acknowledge_many([(new, "r-new"), (old, "r-old")], at=clock())

    assert meta_of(store, new).answers_sha256 == digest_of({"vas_pain": 20})
    assert meta_of(store, old).answers_sha256 == digest_of({"vas_pain": 70})
    assert purge_details(store, old) == [
        f"receipt r-old; answers sha256 {digest_of({'vas_pain': 70})}"
    ]
    assert store.verify().ok


def test_a_v1_kiosk_response_is_hashed_by_decryption_when_acknowledged(
    tmp_path: Path, study: Study
) -> None:
    path = tmp_path / "old-kiosk.db"
    shutil.copyfile(V1_FIXTURE, path)
    store = open_store(path, passphrase=V1_PASSPHRASE)
    try:
        assert meta_of(store, V1_SUBMITTED).answers_sha256 is None
        service = SessionService(store, {}, study)
        service.acknowledge_many(
            [(V1_SUBMITTED, "r-v1")], at=datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
        )

        expected = digest_of(
            {"chaq_dress_a": 1, "chaq_dress_b": "na", "chaq_devices": ["wheelchair"]}
        )
        meta = meta_of(store, V1_SUBMITTED)
        assert (meta.status, meta.purged, meta.answers_sha256) == (
            ResponseStatus.ACKNOWLEDGED,
            True,
            expected,
        )
        assert purge_details(store, V1_SUBMITTED) == [f"receipt r-v1; answers sha256 {expected}"]
        with store.unit_of_work() as uow:
            assert uow.answers.load(meta) == {}
            draft = uow.responses.get(V1_DRAFT)
            assert draft is not None
            assert uow.answers.load(draft) == {"vas_pain": 37}  # only the acknowledged one goes
            assert uow.outbox.count_pending() == 0
        assert store.verify().ok
    finally:
        store.close()


def queue(store: Store, count: int, *, with_hash: bool) -> list[tuple[str, int]]:
    """``count`` submitted responses with one answer and an outbox entry each (one commit);
    ``with_hash=False`` makes them like responses submitted before hashes were stored."""
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    made: list[tuple[str, int]] = []
    with store.unit_of_work() as uow:
        for number in range(count):
            meta = ResponseMeta(
                id=str(uuid.uuid4()),
                patient="DEMO-001",
                visit="V1",
                form_id="vas_pain",
                form_version="1.0.0",
                form_sha256="ab" * 32,
                respondent="child",
                language="en",
                status=ResponseStatus.SUBMITTED,
                started_at=at,
                updated_at=at,
                submitted_at=at,
                answers_sha256=digest_of({"vas_pain": number % 101}) if with_hash else None,
            )
            uow.responses.add(meta)
            uow.answers.put(meta, "vas_pain", number % 101)
            uow.outbox.add(OutboxEntry(meta.id, '{"sealed": "made-up"}', "cd" * 32, at))
            made.append((meta.id, number % 101))
        uow.commit()
    return made


def test_a_large_batch_purges_everything_and_the_audit_chain_still_verifies(
    service: SessionService, store: Store, db_path: Path, clock: Clock
) -> None:
    enrol(store, "DEMO-001", age=10)
    # More than one IN (...) list of ids, and both kinds of response in one batch.
    made = queue(store, 700, with_hash=True) + queue(store, 500, with_hash=False)
    ids = [rid for rid, _ in made]
    with store.unit_of_work() as uow:
        head = uow.audit.head()
    assert head is not None

    service.acknowledge_many([(rid, f"r-{rid}") for rid in ids], at=clock())

    with store.unit_of_work() as uow:
        events = uow.audit.list(after_seq=head.seq)
        metas = {meta.id: meta for meta in uow.responses.list()}
        assert uow.outbox.count_pending() == 0
    assert [e.seq for e in events] == list(range(head.seq + 1, head.seq + 1 + len(ids)))
    assert [e.response_id for e in events] == ids  # one PURGE per response, in receipt order
    for (rid, pain), event in zip(made, events, strict=True):
        digest = digest_of({"vas_pain": pain})
        assert metas[rid].answers_sha256 == digest
        assert metas[rid].status is ResponseStatus.ACKNOWLEDGED
        assert event.detail == f"receipt r-{rid}; answers sha256 {digest}"
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT count(*) FROM answers").fetchone() == (0,)
        receipts = dict(raw.execute("SELECT response_id, receipt_id FROM outbox").fetchall())
    raw.close()
    assert receipts == {rid: f"r-{rid}" for rid in ids}  # each entry its own receipt
    report = store.verify()
    assert report.ok, report.problems


def test_an_unknown_id_at_the_end_of_a_large_batch_changes_nothing(
    service: SessionService, store: Store, db_path: Path, clock: Clock
) -> None:
    enrol(store, "DEMO-001", age=10)
    ids = [rid for rid, _ in queue(store, 600, with_hash=True)]
    before = snapshot(db_path)
    unknown = str(uuid.uuid4())
    receipts = [(rid, f"r-{rid}") for rid in ids] + [(unknown, "r-unknown")]

    with pytest.raises(SessionError, match=f"no response {unknown} on this kiosk"):
        service.acknowledge_many(receipts, at=clock())

    assert snapshot(db_path) == before


def test_a_batch_refused_after_writing_began_is_rolled_back_whole(
    service: SessionService, store: Store, db_path: Path, clock: Clock
) -> None:
    enrol(store, "DEMO-001", age=10)
    ids = [rid for rid, _ in queue(store, 600, with_hash=True)]
    with sqlite3.connect(db_path) as raw:
        raw.execute("DELETE FROM outbox WHERE response_id = ?", (ids[-1],))
    raw.close()
    before = snapshot(db_path)

    with pytest.raises(StoreError, match=f"response {ids[-1]} is not in the outbox"):
        service.acknowledge_many([(rid, f"r-{rid}") for rid in ids], at=clock())

    assert snapshot(db_path) == before
    with pytest.raises(SessionError, match="no response"):
        service.acknowledge("no-such-id", receipt_id="r-x", at=clock())
    assert snapshot(db_path) == before
