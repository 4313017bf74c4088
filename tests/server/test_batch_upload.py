"""Batch upload (DESIGN §7): stored, duplicate, conflict, rejected — one receipt per envelope."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine, text

from epro.protocol import (
    DEFAULT_BATCH_MAX,
    REQUEST_SIGNATURE_HEADER,
    BatchReply,
    EnvelopeContent,
    UtcDateTime,
    utc_timestamp,
    wire_signing_bytes,
)
from epro_sync import cli
from epro_sync.testing import RunningServer, ScriptedKiosk


def _receipts(reply: httpx.Response) -> list[dict[str, Any]]:
    assert reply.status_code == 200, reply.text
    receipts: list[dict[str, Any]] = BatchReply.model_validate(reply.json()).model_dump(
        mode="json"
    )["receipts"]
    return receipts


def test_new_envelopes_are_stored_with_a_receipt_each(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine
) -> None:
    kiosk = new_kiosk()
    envelopes = [kiosk.envelope(patient=f"DEMO-00{n}") for n in range(1, 4)]
    receipts = _receipts(kiosk.upload(*envelopes))
    assert [r["status"] for r in receipts] == ["stored"] * 3
    assert [r["response_id"] for r in receipts] == [str(e.response_id) for e in envelopes]
    assert [r["sha256"] for r in receipts] == [e.sha256 for e in envelopes]
    assert len({r["receipt_id"] for r in receipts}) == 3
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT envelope FROM responses ORDER BY patient")).scalars()
        assert [uuid.UUID(json.loads(s)["response_id"]) for s in stored] == [
            e.response_id for e in envelopes
        ]


def test_same_envelope_again_is_a_duplicate_with_the_original_receipt(
    new_kiosk: Callable[..., ScriptedKiosk],
) -> None:
    kiosk = new_kiosk()
    envelope = kiosk.envelope()
    (first,) = _receipts(kiosk.upload(envelope))
    (again,) = _receipts(kiosk.upload(envelope))
    assert again["status"] == "duplicate"
    assert (again["receipt_id"], again["received_at"]) == (
        first["receipt_id"],
        first["received_at"],
    )


def test_same_id_with_other_content_is_quarantined_and_the_original_kept(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine
) -> None:
    kiosk = new_kiosk()
    original = kiosk.envelope(visit="V2")
    changed = kiosk.envelope(response_id=original.response_id, visit="V3")
    (stored,) = _receipts(kiosk.upload(original))
    (conflict,) = _receipts(kiosk.upload(changed))
    assert conflict["status"] == "conflict"
    assert conflict["receipt_id"] == stored["receipt_id"]
    assert "quarantined" in conflict["message"]
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT visit, sha256 FROM responses")).all()
        quarantined = conn.execute(
            text("SELECT response_id, sha256, original_receipt_id FROM quarantine")
        ).all()
    assert [tuple(row) for row in kept] == [("V2", original.sha256)]
    assert [tuple(row) for row in quarantined] == [
        (str(original.response_id), changed.sha256, stored["receipt_id"])
    ]


def test_an_unsigned_upload_is_refused_and_stores_nothing(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine
) -> None:
    kiosk = new_kiosk()
    body = ('{"envelopes": [' + kiosk.envelope().model_dump_json() + "]}").encode()
    reply = kiosk.client.post(
        "/v1/responses:batch",
        content=body,
        headers={**kiosk.headers, "Content-Type": "application/json"},
    )
    assert reply.status_code == 401
    assert "missing request signature" in reply.json()["detail"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM responses")).scalar() == 0


@pytest.mark.parametrize("forgery", ["other key", "other body", "other path", "not base64"])
def test_a_request_signature_that_does_not_fit_is_refused(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine, forgery: str
) -> None:
    kiosk = new_kiosk()
    body = ('{"envelopes": [' + kiosk.envelope().model_dump_json() + "]}").encode()
    headers = kiosk.signed_headers(body)
    if forgery == "other key":  # a stolen token without the kiosk's key
        headers = {**ScriptedKiosk(kiosk.client).signed_headers(body), **kiosk.headers}
    elif forgery == "other body":
        headers = kiosk.signed_headers(body.replace(b"DEMO-001", b"DEMO-002"))
    elif forgery == "other path":
        headers = kiosk.signed_headers(body, path="/v1/roster")
    else:
        headers[REQUEST_SIGNATURE_HEADER] = "%%%"
    reply = kiosk.client.post("/v1/responses:batch", content=body, headers=headers)
    assert reply.status_code == 401
    assert "does not match the key registered for this kiosk" in reply.json()["detail"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM responses")).scalar() == 0


def test_an_envelope_signature_is_checked_by_verify_not_at_upload(
    new_kiosk: Callable[..., ScriptedKiosk],
    server: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The signed request authenticates the upload; a bad inner signature (a kiosk bug) is
    stored, and `epro-sync verify` names it for the data manager."""
    kiosk = new_kiosk()
    forged = kiosk.envelope().model_dump(mode="json")
    other = ScriptedKiosk(kiosk.client)  # a key the server has never seen
    forged["signature"] = other.envelope(**kiosk.content().model_dump()).signature
    good = kiosk.envelope()
    receipts = _receipts(kiosk.upload(forged, good))
    assert [r["status"] for r in receipts] == ["stored", "stored"]
    monkeypatch.setenv("EPRO_SYNC_DATABASE_URL", server.settings.database_url)
    assert cli.main(["verify"]) == 1
    out = capsys.readouterr().out
    assert f"response {forged['response_id']} from kiosk {kiosk.device_id}" in out
    assert "signature is not valid" in out
    assert str(good.response_id) not in out
    assert "1 of 2 stored responses failed" in out


