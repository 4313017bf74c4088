"""A real study server on 127.0.0.1 for tests: uvicorn in a thread, on a port the OS picks.

Importable by any test suite (server tests, sync-client tests)::

    with LiveServer(create_app(settings)) as server:
        httpx.get(f"{server.url}/healthz")

The socket is bound before uvicorn starts, so there is no window in which another process can
take the port. Uvicorn's own ``Date`` header is switched off; the app sets it.

:func:`make_enrol_code` and :class:`ScriptedKiosk` play the data manager and a kiosk.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from sqlmodel import Session
from uvicorn.config import LOGGING_CONFIG

from epro.closing import ClosedOnExit
from epro.protocol import (
    REQUEST_SIGNATURE_HEADER,
    Envelope,
    EnvelopeContent,
    sign_envelope,
    sign_request,
)
from epro_sync import storage
from epro_sync.app import create_app
from epro_sync.config import ServerSettings
from epro_sync.db import make_engine
from epro_sync.migrations import migrate
from epro_sync.signing import code_with_fingerprint


class LiveServer(ClosedOnExit):
    """Start with ``start()`` or a ``with`` block; ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(
        self, app: FastAPI, *, startup_timeout: float = 20.0, log_file: Path | None = None
    ) -> None:
        """``log_file``: uvicorn's warnings go there instead of the terminal (the demo, whose
        terminal belongs to the kiosk)."""
        self.app = app
        self.startup_timeout = startup_timeout
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            log_level="warning",
            log_config=LOGGING_CONFIG if log_file is None else _file_log(log_file),
            access_log=False,
            lifespan="on",
            ws="none",
            http="h11",
            loop="asyncio",
            date_header=False,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the test server did not start; see the log above")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()

    def close(self) -> None:
        """The same as ``stop()``: what the end of a ``with`` block calls."""
        self.stop()

    def __enter__(self) -> LiveServer:
        return self.start()


def _file_log(path: Path) -> dict[str, Any]:
    """uvicorn's loggers and the server's own, appended to ``path`` and to nothing else."""
    handler = {"class": "logging.FileHandler", "filename": str(path), "encoding": "utf-8"}
    loggers = ("uvicorn", "uvicorn.error", "uvicorn.access", "epro_sync")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"file": {**handler, "formatter": "plain"}},
        "loggers": {
            name: {"handlers": ["file"], "level": "WARNING", "propagate": False} for name in loggers
        },
    }


def make_enrol_code(
    settings: ServerSettings,
    site: str,
    *,
    now: datetime | None = None,
    expiry: timedelta = timedelta(minutes=15),
) -> str:
    """What `epro-sync enrol-code --site SITE` does, with a chosen clock (for expired codes)."""
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        with Session(engine) as session:
            code, _expires = storage.create_enrol_code(
                session, site, now or datetime.now(UTC), expiry
            )
            session.commit()
    finally:
        engine.dispose()
    return code_with_fingerprint(code, settings)


class ScriptedKiosk:
    """A kiosk identity (Ed25519 key, device id, token) that talks to a server over HTTP."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.key = Ed25519PrivateKey.generate()
        self.own_device_id = str(uuid.uuid4())
        self.device_id = ""
        self.site = ""
        self.token = ""

    @property
    def public_key_b64(self) -> str:
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode("ascii")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def enrol(self, code: str, label: str = "test kiosk") -> httpx.Response:
        reply = self.client.post(
            "/v1/enrol",
            json={
                "code": code,
                "device_id": self.own_device_id,
                "public_key": self.public_key_b64,
                "label": label,
            },
        )
        if reply.status_code == 200:
            body = reply.json()
            self.device_id, self.site, self.token = body["device_id"], body["site"], body["token"]
        return reply

    def content(self, **overrides: Any) -> EnvelopeContent:
        fields: dict[str, Any] = {
            "response_id": uuid.uuid4(),
            "device_id": self.device_id,
            "site": self.site,
            "patient": "DEMO-001",
            "visit": "V1",
            "form_id": "chaq",
            "form_version": "1.0.0",
            "form_sha256": "0" * 64,
            "respondent": "child",
            "language": "en",
            "submitted_at": datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
            "out_of_window": False,
            "suite": "x25519",
            "sealed": base64.b64encode(b"sealed answers stand-in").decode("ascii"),
        }
        fields.update(overrides)
        return EnvelopeContent(**fields)

    def envelope(self, **overrides: Any) -> Envelope:
        """A correctly signed envelope; ``overrides`` change the signed content."""
        return sign_envelope(self.content(**overrides), self.key.sign)

    def signed_headers(self, body: bytes, path: str = "/v1/responses:batch") -> dict[str, str]:
        """Token and request signature for POSTing ``body`` to ``path``, as a kiosk sends them."""
        signature = sign_request("POST", path, body, self.key.sign)
        return {
            **self.headers,
            REQUEST_SIGNATURE_HEADER: signature,
            "Content-Type": "application/json",
        }

    def post_signed(self, body: bytes, path: str = "/v1/responses:batch") -> httpx.Response:
        return self.client.post(path, content=body, headers=self.signed_headers(body, path))

    def post_json(self, path: str, data: Any) -> httpx.Response:
        """POST ``data`` as JSON to a kiosk route, signed as a kiosk signs it."""
        return self.post_signed(json.dumps(data).encode(), path)

    def get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        """GET a kiosk route, signed (the signature covers the query too)."""
        url = self.client.build_request("GET", path, params=params).url
        signature = sign_request("GET", url.raw_path.decode("ascii"), b"", self.key.sign)
        return self.client.get(
            path, params=params, headers={**self.headers, REQUEST_SIGNATURE_HEADER: signature}
        )

    def upload(self, *envelopes: Envelope | object) -> httpx.Response:
        """Upload a signed batch; anything not an Envelope is sent as given (to test rejections)."""
        items = [e.model_dump(mode="json") if isinstance(e, Envelope) else e for e in envelopes]
        return self.post_signed(json.dumps({"envelopes": items}).encode())


@dataclass
class RunningServer:
    """A live server, its settings, and an HTTP client pointed at it."""

    url: str
    settings: ServerSettings
    client: httpx.Client

    def code(self, site: str = "UMCU") -> str:
        """A fresh one-time enrolment code for ``site``."""
        return make_enrol_code(self.settings, site)


@contextmanager
def running_server(settings: ServerSettings) -> Iterator[RunningServer]:
    """``create_app(settings)`` under uvicorn on 127.0.0.1, for the length of the block."""
    with LiveServer(create_app(settings)) as live, httpx.Client(base_url=live.url) as client:
        yield RunningServer(url=live.url, settings=settings, client=client)
