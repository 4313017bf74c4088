"""The console's landing page (``/console/``): where a login ends.

A plain list of the pages this viewer may open; the site overview replaces it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from epro_sync.console.access import ViewerDep, page
from epro_sync.console.templates import render

router = APIRouter(prefix="/console")


@page(router, "GET", "/")
def home(request: Request, viewer: ViewerDep) -> Response:
    return render(request, "home.html", viewer=viewer, title="Console")
