"""Posted console forms: read once, CSRF token checked, fields read with plain messages.

Every form a console page shows carries ``<input type="hidden" name="csrf" value="{{ csrf }}">``
(``{% include "csrf.html" %}``); :func:`checked_form` refuses a post without the right token
(403, audited), or from another origin, before the handler runs. Use it as a dependency::

    @page(router, "POST", "/kiosks/{device_id}/revoke", roles=["admin"])
    def revoke(viewer: ViewerDep, form: FormDep) -> Response:
        reason = text_field(form, "reason", "the reason", max_length=500)
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session
from starlette.datastructures import FormData

from epro.protocol import hidden_characters
from epro_sync.console import sessions
from epro_sync.console.access import ConsoleError
from epro_sync.console.events import audit
from epro_sync.db import writer_lock

CSRF_FIELD = "csrf"
REFUSED = (
    "this form has expired or did not come from this console page; go back, reload the "
    "page and send it again"
)


def _origin_ok(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # older browsers, and curl: the token alone decides
        return True
    host = request.headers.get("host", "")
    return origin in {f"{request.url.scheme}://{host}", f"https://{host}"}


def _record_refusal(request: Request, reason: str) -> None:
    viewer = sessions.viewer_for(request)
    engine = request.app.state.engine
    with writer_lock(engine), Session(engine) as db:
        audit(
            db,
            sessions.now_of(request),
            "console_csrf_refused",
            actor=viewer.email if viewer else None,
            path=request.url.path,
            reason=reason,
        )
        db.commit()


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches this browser's session (or pre-login
    cookie) and its Origin, when sent, is this console's."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = await run_in_threadpool(sessions.expected_csrf, request)
    if not _origin_ok(request):
        await run_in_threadpool(_record_refusal, request, "foreign origin")
        raise ConsoleError(403, REFUSED)
    if not isinstance(sent, str) or expected is None or not hmac.compare_digest(sent, expected):
        await run_in_threadpool(_record_refusal, request, "missing or wrong token")
        raise ConsoleError(403, REFUSED)
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


def text_field(
    form: FormData, name: str, what: str, *, max_length: int = 200, required: bool = True
) -> str:
    """A text field, stripped; a missing, too long or hidden-character value is a 422 page
    naming ``what`` and how to fix it."""
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ConsoleError(422, f"{what} is missing; fill it in and send the form again")
    if len(text) > max_length:
        raise ConsoleError(422, f"{what} is longer than {max_length} characters; shorten it")
    if hidden_characters(text):
        raise ConsoleError(
            422, f"{what} contains invisible or control characters; type it again plainly"
        )
    return text
