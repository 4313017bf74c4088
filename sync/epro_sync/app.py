"""The FastAPI application factory: settings in, app out, nothing done at import.

Cross-cutting behaviour lives here: the lifespan that owns the database engine, the ``Date``
header on every response (kiosks compute clock skew from it), and error handlers that turn every
malformed request into a 4xx with one plain ``{"detail": ...}`` message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from epro.protocol import BatchRequest, problem_text
from epro.startup import settle_after_startup
from epro_sync import __doc__ as package_doc
from epro_sync.config import ServerSettings
from epro_sync.console.headers import SecurityHeaders
from epro_sync.console.mount import error_page, mount_console
from epro_sync.db import make_engine
from epro_sync.enrol_guard import EnrolGuard
from epro_sync.limits import RequestLimits
from epro_sync.migrations import migrate
from epro_sync.routes import router
from epro_sync.storage import Refusal
from epro_sync.study import load_study_material


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: ServerSettings, clock: Callable[[], datetime] = utc_now) -> FastAPI:
    """Build the study server; the database is opened (and migrated) when the app starts."""
    material = load_study_material(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.ensure_database_dir()
        engine = make_engine(settings.database_url)
        migrate(engine)
        app.state.engine = engine
        settle_after_startup()
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="epro study server",
        summary=package_doc,
        version="1",
        lifespan=lifespan,
        docs_url=None,  # replaced by a server-rendered page (epro_sync.console.docs)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.material = material
    app.state.clock = clock
    app.state.enrol_guard = EnrolGuard(
        settings.enrol_failure_delay_s, settings.enrol_lockout_failures
    )
    app.include_router(router)
    mount_console(app, settings)
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(Refusal, _refused)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RecursionError, _too_deep)
    app.add_middleware(
        RequestLimits,
        body_max=lambda: settings.body_max_bytes,
        engine=lambda: app.state.engine,
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(DateHeader)  # outermost: every answer carries the server's Date
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


class DateHeader:
    """Stamp every response with the server's ``Date``, in-process and behind uvicorn alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", formatdate(usegmt=True).encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, stamped)


def plain_problems(errors: Any) -> str:
    """Pydantic's error list as one sentence per problem, naming the field and what is wrong."""
    parts = []
    for problem in errors:
        loc = [str(part) for part in problem.get("loc", ()) if part != "body"]
        where = ".".join(loc) or "request body"
        message = problem_text(problem)
        if problem.get("type") == "json_invalid":
            message = "is not valid JSON"
        parts.append(f"{where}: {message}")
    return "; ".join(parts[:10]) or "the request is invalid"


async def _validation_failed(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse({"detail": plain_problems(error.errors())}, status_code=422)


async def _too_deep(_request: Request, _error: Exception) -> JSONResponse:
    # A parser's recursion limit reached by a deeply nested body: the client's mistake.
    return JSONResponse(
        {"detail": "the request body is nested too deeply; send the documented shape"},
        status_code=400,
    )


async def _refused(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Refusal)
    return JSONResponse({"detail": str(error)}, status_code=error.status)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if request.url.path.startswith("/console/"):  # a person in a browser: an HTML page
        message = "there is no such console page" if error.status_code == 404 else error.detail
        return error_page(request, error.status_code, str(message))
    detail = error.detail
    if error.status_code == 400 and detail == "There was an error parsing the body":
        # FastAPI's wording when the bytes are not even text; say what the client can fix.
        detail = "the request body is not valid JSON text (UTF-8)"
    return JSONResponse({"detail": detail}, status_code=error.status_code, headers=error.headers)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated schema, plus the Envelope models the batch route validates by hand."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    batch = BatchRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(batch.pop("$defs", {}))
    batch["properties"]["envelopes"]["maxItems"] = app.state.settings.batch_max
    components["BatchRequest"] = batch
    app.openapi_schema = schema
    return schema
