"""Small HTTP helpers: signing the kiosk's requests, reading the study server's replies."""

from __future__ import annotations

import functools
import json
import ssl
from collections.abc import Callable, Generator
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from epro import __version__
from epro.protocol import (
    APP_VERSION_HEADER,
    KIOSK_TIME_HEADER,
    REQUEST_SIGNATURE_HEADER,
    sign_request,
)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS verification (its CA bundle, ``SSL_CERT_FILE`` honoured), built
    once per process: loading the CA bundle takes tens of milliseconds, and the kiosk opens a
    client for every sync. One context serves every client and thread."""
    return httpx.create_ssl_context()


def error_detail(response: httpx.Response) -> str:
    """The server's plain ``{"detail": ...}`` message, or a short fallback (never the body)."""
    try:
        data = json.loads(response.content)
    except ValueError:
        return ""
    detail = data.get("detail") if isinstance(data, dict) else None
    if isinstance(detail, str):
        return detail[:300]
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        msg = detail[0].get("msg")
        return str(msg)[:300] if msg else ""
    return ""


def server_time(response: httpx.Response) -> datetime | None:
    """The server clock from the ``Date`` header (1 s resolution), if it is there and valid."""
    header = response.headers.get("date")
    if not header:
        return None
    try:
        return parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None


def signed_target(url: httpx.URL) -> str:
    """The request target a signature covers: the path as sent and its query, if any."""
    return url.raw_path.decode("ascii")


class DeviceAuth(httpx.Auth):
    """Bearer token on every request, plus the kiosk's Ed25519 signature of each request.

    The signature covers method, path with query and the SHA-256 of the exact body bytes
    (``epro.protocol.request_signing_bytes``), so a stolen token alone cannot upload.

    With a ``clock``, each request also names the kiosk's app version and its clock at the
    moment it is sent (``APP_VERSION_HEADER``, ``KIOSK_TIME_HEADER``), so the study console
    can show which version runs where and how far each kiosk's clock is off.
    """

    requires_request_body = True

    def __init__(
        self,
        token: str,
        sign: Callable[[bytes], bytes],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._token = token
        self._sign = sign
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        if self._clock is not None:
            request.headers[APP_VERSION_HEADER] = __version__
            request.headers[KIOSK_TIME_HEADER] = self._clock().isoformat()
        request.headers[REQUEST_SIGNATURE_HEADER] = sign_request(
            request.method, signed_target(request.url), request.content, self._sign
        )
        yield request
