"""Enrolment with one-time codes (DESIGN §7): single use, short expiry, stored hashed."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from epro_sync.testing import RunningServer, ScriptedKiosk, make_enrol_code


def test_enrolment_returns_identity_token_study_key_and_protocol(server: RunningServer) -> None:
    kiosk = ScriptedKiosk(server.client)
    reply = kiosk.enrol(server.code("UMCU"), "clinic 2")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["site"] == "UMCU"
    assert len(body["token"]) >= 43  # 256 random bits, URL-safe base64
    key_file = server.settings.study_public_key_file
    assert key_file is not None
    assert body["study_public_key"] == key_file.read_text(encoding="utf-8")
    toml = body["protocol"]["study_toml"]
    assert hashlib.sha256(toml.encode()).hexdigest() == body["protocol"]["study_sha256"]
    assert toml == server.settings.study_file.read_text(encoding="utf-8")


def test_enrolment_code_works_only_once(server: RunningServer) -> None:
    code = server.code()
    assert ScriptedKiosk(server.client).enrol(code).status_code == 200
    again = ScriptedKiosk(server.client).enrol(code)
    assert again.status_code == 403
    assert "already been used" in again.json()["detail"]


def test_expired_enrolment_code_is_refused_with_its_expiry(server: RunningServer) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    code = make_enrol_code(server.settings, "UMCU", now=long_ago)
    reply = ScriptedKiosk(server.client).enrol(code)
    assert reply.status_code == 403
    assert "expired" in reply.json()["detail"]
    assert "new one" in reply.json()["detail"]


def test_wrong_enrolment_code_is_refused(server: RunningServer) -> None:
    server.code()
    reply = ScriptedKiosk(server.client).enrol("AAAA-BBBB-CCCC")
    assert reply.status_code == 403
    assert "unknown enrolment code" in reply.json()["detail"]


def test_enrolment_code_may_be_typed_in_lower_case_without_dashes(server: RunningServer) -> None:
    code = server.code().replace("-", "").lower()
    assert ScriptedKiosk(server.client).enrol(code).status_code == 200


def test_codes_and_tokens_are_stored_only_as_hashes(server: RunningServer, engine: Engine) -> None:
    code = server.code()
    kiosk = ScriptedKiosk(server.client)
    kiosk.enrol(code)
    with engine.connect() as conn:
        dump = " ".join(
            str(row)
            for table in ("enrol_codes", "devices")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        )
    raw_code = code.replace("-", "")
    assert raw_code not in dump
    assert kiosk.token not in dump
    assert hashlib.sha256(kiosk.token.encode()).hexdigest() in dump


def test_public_key_that_is_not_ed25519_is_refused(server: RunningServer) -> None:
    reply = server.client.post(
        "/v1/enrol",
        json={
            "code": server.code(),
            "device_id": str(uuid.uuid4()),
            "public_key": base64.b64encode(b"short").decode(),
            "label": "x",
        },
    )
    assert reply.status_code == 422
    assert "Ed25519" in reply.json()["detail"]


def test_same_public_key_cannot_enrol_twice(
    server: RunningServer, new_kiosk: Callable[..., ScriptedKiosk]
) -> None:
    first = new_kiosk()
    twin = ScriptedKiosk(server.client)
    twin.key = first.key
    reply = twin.enrol(server.code())
    assert reply.status_code == 409
    assert "already enrolled" in reply.json()["detail"]


def test_a_public_key_that_is_not_base64_is_told_what_base64_is(server: RunningServer) -> None:
    reply = server.client.post(
        "/v1/enrol",
        json={
            "code": server.code(),
            "device_id": str(uuid.uuid4()),
            "public_key": "ed25519:abc*def",
            "label": "x",
        },
    )
    assert reply.status_code == 422
    assert reply.json()["detail"] == (
        "public_key: must be standard base64 (A–Z, a–z, 0–9, +, /, = padding)"
    )
