"""Kiosks page: every kiosk of the viewer's sites, its health as the server knows it, and
(for admins) revoke / reinstate with a reason, through the same code path as the CLI.

The health and the "needs attention" reasons come from ``kiosk_health``, the one rule the
overview shows too, so the two pages never disagree about a kiosk. App version and clock skew
are what the kiosk last reported of itself (``epro_sync.kiosk_report``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from epro.errors import EproError
from epro_sync import storage
from epro_sync.console import data, sessions
from epro_sync.console.access import ConsoleError, Viewer, ViewerDep, page
from epro_sync.console.events import audit
from epro_sync.console.forms import FormDep, text_field
from epro_sync.console.kiosk_health import KioskHealth, kiosk_health
from epro_sync.console.templates import add_nav, render
from epro_sync.db import read_session, writer_lock
from epro_sync.tables import Device

router = APIRouter(prefix="/console")
add_nav("/console/kiosks", "Kiosks", order=60)


def _list(request: Request, viewer: Viewer) -> list[KioskHealth]:
    with read_session(request.app.state.engine) as db:
        return kiosk_health(
            db,
            data.scope_of(viewer),
            sessions.now_of(request),
            **data.attention_limits(request),
        )


@page(router, "GET", "/kiosks")
async def kiosks(request: Request, viewer: ViewerDep, done: str = "") -> Response:
    rows = await run_in_threadpool(_list, request, viewer)
    notice = {"revoked": "The kiosk is revoked.", "reinstated": "The kiosk is active again."}
    return render(
        request,
        "kiosks.html",
        viewer=viewer,
        title="Kiosks",
        kiosks=rows,
        notice=notice.get(done, ""),
        can_revoke=viewer.role == "admin",
    )


def _change(request: Request, viewer: Viewer, device_id: str, reason: str, action: str) -> None:
    engine = request.app.state.engine
    now = sessions.now_of(request)
    with writer_lock(engine), Session(engine) as db:
        device = db.get(Device, device_id)
        if device is None or not viewer.can_see_site(device.site):
            raise ConsoleError(404, "this kiosk does not exist or is not at one of your sites")
        try:
            if action == "revoke":
                storage.revoke(db, device_id, now)
            else:
                storage.reinstate(db, device_id, now)
        except EproError as error:
            raise ConsoleError(404, str(error)) from None
        audit(
            db,
            now,
            f"console_{action}",
            actor=viewer.email,
            site=device.site,
            device_id=device_id,
            reason=reason,
        )
        db.commit()


async def _act(
    request: Request, viewer: Viewer, form: Any, device_id: str, action: str
) -> Response:
    reason = text_field(form, "reason", "the reason", max_length=500)
    await run_in_threadpool(_change, request, viewer, device_id, reason, action)
    done = "revoked" if action == "revoke" else "reinstated"
    return RedirectResponse(f"/console/kiosks?done={done}", status_code=303)


@page(router, "POST", "/kiosks/{device_id}/revoke", roles=["admin"])
async def revoke(request: Request, viewer: ViewerDep, form: FormDep, device_id: str) -> Response:
    return await _act(request, viewer, form, device_id, "revoke")


@page(router, "POST", "/kiosks/{device_id}/reinstate", roles=["admin"])
async def reinstate(request: Request, viewer: ViewerDep, form: FormDep, device_id: str) -> Response:
    return await _act(request, viewer, form, device_id, "reinstate")
