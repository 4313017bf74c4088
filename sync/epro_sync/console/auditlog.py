"""Audit log page: the server audit, newest first, filtered by actor, kind, site and date (all
kept in the URL, so a filtered view can be bookmarked or sent), and its CSV download.

A coordinator sees only events of their sites; server-wide events (logins, account changes)
are for viewers of every site. The actor filter matches a console account's e-mail or a
kiosk's device id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.sql.elements import ColumnElement

from epro_sync.console.access import ConsoleError, Viewer, ViewerDep, page
from epro_sync.console.downloads import csv_response
from epro_sync.console.templates import add_nav, render
from epro_sync.db import read_session
from epro_sync.tables import AuditEvent

router = APIRouter(prefix="/console")
add_nav("/console/audit", "Audit log", order=80)

_AUDIT = AuditEvent.metadata.tables["audit"]
#: Rows shown on the page (the CSV has every matching row).
PAGE_ROWS = 500
_Text = Annotated[str, Query(max_length=320)]


@dataclass(frozen=True)
class Filters:
    actor: str
    kind: str
    site: str
    since: date | None
    until: date | None

    def clauses(self, viewer: Viewer) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = [viewer.site_clause(_AUDIT.c.site)]
        if self.actor:
            who = self.actor.strip()
            found.append(sa.or_(_AUDIT.c.actor == who.lower(), _AUDIT.c.device_id == who))
        if self.kind:
            found.append(_AUDIT.c.event == self.kind)
        if self.site:
            found.append(_AUDIT.c.site == self.site)
        if self.since:
            found.append(_AUDIT.c.at >= datetime.combine(self.since, time(), UTC))
        if self.until:
            found.append(
                _AUDIT.c.at < datetime.combine(self.until + timedelta(days=1), time(), UTC)
            )
        return found

    def query(self) -> str:
        values = {
            "actor": self.actor,
            "kind": self.kind,
            "site": self.site,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return urlencode({k: v for k, v in values.items() if v})


def _day(value: str, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConsoleError(422, f"{what} {value!r} is not a date; use YYYY-MM-DD") from None


def _filters(actor: str, kind: str, site: str, since: str, until: str) -> Filters:
    return Filters(
        actor.strip(), kind.strip(), site.strip(), _day(since, "from"), _day(until, "to")
    )


def _rows(request: Request, viewer: Viewer, filters: Filters, limit: int | None) -> list[Any]:
    query = sa.select(_AUDIT).where(*filters.clauses(viewer)).order_by(_AUDIT.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    with read_session(request.app.state.engine) as db:
        return list(db.connection().execute(query))


def _kinds(request: Request, viewer: Viewer) -> list[str]:
    query = (
        sa.select(_AUDIT.c.event)
        .where(viewer.site_clause(_AUDIT.c.site))
        .distinct()
        .order_by(_AUDIT.c.event)
    )
    with read_session(request.app.state.engine) as db:
        return [row[0] for row in db.connection().execute(query)]


@page(router, "GET", "/audit")
async def audit_page(
    request: Request,
    viewer: ViewerDep,
    actor: _Text = "",
    kind: _Text = "",
    site: _Text = "",
    since: Annotated[str, Query(alias="from", max_length=32)] = "",
    until: Annotated[str, Query(alias="to", max_length=32)] = "",
) -> Response:
    filters = _filters(actor, kind, site, since, until)
    rows = await run_in_threadpool(_rows, request, viewer, filters, PAGE_ROWS + 1)
    kinds = await run_in_threadpool(_kinds, request, viewer)
    return render(
        request,
        "audit.html",
        viewer=viewer,
        title="Audit log",
        events=rows[:PAGE_ROWS],
        more=len(rows) > PAGE_ROWS,
        filters=filters,
        kinds=kinds,
        csv_link="/console/audit.csv" + ("?" + filters.query() if filters.query() else ""),
        sites=sorted(viewer.sites) if viewer.sites is not None else None,
    )


@page(router, "GET", "/audit.csv")
async def audit_csv(
    request: Request,
    viewer: ViewerDep,
    actor: _Text = "",
    kind: _Text = "",
    site: _Text = "",
    since: Annotated[str, Query(alias="from", max_length=32)] = "",
    until: Annotated[str, Query(alias="to", max_length=32)] = "",
) -> Response:
    filters = _filters(actor, kind, site, since, until)
    rows = await run_in_threadpool(_rows, request, viewer, filters, None)
    return csv_response(
        ["id", "at", "event", "actor", "device_id", "site", "detail"],
        ([r.id, r.at, r.event, r.actor, r.device_id, r.site, r.detail] for r in rows),
        "audit.csv",
    )
