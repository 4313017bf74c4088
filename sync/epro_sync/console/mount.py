"""Mounting the console on the study server's FastAPI app (called by ``create_app``)."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from epro_sync.config import ServerSettings
from epro_sync.console import accounts as _accounts  # noqa: F401  (tables used by sessions)
from epro_sync.console import (
    auditlog,
    codes,
    datamanager,
    docs,
    grid,
    home,
    kiosks,
    login,
    overview,
    patients,
)
from epro_sync.console.access import ConsoleError, LoginRequired
from epro_sync.console.templates import render
from epro_sync.enrol_guard import EnrolGuard

STATIC = Path(__file__).resolve().parent / "static"

#: The console's page modules, each with a ``router`` (prefix ``/console``), in nav order.
PAGE_MODULES = [home, overview, grid, patients, kiosks, codes, auditlog, datamanager, login]


def mount_console(app: FastAPI, settings: ServerSettings) -> None:
    secret = settings.console_secret
    app.state.console_secret = secret.encode() if secret else secrets.token_bytes(32)
    app.state.console_guard = EnrolGuard(
        settings.console_failure_delay_s, settings.console_lockout_failures * 4
    )
    for module in PAGE_MODULES:
        app.include_router(module.router)
    app.include_router(docs.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_exception_handler(ConsoleError, _console_error)
    app.add_exception_handler(LoginRequired, _login_required)


def error_page(request: Request, status: int, message: str) -> Response:
    from epro_sync.console import sessions

    viewer = sessions.viewer_for(request)
    titles = {401: "Please log in", 403: "Not allowed", 404: "Not found", 422: "Please check"}
    return render(
        request,
        "error.html",
        viewer=viewer,
        status=status,
        title=titles.get(status, "Something went wrong"),
        message=message,
        back="/console/" if viewer else "/console/login",
        back_label="Back to the console" if viewer else "Log in",
    )


async def _console_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ConsoleError)
    return error_page(request, error.status, error.message)


async def _login_required(request: Request, _error: Exception) -> Response:
    if request.method == "GET":
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"/console/login?next={quote(target, safe='/')}", status_code=303)
    return error_page(request, 401, "your session has ended; log in again and send the form again")
