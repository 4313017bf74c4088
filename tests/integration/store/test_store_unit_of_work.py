"""The unit of work and its repositories, against a real SQLite file."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from epro.crypto import StudyPublicKey, generate_study_keypair, verify_signature
from epro.errors import StoreError
from epro.forms.model import NA, SKIPPED, AnswerValue
from epro.store import (
    AuditKind,
    OutboxEntry,
    Patient,
    ResponseMeta,
    ResponseStatus,
    Store,
    open_store,
)

from .conftest import PASSPHRASE, MakeResponse


def test_leaving_the_block_without_commit_rolls_back(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.patients.add(Patient("DEMO-009", "2016-01", date(2026, 1, 5), "DEMO"))
    with store.unit_of_work() as uow:
        assert uow.patients.get("DEMO-009") is None


def test_an_exception_in_the_block_rolls_back(store: Store) -> None:
    def enrol_then_fail() -> None:
        with store.unit_of_work() as uow:
            uow.patients.add(Patient("DEMO-009", "2016-01", date(2026, 1, 5), "DEMO"))
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        enrol_then_fail()
    with store.unit_of_work() as uow:
        assert uow.patients.list() == []


def test_a_committed_patient_comes_back_equal(store: Store) -> None:
    patient = Patient("DEMO-003", "2012-07", date(2026, 2, 1), "DEMO", language="nl")
    with store.unit_of_work() as uow:
        uow.patients.add(patient)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.patients.get("DEMO-003") == patient
        assert uow.patients.list() == [patient]


def test_a_duplicate_study_code_is_refused(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.patients.add(Patient("DEMO-001", "2016-01", date(2026, 1, 5), "DEMO"))
        with pytest.raises(StoreError, match="this study code is already enrolled"):
            uow.patients.add(Patient("DEMO-001", "2016-02", date(2026, 1, 5), "DEMO"))


def test_a_response_for_an_unknown_patient_is_refused(
    store: Store, make_response: MakeResponse
) -> None:
    meta = make_response()
    meta.id, meta.patient = "another-id", "DEMO-404"
    with store.unit_of_work() as uow, pytest.raises(StoreError, match="enrol the patient"):
        uow.responses.add(meta)


# instruments.md §2: stored answers are codes, numbers, lists, texts, or "na" / "skipped".
VALUES: list[AnswerValue] = [
    0,
    3,
    37,
    4.5,
    True,
    False,
    NA,
    SKIPPED,
    ["wheelchair"],
    [],
    "2026-03-02",
]


@pytest.mark.parametrize("value", VALUES, ids=[repr(v) for v in VALUES])
def test_every_kind_of_answer_value_comes_back_equal_and_typed(
    store: Store, make_response: MakeResponse, value: AnswerValue
) -> None:
    meta = make_response()
    with store.unit_of_work() as uow:
        uow.answers.put(meta, "item_x", value)
        uow.commit()
    with store.unit_of_work() as uow:
        loaded = uow.answers.load(meta)["item_x"]
    assert loaded == value
    assert type(loaded) is type(value)


def test_put_replaces_an_answer_and_remove_deletes_it(
    store: Store, make_response: MakeResponse
) -> None:
    meta = make_response()
    with store.unit_of_work() as uow:
        uow.answers.put(meta, "chaq_dress_a", 2)
        uow.answers.put(meta, "chaq_dress_a", 1)
        uow.answers.put(meta, "chaq_dress_b", 0)
        uow.answers.remove(meta, "chaq_dress_b")
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.answers.load(meta) == {"chaq_dress_a": 1}


def test_purge_deletes_the_ciphertext_and_keeps_the_hash_of_the_answers(
    store: Store, db_path: Path, filled: list[ResponseMeta]
) -> None:
    meta = filled[0]
    with store.unit_of_work() as uow:
        answers = uow.answers.load(meta)
        digest = uow.answers.purge(meta)
        uow.responses.update(meta)
        uow.commit()
    canonical = json.dumps(answers, sort_keys=True, separators=(",", ":")).encode()
    assert digest == hashlib.sha256(canonical).hexdigest()
    with store.unit_of_work() as uow:
        stored = uow.responses.get(meta.id)
        assert stored is not None
        assert (stored.purged, stored.answers_sha256) == (True, digest)
        assert uow.answers.load(meta) == {}
        with pytest.raises(StoreError, match="purged"):
            uow.answers.put(meta, "chaq_dress_a", 1)
    with sqlite3.connect(db_path) as raw:
        count = raw.execute("SELECT count(*) FROM answers WHERE response_id = ?", (meta.id,))
        assert count.fetchone()[0] == 0


def test_responses_are_listed_by_patient_and_status(
    store: Store, make_response: MakeResponse
) -> None:
    first = make_response("DEMO-001")
    second = make_response("DEMO-001", status=ResponseStatus.SUBMITTED)
    third = make_response("DEMO-002", status=ResponseStatus.SUBMITTED)
    with store.unit_of_work() as uow:
        assert [m.id for m in uow.responses.list()] == [first.id, second.id, third.id]
        assert [m.id for m in uow.responses.list(patient="DEMO-001")] == [first.id, second.id]
        submitted = uow.responses.list(statuses=[ResponseStatus.SUBMITTED])
        assert [m.id for m in submitted] == [second.id, third.id]
        both = uow.responses.list(patient="DEMO-002", statuses={ResponseStatus.SUBMITTED})
        assert [m.id for m in both] == [third.id]


def test_an_updated_response_comes_back_equal(store: Store, make_response: MakeResponse) -> None:
    meta = make_response()
    meta.status = ResponseStatus.SUBMITTED
    meta.position = 7
    meta.submitted_at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    meta.out_of_window_reason = "visit moved by the hospital"
    with store.unit_of_work() as uow:
        uow.responses.update(meta)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.responses.get(meta.id) == meta


@pytest.mark.parametrize(
    ("field", "value"),
    [("patient", "DEMO-002"), ("form_id", "jamar"), ("form_version", "2.0.0"), ("key_version", 2)],
)
def test_what_binds_the_answers_cannot_change_after_start(
    store: Store, make_response: MakeResponse, field: str, value: object
) -> None:
    meta = make_response()
    make_response("DEMO-002")
    setattr(meta, field, value)
    with store.unit_of_work() as uow, pytest.raises(StoreError, match="cannot change"):
        uow.responses.update(meta)


def test_a_time_without_a_zone_is_refused(store: Store, make_response: MakeResponse) -> None:
    meta = make_response()
    meta.updated_at = datetime(2026, 3, 2, 9, 30)  # naive
    with store.unit_of_work() as uow, pytest.raises(StoreError, match="time zone"):
        uow.responses.update(meta)


def test_the_outbox_keeps_an_envelope_until_its_receipt(
    store: Store, make_response: MakeResponse
) -> None:
    meta = make_response(status=ResponseStatus.SUBMITTED)
    created = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    entry = OutboxEntry(meta.id, '{"sealed": "made-up"}', "cd" * 32, created)
    with store.unit_of_work() as uow:
        uow.outbox.add(entry)
        uow.outbox.record_error(meta.id, "server unreachable")
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.outbox.count_pending() == 1
        pending = uow.outbox.pending(limit=10)
        assert [(e.attempts, e.last_error) for e in pending] == [(1, "server unreachable")]
        uow.outbox.mark_sent(meta.id, datetime(2026, 3, 2, 10, 5, tzinfo=UTC))
        assert uow.outbox.count_pending() == 1  # sent is not acknowledged
        uow.outbox.mark_acknowledged(meta.id, "receipt-1", datetime(2026, 3, 2, 10, 6, tzinfo=UTC))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.outbox.count_pending() == 0
        assert uow.outbox.pending(limit=10) == []
        stored = uow.outbox.get(meta.id)
        assert stored is not None
        assert (stored.receipt_id, stored.attempts, stored.last_error) == ("receipt-1", 2, None)
        with pytest.raises(StoreError, match="already in the outbox"):
            uow.outbox.add(entry)


def test_pending_honours_the_limit_oldest_first(store: Store, make_response: MakeResponse) -> None:
    metas = [make_response(status=ResponseStatus.SUBMITTED) for _ in range(3)]
    with store.unit_of_work() as uow:
        for minute, meta in zip((3, 1, 2), metas, strict=True):
            at = datetime(2026, 3, 2, 10, minute, tzinfo=UTC)
            uow.outbox.add(OutboxEntry(meta.id, "{}", "00" * 32, at))
        uow.commit()
    with store.unit_of_work() as uow:
        assert [e.response_id for e in uow.outbox.pending(2)] == [metas[1].id, metas[2].id]


def test_settings_round_trip_and_a_secret_is_not_stored_in_clear(
    store: Store, db_path: Path
) -> None:
    with store.unit_of_work() as uow:
        uow.keys.set_setting("server_url", "https://study.example")
        uow.keys.set_setting("device_token", "tok-ZQXSECRET", secret=True)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.keys.get_setting("server_url") == "https://study.example"
        assert uow.keys.get_setting("device_token") == "tok-ZQXSECRET"
        assert uow.keys.get_setting("absent") is None
    store.close()
    assert b"ZQXSECRET" not in db_path.read_bytes()
    assert b"https://study.example" in db_path.read_bytes()  # plain settings are plain


def test_the_device_key_signs_and_the_study_key_round_trips(store: Store) -> None:
    study = generate_study_keypair().public_key()
    with store.unit_of_work() as uow:
        assert uow.keys.study_public_key() is None
        uow.keys.set_study_public_key(study)
        key = uow.keys.device_key()
        uow.commit()
    assert verify_signature(key.public_bytes(), key.sign(b"envelope"), b"envelope")
    with store.unit_of_work() as uow:
        stored = uow.keys.study_public_key()
        assert isinstance(stored, StudyPublicKey)
        assert stored.fingerprint() == study.fingerprint()
        assert uow.keys.device_key().public_bytes() == key.public_bytes()


def test_audit_append_returns_the_new_head(store: Store) -> None:
    with store.unit_of_work() as uow:
        event = uow.audit.append(AuditKind.ENROL, "anna", detail="DEMO-001 enrolled")
        assert uow.audit.head() == event
        assert event.device_id == store.device_id
        assert uow.audit.list(after_seq=event.seq - 1) == [event]
        uow.commit()


def test_units_of_work_in_threads_queue_instead_of_failing(store: Store) -> None:
    errors: list[BaseException] = []

    def enrol(number: int) -> None:
        try:
            with store.unit_of_work() as uow:
                uow.patients.add(Patient(f"DEMO-{number:03}", "2015-01", date(2026, 1, 1), "DEMO"))
                uow.audit.append(AuditKind.ENROL, "anna")
                uow.commit()
        except BaseException as error:  # surfaced by the assert below
            errors.append(error)

    threads = [threading.Thread(target=enrol, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with store.unit_of_work() as uow:
        assert len(uow.patients.list()) == 8
        assert [e.seq for e in uow.audit.list()] == list(range(1, 10))
    assert store.verify().ok


def test_a_second_process_view_sees_committed_data(
    store: Store, db_path: Path, filled: list[ResponseMeta]
) -> None:
    other = open_store(db_path, passphrase=PASSPHRASE)
    try:
        with other.unit_of_work() as uow:
            assert uow.answers.load(filled[1]) == {"vas_pain": 42}
    finally:
        other.close()


def test_a_closed_store_refuses_new_work_with_a_clear_message(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError, match="is closed"):
        store.unit_of_work()


def test_reads_in_a_unit_of_work_see_its_own_writes(
    store: Store, make_response: MakeResponse
) -> None:
    meta = make_response()
    with store.unit_of_work() as uow:
        uow.answers.put(meta, "chaq_dress_a", 1)
        assert uow.answers.load(meta) == {"chaq_dress_a": 1}
        uow.answers.put(meta, "chaq_dress_a", 2)
        assert uow.answers.load(meta) == {"chaq_dress_a": 2}
        meta.position = 5
        uow.responses.update(meta)
        fresh = uow.responses.get(meta.id)
        assert fresh is not None
        assert fresh.position == 5
        uow.answers.purge(meta)
        uow.responses.update(meta)
        with pytest.raises(StoreError, match="purged"):
            uow.answers.put(meta, "chaq_dress_a", 3)
