"""Overview page (``/console/overview``): each of the viewer's sites at a glance.

Patients, visits due this week, overdue and missed (from the protocol and each patient's
baseline as the server holds it), responses received in the last seven days, and the kiosks
that need someone to look at them, each with the reason in words.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from epro_sync.console import data, queries, sessions, symbols
from epro_sync.console.access import ViewerDep, page
from epro_sync.console.templates import add_nav, render
from epro_sync.db import read_session

router = APIRouter(prefix="/console")
add_nav("/console/overview", "Overview", order=10)


@page(router, "GET", "/overview")
def overview(request: Request, viewer: ViewerDep) -> Response:
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