def test_verify_passes_when_every_envelope_checks_out(
    new_kiosk: Callable[..., ScriptedKiosk],
    server: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kiosk, sibling = new_kiosk(), new_kiosk()
    _receipts(kiosk.upload(kiosk.envelope(), kiosk.envelope()))
    _receipts(sibling.upload(sibling.envelope()))
    monkeypatch.setenv("EPRO_SYNC_DATABASE_URL", server.settings.database_url)
    assert cli.main(["verify"]) == 0
    assert "all 3 stored responses check out" in capsys.readouterr().out


def test_content_changed_after_signing_is_rejected_as_sha_mismatch(
    new_kiosk: Callable[..., ScriptedKiosk],
) -> None:
    kiosk = new_kiosk()
    tampered = kiosk.envelope().model_dump(mode="json")
    tampered["patient"] = "DEMO-999"
    (receipt,) = _receipts(kiosk.upload(tampered))
    assert receipt["status"] == "rejected"
    assert "sha256 does not match" in receipt["message"]


def test_envelope_of_another_kiosk_is_rejected(new_kiosk: Callable[..., ScriptedKiosk]) -> None:
    kiosk, other = new_kiosk(), new_kiosk()
    (receipt,) = _receipts(kiosk.upload(other.envelope()))
    assert receipt["status"] == "rejected"
    assert "token of kiosk" in receipt["message"]


def test_envelope_for_another_site_is_rejected(new_kiosk: Callable[..., ScriptedKiosk]) -> None:
    kiosk = new_kiosk("UMCU")
    (receipt,) = _receipts(kiosk.upload(kiosk.envelope(site="EMC")))
    assert receipt["status"] == "rejected"
    assert "enrolled at site UMCU" in receipt["message"]


def test_malformed_envelope_is_rejected_naming_the_field(
    new_kiosk: Callable[..., ScriptedKiosk],
) -> None:
    kiosk = new_kiosk()
    broken = kiosk.envelope().model_dump(mode="json")
    broken["submitted_at"] = "2026-03-02T09:30:00"  # no time zone
    receipts = _receipts(kiosk.upload(broken, kiosk.envelope(), "not an object"))
    assert [r["status"] for r in receipts] == ["rejected", "stored", "rejected"]
    assert receipts[0]["response_id"] == broken["response_id"]
    assert "submitted_at" in receipts[0]["message"]
    assert "time zone" in receipts[0]["message"]
    assert "envelope 2 is malformed" in receipts[2]["message"]


def test_a_batch_above_the_maximum_is_refused_whole(
    new_kiosk: Callable[..., ScriptedKiosk], server: RunningServer, engine: Engine
) -> None:
    kiosk = new_kiosk()
    limit = server.settings.batch_max
    reply = kiosk.upload(*[kiosk.envelope() for _ in range(limit + 1)])
    assert reply.status_code == 413
    assert f"at most {limit}" in reply.json()["detail"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM responses")).scalar() == 0


def test_a_body_without_envelopes_is_a_clear_422(new_kiosk: Callable[..., ScriptedKiosk]) -> None:
    kiosk = new_kiosk()
    reply = kiosk.post_signed(b'{"envelope": []}')
    assert reply.status_code == 422
    assert '{"envelopes": [' in reply.json()["detail"]


def test_concurrent_uploads_of_one_envelope_store_it_once(
    new_kiosk: Callable[..., ScriptedKiosk], server: RunningServer, engine: Engine
) -> None:
    kiosk = new_kiosk()
    envelope = kiosk.envelope()
    body = ('{"envelopes": [' + envelope.model_dump_json() + "]}").encode()
    barrier = threading.Barrier(2)
    statuses: list[str] = []

    def upload() -> None:
        # A client per thread: two real connections racing into the server.
        with httpx.Client(base_url=server.url, timeout=30) as client:
            barrier.wait()
            reply = client.post(
                "/v1/responses:batch", content=body, headers=kiosk.signed_headers(body)
            )
            statuses.append(reply.json()["receipts"][0]["status"])

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == ["duplicate", "stored"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM responses")).scalar() == 1


def test_duplicate_within_one_batch_is_stored_once(
    new_kiosk: Callable[..., ScriptedKiosk],
) -> None:
    kiosk = new_kiosk()
    envelope = kiosk.envelope()
    receipts = _receipts(kiosk.upload(envelope, envelope))
    assert [r["status"] for r in receipts] == ["stored", "duplicate"]


def test_a_batch_mixing_stored_and_new_envelopes_tells_each_apart(
    new_kiosk: Callable[..., ScriptedKiosk],
) -> None:
    # Not every envelope is new, so the server reads back which rows its insert stored (those
    # holding the receipt ids it made for them) and which an earlier upload had.
    kiosk = new_kiosk()
    old = kiosk.envelope(patient="DEMO-001")
    (original,) = _receipts(kiosk.upload(old))
    fresh = [kiosk.envelope(patient=f"DEMO-00{n}") for n in (2, 3)]
    receipts = _receipts(kiosk.upload(fresh[0], old, fresh[1]))
    assert [r["status"] for r in receipts] == ["stored", "duplicate", "stored"]
    assert receipts[1]["receipt_id"] == original["receipt_id"]
    assert receipts[1]["received_at"] == original["received_at"]
    assert original["receipt_id"] not in {receipts[0]["receipt_id"], receipts[2]["receipt_id"]}
    assert receipts[0]["receipt_id"] != receipts[2]["receipt_id"]
    assert receipts[0]["received_at"] == receipts[2]["received_at"]


def test_two_versions_of_one_id_in_one_batch_store_the_first_and_quarantine_the_second(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine
) -> None:
    kiosk = new_kiosk()
    first = kiosk.envelope(visit="V2")
    second = kiosk.envelope(response_id=first.response_id, visit="V3")
    receipts = _receipts(kiosk.upload(first, second, first))
    assert [r["status"] for r in receipts] == ["stored", "conflict", "duplicate"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT visit FROM responses")).scalars().all() == ["V2"]
        assert conn.execute(text("SELECT sha256 FROM quarantine")).scalars().all() == [
            second.sha256
        ]


def test_receipt_ids_are_time_ordered_version_7_uuids_in_canonical_text() -> None:
    from epro_sync.upload import _new_receipt_ids

    now = datetime(2026, 3, 1, 9, 30, 15, 123_456, tzinfo=UTC)
    ids = _new_receipt_ids(2000, now)
    parsed = [uuid.UUID(text) for text in ids]
    assert [str(u) for u in parsed] == ids  # lower-case, hyphenated: what str(UUID) gives
    assert {(u.version, u.variant) for u in parsed} == {(7, uuid.RFC_4122)}
    assert {u.int >> 80 for u in parsed} == {int(now.timestamp() * 1000)}  # its milliseconds
    assert len(set(ids)) == 2000
    later = _new_receipt_ids(3, now + timedelta(milliseconds=1))
    assert max(ids) < min(later)  # a later batch sorts after: new ids land at the index's end
    assert _new_receipt_ids(0, now) == []


def test_uploaded_times_are_stored_as_the_orm_stores_them(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine
) -> None:
    from sqlmodel import Session, select

    from epro_sync.tables import StoredResponse

    kiosk = new_kiosk()
    envelope = kiosk.envelope()
    (receipt,) = _receipts(kiosk.upload(envelope))
    with Session(engine) as session:
        row = session.exec(select(StoredResponse)).one()
        # the ORM reads back exactly what was uploaded and receipted
        assert row.submitted_at.replace(tzinfo=None) == envelope.submitted_at.replace(tzinfo=None)
        received = datetime.fromisoformat(receipt["received_at"])
        assert row.received_at.replace(tzinfo=None) == received.replace(tzinfo=None)
        if engine.dialect.name == "sqlite":
            # one text form in the column, whichever path wrote the row
            process = StoredResponse.metadata.tables["responses"].c.submitted_at.type
            processor = process.dialect_impl(engine.dialect).bind_processor(engine.dialect)
            assert processor is not None
            raw = session.connection().exec_driver_sql("SELECT submitted_at FROM responses")
            assert raw.scalar_one() == processor(envelope.submitted_at)


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
    )
)
@settings(max_examples=300, deadline=None)
def test_the_stored_time_from_its_signed_rendering_is_what_the_column_writes(
    value: datetime,
) -> None:
    """check_batch derives SQLite's stored text of submitted_at from the signed rendering."""
    from sqlalchemy.dialects import postgresql, sqlite

    from epro_sync.tables import StoredResponse
    from epro_sync.upload import _time_storer

    assert "submitted_at" in EnvelopeContent.model_fields
    try:
        utc = TypeAdapter(UtcDateTime).validate_python(value)  # as an upload is validated
    except ValidationError:
        return  # outside the range of dates the protocol accepts
    column = StoredResponse.metadata.tables["responses"].c.submitted_at.type
    # SQLAlchemy's dialect constructors are untyped.
    dialects = (sqlite.dialect(), postgresql.dialect())  # type: ignore[no-untyped-call]
    for dialect in dialects:
        processor = column.dialect_impl(dialect).bind_processor(dialect)
        expected = utc if processor is None else processor(utc)
        assert _time_storer(dialect)(utc_timestamp(utc)) == expected


_RECEIPT = st.fixed_dictionaries(
    {
        "response_id": st.none() | st.uuids().map(str),
        "status": st.sampled_from(["stored", "duplicate", "conflict", "rejected"]),
        "receipt_id": st.none() | st.uuids().map(str),
        "received_at": st.none() | st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
        "sha256": st.none() | st.from_regex(r"\A[0-9a-f]{64}\Z"),
        "message": st.just("") | st.text(max_size=30),
    }
)


@given(st.lists(_RECEIPT, max_size=12))
@settings(max_examples=300, deadline=None)
def test_the_reply_body_is_byte_for_byte_what_json_dumps_writes(receipts: list[Any]) -> None:
    from epro_sync.upload import reply_json

    stored = [r for r in receipts if r["status"] == "stored" and not r["message"]]
    for receipt in stored:  # a stored receipt always has its ids, time and hash
        for field in ("response_id", "receipt_id", "received_at", "sha256"):
            receipt[field] = (
                receipt[field]
                or {
                    "response_id": str(uuid.uuid4()),
                    "receipt_id": str(uuid.uuid4()),
                    "received_at": datetime.now(UTC).isoformat(),
                    "sha256": "0" * 64,
                }[field]
            )
    order = ("response_id", "status", "receipt_id", "received_at", "sha256", "message")
    receipts = [{field: r[field] for field in order} for r in receipts]  # as the server has them
    expected = json.dumps({"receipts": receipts}, separators=(",", ":")).encode()
    assert reply_json(receipts) == expected


def test_an_envelope_with_sealed_data_that_is_not_base64_is_told_what_base64_is(
    new_kiosk: Callable[..., ScriptedKiosk],
) -> None:
    kiosk = new_kiosk()
    broken = kiosk.envelope().model_dump(mode="json")
    broken["sealed"] = "not base64!"
    (receipt,) = _receipts(kiosk.upload(broken))
    assert receipt["status"] == "rejected"
    assert receipt["message"].endswith(
        "sealed: must be standard base64 (A–Z, a–z, 0–9, +, /, = padding)"
    )


# ------------------------------------------------------------- reading a body: two ways, one result


def _offline_kiosk(client: httpx.Client) -> ScriptedKiosk:
    """A kiosk identity that signs envelopes without enrolling (for reading bodies offline)."""
    kiosk = ScriptedKiosk(client)
    kiosk.device_id, kiosk.site = "kiosk-1", "DEMO"
    return kiosk


_CODES = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,20}\Z")


@given(
    response_id=st.uuids(),
    patient=_CODES,
    visit=_CODES,
    respondent=st.from_regex(r"\A[a-z][a-z_]{0,10}\Z"),
    language=st.sampled_from(["en", "nl", "pt-BR"]),
    submitted_at=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
    ),
    out_of_window=st.booleans(),
    sealed=st.binary(min_size=1, max_size=64),
)
@settings(max_examples=200, deadline=None)
def test_a_kiosk_s_body_reads_into_the_same_values_as_through_the_envelope_model(
    response_id: uuid.UUID,
    patient: str,
    visit: str,
    respondent: str,
    language: str,
    submitted_at: datetime,
    out_of_window: bool,
    sealed: bytes,
) -> None:
    """The common case skips the model (ids and times stay text); the values must be the same
    as the model's, so the checks, the stored rows and the receipts cannot differ."""
    from epro.protocol import BatchRequest, signing_bytes
    from epro_sync.upload import _wire, _wire_batch, parse_batch

    try:
        when = TypeAdapter(UtcDateTime).validate_python(submitted_at)
    except ValidationError:
        return  # outside the range of dates the protocol accepts
    with httpx.Client() as client:
        envelope = _offline_kiosk(client).envelope(
            response_id=response_id,
            patient=patient,
            visit=visit,
            respondent=respondent,
            language=language,
            submitted_at=when,
            out_of_window=out_of_window,
            sealed=base64.b64encode(sealed).decode(),
        )
    body = b'{"envelopes":[' + envelope.model_dump_json().encode() + b"]}"
    (model,) = BatchRequest.model_validate_json(body).envelopes
    (values,) = _wire_batch(DEFAULT_BATCH_MAX).validate_json(body)[
        "envelopes"
    ]  # the common case's reading
    assert values == _wire(model)
    assert values["response_id"] == str(response_id)
    assert wire_signing_bytes(values) == signing_bytes(model)
    parsed = parse_batch(body, 10)
    assert parsed.envelopes == [values]
    assert not parsed.rejected


