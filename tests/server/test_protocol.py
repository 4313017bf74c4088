"""The envelope wire format (DESIGN §7): canonical signing bytes, sha256 and signatures."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from epro.errors import SyncError
from epro.protocol import (
    Envelope,
    EnvelopeContent,
    content_sha256,
    reference_signing_bytes,
    sign_envelope,
    signing_bytes,
    utc_timestamp,
    verify_envelope,
)
from epro_sync.testing import ScriptedKiosk


@pytest.fixture
def kiosk() -> Iterator[ScriptedKiosk]:
    with httpx.Client() as client:  # never used to talk; only the key matters here
        kiosk = ScriptedKiosk(client)
        kiosk.device_id, kiosk.site = "kiosk-1", "UMCU"
        yield kiosk


def test_signing_bytes_are_sorted_compact_json_without_signature_or_hash(
    kiosk: ScriptedKiosk,
) -> None:
    envelope = kiosk.envelope()
    data = signing_bytes(envelope)
    parsed = json.loads(data)
    assert list(parsed) == sorted(parsed)
    assert set(parsed) == set(EnvelopeContent.model_fields)
    assert b", " not in data
    assert b": " not in data
    assert data == signing_bytes(kiosk.content(response_id=envelope.response_id))


def test_submission_time_is_rendered_in_utc_with_microseconds(kiosk: ScriptedKiosk) -> None:
    amsterdam = timezone(timedelta(hours=1))
    envelope = kiosk.envelope(submitted_at=datetime(2026, 3, 2, 10, 30, tzinfo=amsterdam))
    assert json.loads(signing_bytes(envelope))["submitted_at"] == "2026-03-02T09:30:00.000000Z"


def test_sha256_is_the_hash_of_the_signing_bytes(kiosk: ScriptedKiosk) -> None:
    envelope = kiosk.envelope()
    assert envelope.sha256 == hashlib.sha256(signing_bytes(envelope)).hexdigest()
    assert content_sha256(envelope) == envelope.sha256


def test_envelope_survives_a_json_round_trip_with_the_same_bytes(kiosk: ScriptedKiosk) -> None:
    envelope = kiosk.envelope()
    again = Envelope.model_validate_json(envelope.model_dump_json())
    assert signing_bytes(again) == signing_bytes(envelope)
    verify_envelope(again, base64.b64decode(kiosk.public_key_b64))


@pytest.mark.parametrize(
    ("field", "value"),
    [("patient", "DEMO-002"), ("out_of_window", True), ("visit", "V2")],
)
def test_any_change_after_signing_is_detected(kiosk: ScriptedKiosk, field: str, value: Any) -> None:
    envelope = kiosk.envelope()
    changed = envelope.model_copy(update={field: value})
    with pytest.raises(SyncError, match="sha256 does not match"):
        verify_envelope(changed, base64.b64decode(kiosk.public_key_b64))


def test_a_recomputed_hash_does_not_hide_a_forged_signature(kiosk: ScriptedKiosk) -> None:
    envelope = kiosk.envelope()
    changed = envelope.model_copy(update={"patient": "DEMO-002"})
    changed = changed.model_copy(update={"sha256": content_sha256(changed)})
    with pytest.raises(SyncError, match="signature is not valid"):
        verify_envelope(changed, base64.b64decode(kiosk.public_key_b64))


def test_sign_envelope_accepts_any_ed25519_signing_function(kiosk: ScriptedKiosk) -> None:
    calls: list[bytes] = []

    def sign(data: bytes) -> bytes:
        calls.append(data)
        return kiosk.key.sign(data)

    envelope = sign_envelope(kiosk.content(), sign)
    assert calls == [signing_bytes(envelope)]


BAD_FIELDS = [
    ("submitted_at", datetime(2026, 3, 2, 9, 30), "time zone"),
    ("patient", "DEMO 001", "pattern"),
    ("patient", "DEMO\x00001", "pattern"),
    ("sealed", "not base64!", "base64"),
    ("form_sha256", "ABC", "pattern"),
    ("suite", "rsa", "x25519"),
    ("form_version", "1.0", "pattern"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_FIELDS)
def test_malformed_fields_are_refused_with_the_field_named(
    kiosk: ScriptedKiosk, field: str, value: Any, message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        kiosk.content(**{field: value})
    assert caught.value.errors()[0]["loc"] == (field,)


def test_unknown_fields_are_refused_rather_than_silently_unsigned(kiosk: ScriptedKiosk) -> None:
    data = kiosk.envelope().model_dump(mode="json") | {"comment": "hello"}
    with pytest.raises(ValidationError, match="comment"):
        Envelope.model_validate(data)


def test_response_id_is_kept_exactly_as_made_by_the_kiosk(kiosk: ScriptedKiosk) -> None:
    response_id = uuid.uuid4()
    envelope = kiosk.envelope(response_id=response_id)
    assert json.loads(signing_bytes(envelope))["response_id"] == str(response_id)
    assert envelope.submitted_at.tzinfo == UTC


_CODE = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,20}\Z")
_B64 = st.binary(min_size=1, max_size=300).map(lambda raw: base64.b64encode(raw).decode())


@given(
    device_id=_CODE,
    site=_CODE,
    patient=_CODE,
    visit=_CODE,
    form_id=_CODE,
    form_version=st.from_regex(r"\A[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\Z"),
    form_sha256=st.from_regex(r"\A[0-9a-f]{64}\Z"),
    respondent=st.from_regex(r"\A[a-z][a-z_]{0,31}\Z"),
    language=st.from_regex(r"\A[a-z]{2,3}(-[A-Za-z0-9]{2,8})?\Z"),
    submitted_at=st.datetimes(
        min_value=datetime(2000, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.timezones()
    ),
    out_of_window=st.booleans(),
    suite=st.sampled_from(["x25519", "mlkem768-x25519"]),
    sealed=_B64,
    response_id=st.uuids(),
)
@settings(max_examples=200, deadline=None)
def test_the_fast_signing_bytes_equal_canonical_json_of_the_fields(**fields: Any) -> None:
    """The written-out canonical form never drifts from the rule it implements."""
    try:
        content = EnvelopeContent(**fields)
    except ValidationError:
        return  # e.g. a time zone hypothesis picked that has no offset at that moment
    assert signing_bytes(content) == reference_signing_bytes(content)
    # The id text a caller already holds gives the same bytes.
    key = str(content.response_id)
    assert signing_bytes(content, response_id=key) == reference_signing_bytes(content)


@given(st.datetimes(min_value=datetime(1000, 1, 2), timezones=st.timezones()))
@settings(max_examples=300, deadline=None)
def test_signed_times_render_as_strftime_would(value: datetime) -> None:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        return
    assert utc_timestamp(value) == utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize("paged", [False, True])
def test_the_kiosk_s_audit_head_body_is_the_model_s_own(paged: bool) -> None:
    """audit_head_json (the kiosk's fast path) reads back as the AuditHead the model would
    write, field for field."""
    from epro.protocol import AuditHead, audit_head_json

    links = [f"{n:064x}" for n in range(7, 12)] if paged else []
    fields = {
        "seq": 11,
        "hash": f"{11:064x}",
        "at": "2026-03-02T09:30:00.000120+00:00",
        "from_seq": 7 if paged else None,
        "links": links,
        "keyed_from": 1,
        "acknowledged": None if paged else 40,
    }
    model = AuditHead.model_validate(fields)
    fast = AuditHead.model_validate_json(audit_head_json(**fields))  # type: ignore[arg-type]
    assert fast == model
    assert AuditHead.model_validate_json(model.model_dump_json()) == fast
