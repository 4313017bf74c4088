"""Security headers on every response of the server: console pages, ``/docs`` and the API.

The Content-Security-Policy allows nothing but this server's own stylesheet and images and
forms posting back to it: no script at all (the console works without JavaScript), no inline
style, no framing. Console pages and ``/docs`` are also never cached, so a shared computer's
back button shows no page of a logged-out session.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS: Final[dict[bytes, bytes]] = {
    b"content-security-policy": CSP.encode(),
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    # Not "no-referrer": under it a browser sends "Origin: null" with every form it posts,
    # and the CSRF check (which wants this console's own origin) would refuse them all.
    # Same-origin keeps console URLs (study codes in them) from ever reaching another site.
    b"referrer-policy": b"same-origin",
    b"cross-origin-opener-policy": b"same-origin",
    b"cross-origin-resource-policy": b"same-origin",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS: Final = b"max-age=31536000"


def _uncached(path: str) -> bool:
    return (path.startswith("/console") and not path.startswith("/console/static")) or (
        path == "/docs"
    )


class SecurityHeaders:
    """Pure ASGI middleware adding :data:`HEADERS` (and HSTS over HTTPS) to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        https = scope.get("scheme") == "https"

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in HEADERS
                ]
                headers += list(HEADERS.items())
                if https:
                    headers.append((b"strict-transport-security", HSTS))
                if _uncached(path):
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, stamped)
