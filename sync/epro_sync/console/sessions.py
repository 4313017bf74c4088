"""Server-side console sessions and the cookie that names one.

The cookie holds 256 random bits; the database holds only their SHA-256, so a copy of the
database opens no session. Cookies are HttpOnly, SameSite=Strict, and Secure behind TLS (the
request came over HTTPS, or ``console_cookie_secure`` says so), named ``__Host-…`` then. A new
id is issued at every step of a login (password, TOTP), so an id planted before the login is
worth nothing after it (no fixation). A session ends after ``console_idle_minutes`` unused, or
``console_session_hours`` after its login, or at logout, or when the account is disabled or
reset.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import cast

from fastapi import Request, Response
from sqlmodel import Session, col, delete, select, update

from epro_sync.config import ServerSettings
from epro_sync.console.access import ROLES, Role, Viewer
from epro_sync.db import read_session, writer_lock
from epro_sync.tables import ConsoleSession, ConsoleUser, as_utc

#: Stages of a session: logged in, or a login step still to do.
FULL = "full"
TOTP = "totp"
ENROL = "enrol"

#: Unused this long, a session row is deleted at the next login of anyone (it has long ended:
#: the idle timeout is at most a day).
STALE = timedelta(days=1, minutes=1)

#: How often an active session's last use is written (not on every request).
TOUCH_EVERY = timedelta(seconds=30)


def _sha(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii", "replace")).hexdigest()


def _settings(request: Request) -> ServerSettings:
    settings: ServerSettings = request.app.state.settings
    return settings


def now_of(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def cookie_secure(request: Request) -> bool:
    configured = _settings(request).console_cookie_secure
    return request.url.scheme == "https" if configured is None else configured


def cookie_name(request: Request) -> str:
    return "__Host-epro_console" if cookie_secure(request) else "epro_console"


def pre_cookie_name(request: Request) -> str:
    return "__Host-epro_console_pre" if cookie_secure(request) else "epro_console_pre"


def set_session_cookie(request: Request, response: Response, raw: str) -> None:
    response.set_cookie(
        cookie_name(request),
        raw,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        cookie_name(request),
        path="/",
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
    )


def start(
    db: Session,
    user_id: int,
    stage: str,
    now: datetime,
    *,
    replacing: str | None = None,
    pending_totp: str | None = None,
) -> str:
    """A new session for ``user_id`` at ``stage`` (ending the one whose cookie is
    ``replacing``); returns the raw id for the cookie. The caller commits."""
    if replacing:
        db.exec(delete(ConsoleSession).where(col(ConsoleSession.id_sha256) == _sha(replacing)))
    raw = secrets.token_urlsafe(32)
    # Sessions nobody ended (a closed browser) go when anyone logs in again after a day.
    db.exec(delete(ConsoleSession).where(col(ConsoleSession.last_seen_at) < now - STALE))
    db.add(
        ConsoleSession(
            id_sha256=_sha(raw),
            user_id=user_id,
            stage=stage,
            csrf_token=secrets.token_urlsafe(32),
            pending_totp=pending_totp,
            created_at=now,
            last_seen_at=now,
        )
    )
    return raw


def end(db: Session, raw: str | None) -> None:
    if raw:
        db.exec(delete(ConsoleSession).where(col(ConsoleSession.id_sha256) == _sha(raw)))


def end_all_of(db: Session, user_id: int) -> None:
    """End every session of an account (disabled, or reset)."""
    db.exec(delete(ConsoleSession).where(col(ConsoleSession.user_id) == user_id))


def raw_cookie(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request))


def _alive(request: Request, row: ConsoleSession, now: datetime) -> bool:
    settings = _settings(request)
    idle = timedelta(minutes=settings.console_idle_minutes)
    longest = timedelta(hours=settings.console_session_hours)
    return as_utc(row.last_seen_at) + idle > now and as_utc(row.created_at) + longest > now


def current(request: Request, stage: str) -> tuple[ConsoleSession, ConsoleUser] | None:
    """The request's session at ``stage`` and its account, if alive and the account usable;
    an alive session's last use is recorded (at most every :data:`TOUCH_EVERY`)."""
    raw = raw_cookie(request)
    if not raw:
        return None
    engine = request.app.state.engine
    now = now_of(request)
    with read_session(engine) as db:  # most requests only read: no write lock taken
        found = db.exec(
            select(ConsoleSession, ConsoleUser)
            .join(ConsoleUser, col(ConsoleUser.id) == col(ConsoleSession.user_id))
            .where(col(ConsoleSession.id_sha256) == _sha(raw))
        ).first()
        db.expunge_all()
    if found is None:
        return None
    row, user = found
    if row.stage != stage or user.disabled_at is not None or user.role not in ROLES:
        return None
    alive = _alive(request, row, now)
    if not alive or now - as_utc(row.last_seen_at) >= TOUCH_EVERY:
        with writer_lock(engine), Session(engine) as db:
            if alive:
                db.exec(
                    update(ConsoleSession)
                    .where(col(ConsoleSession.id_sha256) == row.id_sha256)
                    .values(last_seen_at=now)
                )
            else:
                end(db, raw)
            db.commit()
        if not alive:
            return None
        row.last_seen_at = now
    return row, user


def viewer_for(request: Request) -> Viewer | None:
    """The :class:`Viewer` of the request's logged-in session (cached for the request)."""
    cached = getattr(request.state, "console_viewer", None)
    if isinstance(cached, Viewer):
        return cached
    found = current(request, FULL)
    if found is None:
        return None
    row, user = found
    assert user.id is not None
    viewer = Viewer(
        user_id=user.id,
        email=user.email,
        role=cast(Role, user.role),
        sites=None if user.sites is None else frozenset(user.sites.split()),
        csrf=row.csrf_token,
        session_sha256=row.id_sha256,
    )
    request.state.console_viewer = viewer
    return viewer


# ------------------------------------------------------------------ CSRF before the login


def _secret(request: Request) -> bytes:
    secret: bytes = request.app.state.console_secret
    return secret


def pre_login_token(request: Request, pre: str) -> str:
    """The login forms' CSRF token: an HMAC of the browser's pre-login cookie (signed double
    submit), so a page elsewhere can neither read nor forge it."""
    return hmac.new(_secret(request), b"csrf\0" + pre.encode(), hashlib.sha256).hexdigest()


def expected_csrf(request: Request) -> str | None:
    """The token a form posted with this request's cookies must carry, or None if none can
    be right (no session and no pre-login cookie)."""
    raw = raw_cookie(request)
    if raw:
        with read_session(request.app.state.engine) as db:
            row = db.get(ConsoleSession, _sha(raw))
            if row is not None:
                return row.csrf_token
    pre = request.cookies.get(pre_cookie_name(request))
    return pre_login_token(request, pre) if pre else None
