"""The login steps: password, TOTP, first login with a one-time code, TOTP enrolment, logout.

Each step that succeeds issues a new session id (``sessions.start(replacing=…)``), so a
session id known before a step is useless after it. Every failure is audited, answered after
a delay that doubles per failure from the same address (the enrolment guard's rule), and counts
toward the account's lockout. Data managers and admins cannot finish a login without a TOTP
code; one whose authenticator was never confirmed must be reset by an admin.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from epro_sync.config import ServerSettings
from epro_sync.console import accounts, sessions, totp
from epro_sync.console.access import ViewerDep, login_page, page
from epro_sync.console.events import audit
from epro_sync.console.forms import FormDep
from epro_sync.console.templates import render
from epro_sync.db import writer_lock
from epro_sync.enrol_guard import EnrolGuard
from epro_sync.tables import ConsoleUser

router = APIRouter(prefix="/console")

HOME = "/console/"
WRONG = "the e-mail address or the password is wrong (or the account is disabled)"


def _settings(request: Request) -> ServerSettings:
    settings: ServerSettings = request.app.state.settings
    return settings


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _guard(request: Request) -> EnrolGuard:
    guard: EnrolGuard = request.app.state.console_guard
    return guard


def safe_next(value: object) -> str:
    """Where to go after the login: a console path of this server, never another site."""
    if (
        isinstance(value, str)
        and value.startswith("/console/")
        and "//" not in value
        and "\\" not in value
        and all(ch.isprintable() for ch in value)
    ):
        return value
    return HOME


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


def _write(request: Request) -> tuple[Any, Session]:
    engine = request.app.state.engine
    return writer_lock(engine), Session(engine, expire_on_commit=False)


def _audit_now(request: Request, event: str, actor: str | None, **detail: Any) -> None:
    lock, db = _write(request)
    with lock, db:
        audit(db, sessions.now_of(request), event, actor=actor, **detail)
        db.commit()


async def _slow_failure(request: Request) -> None:
    await anyio.sleep(_guard(request).failed(_address(request), sessions.now_of(request)))


def _address_locked(request: Request) -> datetime | None:
    return _guard(request).locked_until(_address(request), sessions.now_of(request))


def _login_form(
    request: Request,
    *,
    status: int = 200,
    error: str = "",
    email: str = "",
    notice: str = "",
    next_path: str = HOME,
) -> Response:
    return render(
        request,
        "login.html",
        title="Log in",
        status=status,
        error=error,
        email=email,
        notice=notice,
        next=next_path,
    )


# ------------------------------------------------------------------------------- password


@login_page(router, "GET", "/login")
def login_get(request: Request, next: str = HOME) -> Response:
    return _login_form(request, next_path=safe_next(next))


def _try_password(request: Request, email: str, password: str) -> tuple[accounts.Attempt, str]:
    settings = _settings(request)
    now = sessions.now_of(request)
    lock, db = _write(request)
    with lock, db:
        attempt = accounts.check_password(
            db,
            email,
            password,
            now,
            memory_kib=settings.console_password_memory_kib,
            limit=settings.console_lockout_failures,
        )
        raw = ""
        user = attempt.user
        if attempt.outcome == "ok" and user is not None:
            assert user.id is not None
            if accounts.needs_totp(user.role) and user.totp_secret is None:
                attempt = accounts.Attempt("wrong", user)
                audit(db, now, "console_login_failed", actor=user.email, step="no authenticator")
                db.commit()
                return attempt, "enrol-missing"
            stage = sessions.TOTP if accounts.needs_totp(user.role) else sessions.FULL
            raw = sessions.start(db, user.id, stage, now, replacing=sessions.raw_cookie(request))
            if stage == sessions.FULL:
                user.last_login_at = now
                db.add(user)
                audit(db, now, "console_login", actor=user.email, factors="password")
        else:
            audit(
                db,
                now,
                "console_login_failed",
                actor=accounts.normalise_email(email),
                step="password",
                outcome=attempt.outcome,
                address=_address(request),
            )
        db.commit()
    return attempt, raw


@login_page(router, "POST", "/login")
async def login_post(request: Request, form: FormDep) -> Response:
    email, password = _field(form, "email"), _field(form, "password")
    next_path = safe_next(form.get("next"))
    until = _address_locked(request)
    if until is not None:
        await run_in_threadpool(
            _audit_now,
            request,
            "console_login_failed",
            accounts.normalise_email(email),
            step="password",
            outcome="address locked",
            address=_address(request),
        )
        return _login_form(
            request,
            status=429,
            email=email,
            next_path=next_path,
            error=f"too many failed logins from this address; try again after {until:%H:%M} UTC",
        )
    attempt, raw = await run_in_threadpool(_try_password, request, email, password)
    if raw == "enrol-missing":
        return _login_form(
            request,
            status=403,
            email=email,
            next_path=next_path,
            error="your authenticator was never set up; ask an admin for a new one-time code "
            "(epro-sync user reset) and set it up with that code",
        )
    if attempt.outcome != "ok":
        await _slow_failure(request)
        error = WRONG
        if attempt.outcome == "locked" and attempt.locked_until is not None:
            error = (
                "this account is locked after too many failed logins; try again after "
                f"{attempt.locked_until:%H:%M} UTC, or ask an admin"
            )
        return _login_form(
            request,
            status=429 if attempt.outcome == "locked" else 401,
            error=error,
            email=email,
            next_path=next_path,
        )
    assert attempt.user is not None
    to = (
        next_path
        if not accounts.needs_totp(attempt.user.role)
        else ("/console/login/totp" + ("" if next_path == HOME else f"?next={next_path}"))
    )
    response = _redirect(to)
    sessions.set_session_cookie(request, response, raw)
    return response


# ----------------------------------------------------------------------------------- TOTP


@login_page(router, "GET", "/login/totp")
def totp_get(request: Request, next: str = HOME) -> Response:
    if sessions.current(request, sessions.TOTP) is None:
        return _redirect("/console/login")
    return render(request, "totp.html", title="Authenticator code", error="", next=safe_next(next))


def _try_totp(request: Request, code: str) -> tuple[str, str, ConsoleUser | None]:
    """("ok", new raw id) or ("wrong" | "locked" | "gone", "")."""
    settings = _settings(request)
    now = sessions.now_of(request)
    found = sessions.current(request, sessions.TOTP)
    if found is None:
        return "gone", "", None
    _row, stale = found
    lock, db = _write(request)
    with lock, db:
        user = db.get(ConsoleUser, stale.id)
        if user is None or user.totp_secret is None:
            return "gone", "", None
        assert user.id is not None
        if accounts.locked(user, now) is not None:
            sessions.end(db, sessions.raw_cookie(request))
            db.commit()
            return "locked", "", user
        step = totp.matching_step(user.totp_secret, code, now, after=user.totp_last_step)
        if step is None:
            until = accounts.failed(db, user, now, settings.console_lockout_failures, "totp")
            audit(
                db,
                now,
                "console_login_failed",
                actor=user.email,
                step="totp",
                address=_address(request),
            )
            if until is not None:
                sessions.end(db, sessions.raw_cookie(request))
            db.commit()
            return ("locked" if until else "wrong"), "", user
        user.totp_last_step = step
        user.failed_logins = 0
        user.last_login_at = now
        db.add(user)
        raw = sessions.start(
            db, user.id, sessions.FULL, now, replacing=sessions.raw_cookie(request)
        )
        audit(db, now, "console_login", actor=user.email, factors="password+totp")
        db.commit()
    return "ok", raw, user


@login_page(router, "POST", "/login/totp")
async def totp_post(request: Request, form: FormDep) -> Response:
    next_path = safe_next(form.get("next"))
    outcome, raw, _user = await run_in_threadpool(_try_totp, request, _field(form, "code"))
    if outcome == "gone":
        return _redirect("/console/login")
    if outcome == "locked":
        await _slow_failure(request)
        response = _login_form(
            request,
            status=429,
            error="this account is locked after too many wrong codes; try again in 15 minutes, "
            "or ask an admin",
        )
        sessions.clear_session_cookie(request, response)
        return response
    if outcome == "wrong":
        await _slow_failure(request)
        return render(
            request,
            "totp.html",
            title="Authenticator code",
            status=401,
            next=next_path,
            error="that code is wrong, already used or too old; type the code the app shows now",
        )
    response = _redirect(next_path)
    sessions.set_session_cookie(request, response, raw)
    return response


# --------------------------------------------------------------- first login, with a code


def _activate_form(
    request: Request, *, status: int = 200, error: str = "", email: str = ""
) -> Response:
    return render(
        request,
        "activate.html",
        title="Set your password",
        status=status,
        error=error,
        email=email,
        min_length=accounts.PASSWORD_MIN,
    )


@login_page(router, "GET", "/activate")
def activate_get(request: Request) -> Response:
    return _activate_form(request)


def _try_activate(request: Request, email: str, code: str, password: str) -> tuple[str, str]:
    """(stage of the new session, its raw id), or ("", "") for a wrong or expired code."""
    settings = _settings(request)
    now = sessions.now_of(request)
    lock, db = _write(request)
    with lock, db:
        user = accounts.spend_reset_code(db, email, code, now)
        if user is None:
            audit(
                db,
                now,
                "console_activate_failed",
                actor=accounts.normalise_email(email),
                address=_address(request),
            )
            db.commit()
            return "", ""
        assert user.id is not None
        user.password_hash = accounts.hash_password(password, settings.console_password_memory_kib)
        user.failed_logins = 0
        user.locked_until = None
        db.add(user)
        audit(db, now, "console_password_set", actor=user.email)
        if accounts.needs_totp(user.role):
            raw = sessions.start(
                db,
                user.id,
                sessions.ENROL,
                now,
                replacing=sessions.raw_cookie(request),
                pending_totp=totp.new_secret(),
            )
            stage = sessions.ENROL
        else:
            raw = sessions.start(
                db, user.id, sessions.FULL, now, replacing=sessions.raw_cookie(request)
            )
            user.last_login_at = now
            audit(db, now, "console_login", actor=user.email, factors="one-time code")
            stage = sessions.FULL
        db.commit()
    return stage, raw


@login_page(router, "POST", "/activate")
async def activate_post(request: Request, form: FormDep) -> Response:
    email, code = _field(form, "email"), _field(form, "code")
    password, again = _field(form, "password"), _field(form, "password2")
    until = _address_locked(request)
    if until is not None:
        return _activate_form(
            request,
            status=429,
            email=email,
            error=f"too many failed attempts from this address; try again after {until:%H:%M} UTC",
        )
    problem = accounts.password_problem(password, again)
    if problem is not None:
        return _activate_form(request, status=422, error=problem, email=email)
    stage, raw = await run_in_threadpool(_try_activate, request, email, code, password)
    if not raw:
        await _slow_failure(request)
        return _activate_form(
            request,
            status=401,
            email=email,
            error="the e-mail address or the one-time code is wrong, or the code has expired or "
            "was used; ask an admin for a new one (epro-sync user reset)",
        )
    response = _redirect("/console/activate/totp" if stage == sessions.ENROL else HOME)
    sessions.set_session_cookie(request, response, raw)
    return response


def _enrol_page(
    request: Request, secret: str, email: str, *, status: int = 200, error: str = ""
) -> Response:
    return render(
        request,
        "enrol_totp.html",
        title="Set up your authenticator",
        status=status,
        error=error,
        secret_grouped=totp.grouped(secret),
        uri=totp.uri(secret, email),
    )


@login_page(router, "GET", "/activate/totp")
def enrol_get(request: Request) -> Response:
    found = sessions.current(request, sessions.ENROL)
    if found is None or found[0].pending_totp is None:
        return _redirect("/console/login")
    return _enrol_page(request, found[0].pending_totp, found[1].email)


def _try_enrol(request: Request, code: str) -> tuple[str, str, str, str]:
    """(outcome, raw id, secret, email) — outcome "ok", "wrong" or "gone"."""
    now = sessions.now_of(request)
    found = sessions.current(request, sessions.ENROL)
    if found is None or found[0].pending_totp is None:
        return "gone", "", "", ""
    row, stale = found
    secret = row.pending_totp
    assert secret is not None
    step = totp.matching_step(secret, code, now)
    lock, db = _write(request)
    with lock, db:
        user = db.get(ConsoleUser, stale.id)
        if user is None or user.id is None:
            return "gone", "", "", ""
        if step is None:
            audit(
                db,
                now,
                "console_login_failed",
                actor=user.email,
                step="totp enrolment",
                address=_address(request),
            )
            db.commit()
            return "wrong", "", secret, user.email
        user.totp_secret = secret
        user.totp_last_step = step
        user.last_login_at = now
        db.add(user)
        raw = sessions.start(
            db, user.id, sessions.FULL, now, replacing=sessions.raw_cookie(request)
        )
        audit(db, now, "console_totp_enrolled", actor=user.email)
        audit(db, now, "console_login", actor=user.email, factors="one-time code+totp")
        db.commit()
    return "ok", raw, secret, user.email


@login_page(router, "POST", "/activate/totp")
async def enrol_post(request: Request, form: FormDep) -> Response:
    outcome, raw, secret, email = await run_in_threadpool(_try_enrol, request, _field(form, "code"))
    if outcome == "gone":
        return _redirect("/console/login")
    if outcome == "wrong":
        await _slow_failure(request)
        return _enrol_page(
            request,
            secret,
            email,
            status=401,
            error="that code does not match; check the key in the app and type the code it "
            "shows now",
        )
    response = _redirect(HOME)
    sessions.set_session_cookie(request, response, raw)
    return response


# --------------------------------------------------------------------------------- logout


def _logout(request: Request, email: str) -> None:
    lock, db = _write(request)
    with lock, db:
        sessions.end(db, sessions.raw_cookie(request))
        audit(db, sessions.now_of(request), "console_logout", actor=email)
        db.commit()


@page(router, "POST", "/logout")
async def logout(request: Request, viewer: ViewerDep, _form: FormDep) -> Response:
    await run_in_threadpool(_logout, request, viewer.email)
    response = _login_form(request, notice="You are logged out.")
    sessions.clear_session_cookie(request, response)
    return response
