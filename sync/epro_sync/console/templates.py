"""The console's Jinja2 environment and :func:`render`, the one way a page becomes a response.

Autoescaping is on for every template, and every value printed passes ``finalize`` first,
which turns hidden characters (bidi overrides, zero-width and control characters) into visible
``\\uXXXX`` text: a study code or kiosk label can neither run as markup nor reorder what is
around it. Undefined names are errors, so a typo in a template fails its test instead of
printing nothing. Templates carry no inline script or style (the CSP forbids both).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from epro.protocol import shown_safely
from epro_sync.console import sessions
from epro_sync.console.access import Viewer
from epro_sync.tables import as_utc

TEMPLATES = Path(__file__).resolve().parent / "templates"


#: Whitespace an HTML page shows as whitespace: left as it is.
_PLAIN_WHITESPACE = frozenset("\n\r\t")


def _inert(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Markup):
        if any(ch in _PLAIN_WHITESPACE for ch in value):
            return "".join(ch if ch in _PLAIN_WHITESPACE else shown_safely(ch) for ch in value)
        return shown_safely(value)
    return value


def when(value: datetime | date | None, never: str = "never") -> str:
    """A time as ``2026-03-02 09:30 UTC`` (a date as ``2026-03-02``); ``never`` for None."""
    if value is None:
        return never
    if isinstance(value, datetime):
        return f"{as_utc(value):%Y-%m-%d %H:%M} UTC"
    return f"{value:%Y-%m-%d}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        finalize=_inert,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    return env


#: The console's navigation: (order, path, label, roles or None for everyone). Page modules
#: add themselves with :func:`add_nav`; links are shown by ``order``.
NAV: list[tuple[int, str, str, frozenset[str] | None]] = []


def add_nav(path: str, label: str, roles: frozenset[str] | None = None, *, order: int = 50) -> None:
    """Add a navigation link to ``path`` for ``roles`` (None: everyone); lower ``order`` first."""
    if all(entry[1] != path for entry in NAV):
        NAV.append((order, path, label, roles))
        NAV.sort(key=lambda entry: (entry[0], entry[2]))


def nav_for(viewer: Viewer | None) -> list[tuple[str, str]]:
    if viewer is None:
        return []
    return [
        (path, label) for _o, path, label, roles in NAV if roles is None or viewer.role in roles
    ]


def render(
    request: Request,
    template: str,
    *,
    viewer: Viewer | None = None,
    status: int = 200,
    title: str = "",
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` extending ``base.html``: the viewer, the navigation, the form token
    (``csrf``) and ``title`` are in its context. Before a login, a pre-login cookie is set so
    that the login forms' token can be checked."""
    pre_cookie: str | None = None
    csrf = viewer.csrf if viewer is not None else sessions.expected_csrf(request)
    if csrf is None:
        pre_cookie = secrets.token_urlsafe(32)
        csrf = sessions.pre_login_token(request, pre_cookie)
    html = (
        environment()
        .get_template(template)
        .render(
            request_path=request.url.path,
            viewer=viewer,
            nav=nav_for(viewer),
            csrf=csrf,
            title=title,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status)
    if pre_cookie is not None:
        response.set_cookie(
            sessions.pre_cookie_name(request),
            pre_cookie,
            httponly=True,
            samesite="strict",
            secure=sessions.cookie_secure(request),
            path="/",
        )
    return response
