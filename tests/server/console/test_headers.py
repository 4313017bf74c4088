"""Security headers over HTTPS: HSTS is added when the request came over TLS (in-process ASGI
with an https URL, as a TLS proxy's forwarded scheme makes it)."""

from __future__ import annotations

import anyio
import httpx
import pytest
from fastapi import FastAPI

from epro_sync.console.headers import CSP, SecurityHeaders


@pytest.mark.parametrize(
    ("base", "hsts"), [("https://console.example", True), ("http://127.0.0.1", False)]
)
def test_hsts_only_over_https(base: str, hsts: bool) -> None:
    app = FastAPI()

    @app.get("/console/x")
    def page() -> dict[str, str]:
        return {"ok": "yes"}

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=SecurityHeaders(app))
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            return await client.get("/console/x")

    reply = anyio.run(fetch)
    assert reply.headers["content-security-policy"] == CSP
    assert reply.headers["cache-control"] == "no-store"
    assert ("strict-transport-security" in reply.headers) is hsts
