"""What a request may cost the server before anyone knows who sent it.

An ASGI middleware in front of every route:

* a kiosk route (upload, roster, audit head) is authenticated by its device token **before**
  one byte of its body is read: no token, an unknown token or a revoked kiosk is answered at
  once, however large the body is said to be;
* every body is capped: by its ``Content-Length`` before reading (413 at once) and, for a body
  sent without one (chunked), while it streams in — the request is cut off at the cap, so the
  server never holds more than the cap of any body;
* the upload route may carry a full batch (``EPRO_SYNC_BODY_MAX_BYTES``); every other route
  takes a small body (:data:`SMALL_BODY_MAX`).

Memory therefore stays flat whatever a client sends (a test streams 1 GiB at the server).
The routes check the token again themselves (the middleware's answer is not trusted further
than "this request may be read"); that second read costs one indexed lookup per request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Final

import anyio.to_thread
from sqlalchemy import Engine
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from epro_sync import storage
from epro_sync.db import read_session

#: Bodies of the enrolment, roster and audit-head routes: a roster page of patients fits many
#: times over.
SMALL_BODY_MAX: Final = 1 << 20
#: The upload route.
UPLOAD_PATH: Final = "/v1/responses:batch"
#: Routes a kiosk calls with its device token and a body.
TOKEN_ROUTES: Final = frozenset({UPLOAD_PATH, "/v1/roster", "/v1/audit-head"})

MISSING_TOKEN: Final = (
    "missing device token: send 'Authorization: Bearer <token>' with the token the "
    "kiosk received at enrolment"
)
UNKNOWN_TOKEN: Final = "unknown device token: enrol this kiosk again with a new code"
REVOKED: Final = (
    "this kiosk has been revoked by the data manager; keep it switched on and contact the "
    "study's data manager; its data stays on the kiosk"
)
_CHALLENGE: Final = [(b"www-authenticate", b"Bearer")]


def too_large(limit: int) -> str:
    return (
        f"the request body is larger than this server accepts ({limit} bytes); send smaller batches"
    )


def _token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


def token_standing(engine: Engine, token: str) -> str | None:
    """None when ``token`` belongs to a usable kiosk, else why not (401 or 403 wording)."""
    with read_session(engine) as session:
        sender = storage.sender_for_token(session, token)
    if sender is None:
        return UNKNOWN_TOKEN
    return REVOKED if sender.revoked else None


class RequestLimits:
    """The middleware described in the module docstring."""

    def __init__(
        self, app: ASGIApp, *, body_max: Callable[[], int], engine: Callable[[], Engine]
    ) -> None:
        self.app = app
        self._body_max = body_max
        self._engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = self._body_max() if path == UPLOAD_PATH else SMALL_BODY_MAX
        if path in TOKEN_ROUTES:
            token = _token(scope)
            if token is None:
                await _answer(send, 401, MISSING_TOKEN, _CHALLENGE)
                return
            standing = await anyio.to_thread.run_sync(token_standing, self._engine(), token)
            if standing is not None:
                status, extra = (401, _CHALLENGE) if standing == UNKNOWN_TOKEN else (403, [])
                await _answer(send, status, standing, extra)
                return
        declared = _content_length(scope)
        if declared is not None and (declared < 0 or declared > limit):
            status = 400 if declared < 0 else 413
            detail = "the Content-Length header is not a number" if declared < 0 else None
            await _answer(send, status, detail or too_large(limit))
            return
        await self.app(scope, _capped(receive, limit), send)


def _capped(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # Raised inside the app's read of the body: the route answers 413 and the
                # rest of the body is never read.
                raise HTTPException(413, too_large(limit))
        return message

    return capped


async def _answer(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
