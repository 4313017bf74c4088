"""Enrolment codes page: list the viewer's sites' codes; data managers and admins make a code
(shown once, with its expiry, never again: only its hash is stored) or expire an unused one.

Codes are made by ``storage.create_enrol_code``, the same function as ``epro-sync enrol-code``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlmodel import Session, col, select

from epro_sync import storage
from epro_sync.config import ServerSettings
from epro_sync.console import sessions
from epro_sync.console.access import STAFF, ConsoleError, Viewer, ViewerDep, page
from epro_sync.console.events import audit
from epro_sync.console.forms import FormDep, text_field
from epro_sync.console.templates import add_nav, render
from epro_sync.db import read_session, writer_lock
from epro_sync.tables import EnrolCode, as_utc

router = APIRouter(prefix="/console")
add_nav("/console/codes", "Enrolment codes", order=70)


@dataclass(frozen=True)
class CodeRow:
    handle: str
    site: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    device_id: str | None
    state: str  # "open", "used", "expired"


def code_rows(db: Session, viewer: Viewer, now: datetime) -> list[CodeRow]:
    query = (
        select(EnrolCode)
        .where(viewer.site_clause(col(EnrolCode.site)))
        .order_by(col(EnrolCode.created_at).desc())
        .limit(500)
    )
    rows = []
    for code in db.exec(query):
        if code.used_at is not None:
            state = "used"
        elif as_utc(code.expires_at) <= now:
            state = "expired"
        else:
            state = "open"
        rows.append(
            CodeRow(
                handle=code.code_sha256,
                site=code.site,
                created_at=code.created_at,
                expires_at=code.expires_at,
                used_at=code.used_at,
                device_id=code.device_id,
                state=state,
            )
        )
    return rows


def _page(
    request: Request,
    viewer: Viewer,
    *,
    status: int = 200,
    made: tuple[str, str, datetime] | None = None,
    notice: str = "",
) -> Response:
    now = sessions.now_of(request)
    with read_session(request.app.state.engine) as db:
        rows = code_rows(db, viewer, now)
    return render(
        request,
        "codes.html",
        viewer=viewer,
        status=status,
        title="Enrolment codes",
        codes=rows,
        made=made,
        notice=notice,
        can_make=viewer.role in STAFF,
        sites=sorted(viewer.sites) if viewer.sites is not None else None,
    )


@page(router, "GET", "/codes")
async def codes(request: Request, viewer: ViewerDep, done: str = "") -> Response:
    notice = "The code is expired: it can no longer enrol a kiosk." if done == "expired" else ""
    return await run_in_threadpool(lambda: _page(request, viewer, notice=notice))


def _make(request: Request, viewer: Viewer, site: str) -> tuple[str, datetime]:
    settings: ServerSettings = request.app.state.settings
    engine = request.app.state.engine
    now = sessions.now_of(request)
    with writer_lock(engine), Session(engine) as db:
        code, expires_at = storage.create_enrol_code(
            db, site, now, timedelta(minutes=settings.code_expiry_minutes)
        )
        audit(
            db,
            now,
            "console_enrol_code_created",
            actor=viewer.email,
            site=site,
            expires_at=expires_at.isoformat(),
        )
        db.commit()
    return code, expires_at


@page(router, "POST", "/codes", roles=sorted(STAFF))
async def make_code(request: Request, viewer: ViewerDep, form: FormDep) -> Response:
    site = text_field(form, "site", "the site", max_length=64)
    if not all(ch.isalnum() or ch in "-_." for ch in site):
        raise ConsoleError(422, f"site {site!r}: use letters, digits, '-', '_' or '.' only")
    if not viewer.can_see_site(site):
        raise ConsoleError(403, f"site {site} is not one of your sites")
    code, expires_at = await run_in_threadpool(_make, request, viewer, site)
    return await run_in_threadpool(lambda: _page(request, viewer, made=(code, site, expires_at)))


def _expire(request: Request, viewer: Viewer, handle: str) -> None:
    engine = request.app.state.engine
    now = sessions.now_of(request)
    with writer_lock(engine), Session(engine) as db:
        code = db.get(EnrolCode, handle)
        if code is None or not viewer.can_see_site(code.site):
            raise ConsoleError(404, "this code does not exist or is not at one of your sites")
        if code.used_at is not None:
            raise ConsoleError(
                409, "this code was already used to enrol a kiosk; revoke the kiosk instead"
            )
        if as_utc(code.expires_at) > now:
            code.expires_at = now
            db.add(code)
            audit(db, now, "console_enrol_code_expired", actor=viewer.email, site=code.site)
        db.commit()


@page(router, "POST", "/codes/{handle}/expire", roles=sorted(STAFF))
async def expire_code(request: Request, viewer: ViewerDep, form: FormDep, handle: str) -> Response:
    del form  # checked for its token
    await run_in_threadpool(_expire, request, viewer, handle)
    return RedirectResponse("/console/codes?done=expired", status_code=303)
