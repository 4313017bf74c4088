"""Patient page (``/console/patients/{code}``): the visit calendar and what arrived.

Each visit with its target date and window, and each (form, respondent) cell with its status;
then every stored response in the order it arrived: when it was submitted and received, from
which kiosk, for which visit, form and respondent, and any entered-in-error mark. Never an
answer: the server cannot read them. A patient of a site the viewer may not see is answered as
not found, exactly like a code that does not exist.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from epro_sync.console import data, queries, symbols
from epro_sync.console.access import ConsoleError, ViewerDep, page
from epro_sync.console.templates import render
from epro_sync.db import read_session

router = APIRouter(prefix="/console")

NOTICES = {"marked": "The response is marked entered in error."}


@page(router, "GET", "/patients/{code}")
def patient_page(request: Request, viewer: ViewerDep, code: str, done: str = "") -> Response:
    with read_session(request.app.state.engine) as db:
        view = queries.patient_view(
            db, data.study_of(request), data.scope_of(viewer), code, data.today_of(request)
        )
    if view is None:
        raise ConsoleError(404, f"patient {code} does not exist or is not at one of your sites")
    return render(
        request,
        "patient.html",
        viewer=viewer,
        title=f"Patient {view.code}",
        patient=view,
        symbols=symbols,
        can_mark=viewer.role == "data-manager",
        notice=NOTICES.get(done),
        today=data.today_of(request),
    )
