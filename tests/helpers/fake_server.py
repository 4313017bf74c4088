"""A fake study server: real HTTP on 127.0.0.1, answering every kiosk route plausibly.

It acknowledges every uploaded envelope as ``stored`` — signed with its own Ed25519 key, or
not signed at all — and records each request it receives, so a test can show what reached
it (and that no token did).
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from epro.protocol import RECEIPT_SIGNATURE_HEADER, receipts_signing_bytes


class FakeServer:
    """``with FakeServer(port, site, signed=True) as fake: ...``; ``fake.requests`` lists
    (method, path, headers) of everything received."""

    def __init__(self, port: int = 0, *, site: str, signed: bool = True) -> None:
        self.site = site
        self.signed = signed
        self.key = Ed25519PrivateKey.generate()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return None

            def do_GET(self) -> None:
                fake._note(self)
                path = self.path.split("?", 1)[0]
                if path == "/v1/roster":
                    self._reply({"site": fake.site, "patients": [], "next_after": None})
                elif path == "/v1/completion":
                    self._reply({"site": fake.site, "entries": []})
                elif path == "/v1/server-key":
                    raw = fake.key.public_key().public_bytes_raw()
                    self._reply({"public_key": base64.b64encode(raw).decode()})
                else:
                    self._reply({"status": "ok", "protocol": 1})

            def do_POST(self) -> None:
                fake._note(self)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/v1/responses:batch":
                    self._receipts(body)
                elif self.path == "/v1/roster":
                    self._reply({"patients": []})
                else:
                    self._reply({"status": "stored"})

            def _receipts(self, body: bytes) -> None:
                now = datetime.now(UTC).isoformat()
                receipts = [
                    {
                        "response_id": envelope["response_id"],
                        "status": "stored",
                        "receipt_id": str(uuid.uuid4()),
                        "received_at": now,
                        "sha256": envelope["sha256"],
                        "message": "",
                    }
                    for envelope in json.loads(body)["envelopes"]
                ]
                content = json.dumps({"receipts": receipts}).encode()
                headers = {}
                if fake.signed:
                    device = json.loads(body)["envelopes"][0]["device_id"]
                    data = receipts_signing_bytes(device, body, content)
                    headers[RECEIPT_SIGNATURE_HEADER] = base64.b64encode(
                        fake.key.sign(data)
                    ).decode()
                self._send(content, headers)

            def _reply(self, data: object) -> None:
                self._send(json.dumps(data).encode(), {})

            def _send(self, content: bytes, headers: dict[str, str]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(content)

        ThreadingHTTPServer.allow_reuse_address = True
        self._http = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self._http.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._lock = threading.Lock()

    def _note(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append((handler.command, handler.path, dict(handler.headers.items())))

    def tokens_seen(self) -> list[str]:
        """Every Authorization header that reached the fake server."""
        return [h["Authorization"] for _m, _p, h in self.requests if "Authorization" in h]

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=10)
