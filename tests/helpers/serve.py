"""Run the real study server under uvicorn, optionally answering 500 to some uploads.

A separate process on purpose: it can be SIGKILLed in the middle of a batch like a real crash,
and the server's tables never share a Python process with the kiosk store's.

    python tests/helpers/serve.py PORT DATABASE_URL STUDY_PUBLIC_KEY_FILE \
        [FAIL_BEFORE FAIL_AFTER SEED]

``FAIL_BEFORE``: share of uploads answered 500 without being processed; ``FAIL_AFTER``: share
processed (and stored) and then answered 500 anyway — the nastier case for a client.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import uvicorn

from epro_sync.app import create_app
from epro_sync.config import ServerSettings

BODY = b'{"detail":"injected server error"}'
START = {
    "type": "http.response.start",
    "status": 500,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"34")],
}


class Flaky:
    """ASGI wrapper failing a share of ``POST /v1/responses:batch`` before or after the app."""

    def __init__(self, app: Any, before: float, after: float, seed: int) -> None:
        self.app, self.before, self.after = app, before, after
        self.rng = random.Random(seed)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/responses:batch":
            await self.app(scope, receive, send)
            return
        draw = self.rng.random()
        if draw < self.before:
            await send(START)
            await send({"type": "http.response.body", "body": BODY})
            return
        if draw < self.before + self.after:

            async def swallow(message: Any) -> None:
                return None

            await self.app(scope, receive, swallow)
            await send(START)
            await send({"type": "http.response.body", "body": BODY})
            return
        await self.app(scope, receive, send)


def main(argv: list[str]) -> None:
    port, url, key = int(argv[0]), argv[1], Path(argv[2])
    before, after, seed = (
        (float(argv[3]), float(argv[4]), int(argv[5])) if len(argv) > 3 else (0, 0, 0)
    )
    settings = ServerSettings(database_url=url, study_public_key_file=key)
    app: Any = create_app(settings)
    if before or after:
        app = Flaky(app, before, after, seed)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="critical",
        access_log=False,
        ws="none",
        lifespan="on",
        date_header=False,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
