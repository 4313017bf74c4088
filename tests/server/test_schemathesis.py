"""Property-based API tests from the OpenAPI schema: malformed requests get a 4xx, never a 5xx.

In-process (ASGI) against a real SQLite file; bounded to a few examples per operation.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from epro.protocol import REQUEST_SIGNATURE_HEADER, sign_request
from epro_sync import storage
from epro_sync.app import create_app
from epro_sync.config import ServerSettings
from epro_sync.db import make_engine
from epro_sync.migrations import migrate

ROOT = Path(__file__).resolve().parents[2]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class SigningKiosk:
    """ASGI wrapper acting as a well-behaved kiosk: every request made with the fuzz kiosk's
    token gets that kiosk's request signature over the body schemathesis generated, so the
    fuzzing reaches past the signature check into body parsing and storage."""

    def __init__(self, app: FastAPI, token: str, key: Ed25519PrivateKey) -> None:
        self.app, self.token, self.key = app, token, key

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        bearer = f"Bearer {self.token}".encode()
        if scope["type"] != "http" or (b"authorization", bearer) not in scope["headers"]:
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        signature = sign_request(scope["method"], scope["path"], body, self.key.sign)
        header = (REQUEST_SIGNATURE_HEADER.lower().encode(), signature.encode())
        scope = {**scope, "headers": [*scope["headers"], header]}
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                message: dict[str, Any] = await receive()
                return message
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> tuple[SigningKiosk, str]:
    """The app on a fresh SQLite file, and the token of one kiosk enrolled at site UMCU."""
    folder = tmp_path_factory.mktemp("schemathesis")
    key_file = folder / "study_public_key.json"
    key = base64.b64encode(os.urandom(32)).decode()
    key_file.write_text(json.dumps({"suite": "x25519", "public_key": key}), encoding="utf-8")
    settings_ = ServerSettings(
        database_url=f"sqlite:///{folder / 'server.sqlite3'}",
        study_public_key_file=key_file,
        study_file=ROOT / "forms" / "study.toml",
    )
    engine = make_engine(settings_.database_url)
    migrate(engine)
    now = datetime.now(UTC)
    with Session(engine) as session:
        code, _ = storage.create_enrol_code(session, "UMCU", now, timedelta(minutes=15))
        private = Ed25519PrivateKey.generate()
        raw = private.public_key().public_bytes_raw()
        _device, token = storage.enrol(
            session, code, str(uuid.uuid4()), base64.b64encode(raw).decode(), "fuzz", now
        )
        session.commit()
    engine.dispose()
    return SigningKiosk(create_app(settings_), token, private), token


@pytest.fixture(scope="module")
def api_schema(api: tuple[SigningKiosk, str]) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", api[0])


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_without_a_token_never_fails_with_a_server_error(case: Any) -> None:
    response = case.call(headers={"Authorization": "Bearer not-a-valid-token"})
    case.validate_response(response, checks=CHECKS)
    _clear_problem(response)


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_with_a_valid_token_never_fails_with_a_server_error(
    case: Any, api: tuple[SigningKiosk, str]
) -> None:
    response = case.call(headers={"Authorization": f"Bearer {api[1]}"})
    case.validate_response(response, checks=CHECKS)
    _clear_problem(response)


def _clear_problem(response: Any) -> None:
    """Every refusal is JSON with a one-line ``detail`` that is a sentence, not a dump."""
    if 400 <= response.status_code < 500:
        detail = response.json()["detail"]
        assert isinstance(detail, str)
        assert detail
        assert "Traceback" not in detail
