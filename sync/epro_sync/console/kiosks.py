"""Kiosks page: every kiosk of the viewer's sites, its health as the server knows it, and
(for admins) revoke / reinstate with a reason, through the same code path as the CLI.

What the server knows: when a kiosk was last seen and last uploaded, how many responses it
sent, the head of its audit log and whether a head ever failed to continue the previous one
(``audit_head_mismatch``: a rolled-back or forked kiosk file). Clock skew, app version and a
stored audit-head state are shown when the kiosk row carries them (``clock_skew_s``,
``app_version``, ``audit_state``), "not reported" otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from epro.errors import EproError
from epro_sync import storage
from epro_sync.console import sessions
from epro_sync.console.access import ConsoleError, Viewer, ViewerDep, page
from epro_sync.console.events import audit
from epro_sync.console.forms import FormDep, text_field
from epro_sync.console.templates import add_nav, render
from epro_sync.db import read_session, writer_lock
from epro_sync.tables import AuditEvent, AuditHeadRow, Device, StoredResponse

router = APIRouter(prefix="/console")
add_nav("/console/kiosks", "Kiosks", order=60)

_DEVICES = Device.metadata.tables["devices"]
_RESPONSES = StoredResponse.metadata.tables["responses"]
_HEADS = AuditHeadRow.metadata.tables["audit_heads"]
_AUDIT = AuditEvent.metadata.tables["audit"]


@dataclass(frozen=True)
class KioskRow:
    device_id: str
    label: str
    site: str
    enrolled_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None
    last_upload_at: datetime | None
    responses: int
    clock_skew_s: float | None
    app_version: str | None
    head_seq: int | None
    head_at: datetime | None
    mismatches: int
    last_mismatch_at: datetime | None
    audit_state: str | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def head_flagged(self) -> bool:
        """A rollback or fork was seen (by the server's check, or a stored state says so)."""
        return self.mismatches > 0 or (self.audit_state or "ok") not in {"ok", "continuous"}


def kiosk_rows(db: Session, viewer: Viewer) -> list[KioskRow]:
    """The viewer's kiosks with their health, in site and enrolment order (four queries)."""
    devices = db.connection().execute(
        sa.select(_DEVICES)
        .where(viewer.site_clause(_DEVICES.c.site))
        .order_by(_DEVICES.c.site, _DEVICES.c.enrolled_at)
    )
    rows = [dict(row._mapping) for row in devices]
    ids = [row["device_id"] for row in rows]
    if not ids:
        return []
    uploads = {
        device: (count, last)
        for device, count, last in db.connection().execute(
            sa.select(
                _RESPONSES.c.device_id, sa.func.count(), sa.func.max(_RESPONSES.c.received_at)
            )
            .where(_RESPONSES.c.device_id.in_(ids))
            .group_by(_RESPONSES.c.device_id)
        )
    }
    heads = {
        device: (seq, at)
        for device, seq, at in db.connection().execute(
            sa.select(_HEADS.c.device_id, sa.func.max(_HEADS.c.seq), sa.func.max(_HEADS.c.at))
            .where(_HEADS.c.device_id.in_(ids))
            .group_by(_HEADS.c.device_id)
        )
    }
    mismatches = {
        device: (count, last)
        for device, count, last in db.connection().execute(
            sa.select(_AUDIT.c.device_id, sa.func.count(), sa.func.max(_AUDIT.c.at))
            .where(_AUDIT.c.device_id.in_(ids), _AUDIT.c.event == "audit_head_mismatch")
            .group_by(_AUDIT.c.device_id)
        )
    }
    return [_row(row, uploads, heads, mismatches) for row in rows]


def _row(
    row: dict[str, Any],
    uploads: dict[str, tuple[int, datetime]],
    heads: dict[str, tuple[int, datetime]],
    mismatches: dict[str, tuple[int, datetime]],
) -> KioskRow:
    device_id = row["device_id"]
    count, last_upload = uploads.get(device_id, (0, None))
    head_seq, head_at = heads.get(device_id, (None, None))
    flagged, flagged_at = mismatches.get(device_id, (0, None))
    skew = row.get("clock_skew_s")
    version = row.get("app_version")
    state = row.get("audit_state")
    return KioskRow(
        device_id=device_id,
        label=row["label"],
        site=row["site"],
        enrolled_at=row["enrolled_at"],
        revoked_at=row["revoked_at"],
        last_seen_at=row.get("last_seen_at"),
        last_upload_at=last_upload,
        responses=int(count),
        clock_skew_s=None if skew is None else float(skew),
        app_version=None if version is None else str(version),
        head_seq=head_seq,
        head_at=head_at,
        mismatches=int(flagged),
        last_mismatch_at=flagged_at,
        audit_state=None if state is None else str(state),
    )


def _list(request: Request, viewer: Viewer) -> list[KioskRow]:
    with read_session(request.app.state.engine) as db:
        return kiosk_rows(db, viewer)


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