def test_ids_and_times_in_another_valid_form_are_read_through_the_model(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine
) -> None:
    """An upper-case id or a time with an offset is valid JSON for the model, and was signed in
    canonical form: stored as before, under the canonical id and time."""
    from epro_sync.upload import _wire_batch

    kiosk = new_kiosk()
    envelope = kiosk.envelope(submitted_at=datetime(2026, 3, 2, 9, 30, 15, 250, tzinfo=UTC))
    sent = envelope.model_dump(mode="json")
    sent["response_id"] = sent["response_id"].upper()
    sent["submitted_at"] = "2026-03-02T11:30:15.000250+02:00"
    body = json.dumps({"envelopes": [sent]}).encode()
    with pytest.raises(ValidationError):  # not the common case's form
        _wire_batch(DEFAULT_BATCH_MAX).validate_json(body)
    (receipt,) = _receipts(kiosk.post_signed(body))
    assert receipt["status"] == "stored"
    assert receipt["response_id"] == str(envelope.response_id)
    with engine.connect() as conn:
        stored = json.loads(conn.execute(text("SELECT envelope FROM responses")).scalar_one())
    assert stored["response_id"] == str(envelope.response_id)
    assert stored["submitted_at"] == "2026-03-02T09:30:15.000250Z"


def test_a_time_in_the_signed_form_that_is_no_real_date_is_rejected_naming_the_field(
    new_kiosk: Callable[..., ScriptedKiosk],
) -> None:
    kiosk = new_kiosk()
    broken = kiosk.envelope().model_dump(mode="json")
    broken["submitted_at"] = "2026-02-30T09:30:00.000000Z"
    receipts = _receipts(kiosk.upload(broken, kiosk.envelope()))
    assert [r["status"] for r in receipts] == ["rejected", "stored"]
    assert "submitted_at" in receipts[0]["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("device_id", ""),
        ("device_id", "a" * 65),
        ("site", "-DEMO"),
        ("patient", "DEMO 001"),
        ("visit", None),
        ("form_version", "1.0"),
        ("form_sha256", "A" * 64),
        ("respondent", "Child"),
        ("language", "english"),
        ("out_of_window", "maybe"),
        ("suite", "rot13"),
        ("sealed", "abc"),
        ("signature", "!!!!"),
        ("sha256", "x"),
        ("response_id", "not-a-uuid"),
        ("submitted_at", "yesterday"),
        ("unexpected", "1"),
    ],
)
def test_what_the_envelope_model_refuses_the_plain_reading_refuses_too(
    field: str, value: object
) -> None:
    """The plain reading takes its field types from the model: each constraint holds on both."""
    from epro.protocol import BatchRequest
    from epro_sync.upload import _wire_batch

    with httpx.Client() as client:
        good = _offline_kiosk(client).envelope().model_dump(mode="json")
    _wire_batch(DEFAULT_BATCH_MAX).validate_json(
        json.dumps({"envelopes": [good]})
    )  # the unchanged one is read
    body = json.dumps({"envelopes": [{**good, field: value}]})
    with pytest.raises(ValidationError):
        BatchRequest.model_validate_json(body)
    with pytest.raises(ValidationError):
        _wire_batch(DEFAULT_BATCH_MAX).validate_json(body)
