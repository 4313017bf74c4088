"""Data manager pages: the sealed export bundle, and responses marked entered in error.

``/console/data`` offers the bundle of one site (or, to a data manager of every site, of the
whole study) as a download, streamed from one database snapshot by the same writer as
``epro-sync bundle`` and audited when complete (or as abandoned); and lists the responses
marked entered in error at the viewer's sites.

``/console/responses/{id}/entered-in-error`` shows one response's metadata and asks for the
reason; posting it appends the mark (``epro_sync.annotations``: append-only, audited, carried
by the bundle, honoured by ``epro export``). A mark is never changed or removed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlmodel import Session

from epro.crypto import StudyPublicKey
from epro_sync.annotations import REASON_MAX, REASON_MIN, mark_entered_in_error
from epro_sync.bundle import stream_bundle
from epro_sync.console import data, queries, sessions
from epro_sync.console.access import ConsoleError, Role, Viewer, ViewerDep, page
from epro_sync.console.forms import FormDep, text_field
from epro_sync.console.queries import Arrival
from epro_sync.console.templates import add_nav, render
from epro_sync.db import read_session, writer_lock
from epro_sync.storage import Refusal
from epro_sync.study import StudyMaterial

router = APIRouter(prefix="/console")
DATA_MANAGER: Final[tuple[Role, ...]] = ("data-manager",)
add_nav("/console/data", "Data", frozenset(DATA_MANAGER), order=90)

#: The bundle-site field's value for a bundle of every site.
EVERY_SITE: Final = "*"


def _bundle_choices(request: Request, viewer: Viewer) -> list[tuple[str, str]]:
    """(value, label) of the bundles this viewer may download."""
    with read_session(request.app.state.engine) as db:
        sites = queries.known_sites(db, data.scope_of(viewer))
    choices = [(site, f"site {site}") for site in sites]
    if viewer.sites is None:
        choices.insert(0, (EVERY_SITE, "every site (the whole study)"))
    return choices


@page(router, "GET", "/data", roles=DATA_MANAGER)
def data_page(request: Request, viewer: ViewerDep) -> Response:
    with read_session(request.app.state.engine) as db:
        marked = queries.marked_responses(db, data.scope_of(viewer))
    return render(
        request,
        "data.html",
        viewer=viewer,
        title="Data",
        choices=_bundle_choices(request, viewer),
        marked=marked,
    )


def _fingerprint(request: Request) -> str:
    material: StudyMaterial = request.app.state.material
    return StudyPublicKey.from_json(material.public_key_json).fingerprint()


@page(router, "POST", "/bundle", roles=DATA_MANAGER)
def bundle_download(request: Request, viewer: ViewerDep, form: FormDep) -> Response:
    chosen = text_field(form, "site", "the site of the bundle", max_length=64)
    allowed = {value for value, _label in _bundle_choices(request, viewer)}
    if chosen not in allowed:
        raise ConsoleError(404, f"site {chosen} does not exist or is not at one of your sites")
    site = None if chosen == EVERY_SITE else chosen
    now = sessions.now_of(request)
    name = f"epro-{site or 'all-sites'}-{now:%Y%m%dT%H%M%SZ}.bundle"
    chunks = stream_bundle(
        request.app.state.engine,
        site=site,
        now=now,
        actor=viewer.email,
        study_key_fingerprint=_fingerprint(request),
    )
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{_safe(name)}"',
            "Cache-Control": "no-store",
        },
    )


def _safe(name: str) -> str:
    return "".join(ch for ch in name if ch.isalnum() or ch in "-_.") or "study.bundle"


def _arrival_or_404(request: Request, viewer: Viewer, response_id: str) -> tuple[str, Arrival]:
    with read_session(request.app.state.engine) as db:
        found = queries.arrival(db, data.scope_of(viewer), response_id)
    if found is None:
        raise ConsoleError(
            404, f"response {response_id} does not exist or is not at one of your sites"
        )
    return found


@page(router, "GET", "/responses/{response_id}/entered-in-error", roles=DATA_MANAGER)
def mark_form(request: Request, viewer: ViewerDep, response_id: str) -> Response:
    patient, found = _arrival_or_404(request, viewer, response_id)
    return render(
        request,
        "mark.html",
        viewer=viewer,
        title="Mark entered in error",
        patient=patient,
        arrival=found,
        reason_min=REASON_MIN,
        reason_max=REASON_MAX,
    )


@page(router, "POST", "/responses/{response_id}/entered-in-error", roles=DATA_MANAGER)
def mark(request: Request, viewer: ViewerDep, form: FormDep, response_id: str) -> Response:
    reason = text_field(form, "reason", "the reason", max_length=REASON_MAX)
    patient, _found = _arrival_or_404(request, viewer, response_id)
    engine = request.app.state.engine
    now: datetime = sessions.now_of(request)
    try:
        with writer_lock(engine), Session(engine) as db:
            mark_entered_in_error(
                db, response_id, reason, actor=viewer.email, sites=viewer.sites, now=now
            )
            db.commit()
    except Refusal as refusal:
        raise ConsoleError(refusal.status, str(refusal)) from None
    return RedirectResponse(f"/console/patients/{patient}?done=marked", status_code=303)
