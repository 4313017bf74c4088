"""Overview page: each of the viewer's sites at a glance, and the console's landing page.

Patients, visits due this week, overdue and missed (from the protocol and each patient's
baseline as the server holds it), responses received in the last seven days, and the kiosks
that need someone to look at them, each with the reason in words (``kiosk_health``: the same
rule the kiosks page shows).

A login ends on ``/console/``, which is this page, so a coordinator lands on what matters;
``/console/overview`` stays as its named address. Every other page is one link away in the
navigation, a plain list of links that needs no script.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from epro_sync.console import data, queries, sessions, symbols
from epro_sync.console.access import Viewer, ViewerDep, page
from epro_sync.console.templates import add_nav, render
from epro_sync.db import read_session

router = APIRouter(prefix="/console")
add_nav("/console/overview", "Overview", order=10)


def _overview(request: Request, viewer: Viewer) -> Response:
    with read_session(request.app.state.engine) as db:
        sites = queries.overview(
            db,
            data.study_of(request),
            data.scope_of(viewer),
            sessions.now_of(request),
            **data.attention_limits(request),
        )
    return render(
        request,
        "overview.html",
        viewer=viewer,
        title="Overview",
        sites=sites,
        today=data.today_of(request),
        symbols=symbols,
    )


@page(router, "GET", "/")
def home(request: Request, viewer: ViewerDep) -> Response:
    """The landing page after a login: the overview."""
    return _overview(request, viewer)


@page(router, "GET", "/overview")
def overview(request: Request, viewer: ViewerDep) -> Response:
    return _overview(request, viewer)
