"""Console accounts: creation, one-time reset codes, passwords, TOTP, failures and lockout.

Passwords are stored as Argon2id hashes (``epro.crypto.hash_pin``'s self-describing format, so
each hash keeps its own cost); reset codes as SHA-256, valid once and for
``console_reset_hours``. A reset clears the password and the TOTP secret and ends every session:
it is how an account is first opened, and how a lost password or phone is replaced. After
``console_lockout_failures`` wrong passwords or codes in a row the account is locked for
:data:`LOCKOUT`. Functions take an open session and never commit (the caller does).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from sqlmodel import Session, col, select

from epro.crypto import KdfParams, check_pin, hash_pin
from epro.errors import EproError
from epro_sync.console import sessions
from epro_sync.console.access import ROLES, TOTP_ROLES, Role
from epro_sync.console.events import audit
from epro_sync.storage import sha256_hex
from epro_sync.tables import ConsoleUser, as_utc

LOCKOUT: Final = timedelta(minutes=15)
PASSWORD_MIN: Final = 12
PASSWORD_MAX: Final = 256
_ALPHABET: Final = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
#: Compared against when the e-mail is unknown, so an unknown account takes as long as a
#: known one (the cost of a real hash is paid either way).
_DUMMY: dict[int, str] = {}


def needs_totp(role: str) -> bool:
    return role in TOTP_ROLES


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> str:
    value = normalise_email(email)
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or any(ch.isspace() for ch in value):
        raise EproError(f"{email!r} is not an e-mail address (name@example.org)")
    if len(value) > 320:
        raise EproError("the e-mail address is longer than 320 characters")
    return value


def check_sites(sites: list[str], role: str) -> str | None:
    """Sites as stored (space-separated, sorted), or None for all; a coordinator needs one."""
    cleaned = sorted({site.strip() for site in sites if site.strip()})
    for site in cleaned:
        if not all(ch.isalnum() or ch in "-_." for ch in site) or len(site) > 64:
            raise EproError(f"site {site!r}: use letters, digits, '-', '_' or '.' only")
    if not cleaned:
        if role == "coordinator":
            raise EproError("a coordinator sees only their own sites: give --site SITE")
        return None
    return " ".join(cleaned)


def check_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise EproError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")


def _new_reset(user: ConsoleUser, now: datetime, hours: int) -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    user.reset_sha256 = sha256_hex(raw)
    user.reset_expires_at = now + timedelta(hours=hours)
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def by_email(db: Session, email: str) -> ConsoleUser | None:
    return db.exec(
        select(ConsoleUser).where(col(ConsoleUser.email) == normalise_email(email))
    ).first()


def add(
    db: Session, email: str, role: str, sites: list[str], now: datetime, *, reset_hours: int
) -> tuple[ConsoleUser, str]:
    """A new account with no password yet, and its one-time code (shown once)."""
    address = check_email(email)
    checked_role = check_role(role)
    stored_sites = check_sites(sites, checked_role)
    if by_email(db, address) is not None:
        raise EproError(
            f"{address} already has an account; `epro-sync user reset` replaces its code"
        )
    user = ConsoleUser(email=address, role=checked_role, sites=stored_sites, created_at=now)
    code = _new_reset(user, now, reset_hours)
    db.add(user)
    audit(
        db,
        now,
        "console_user_added",
        actor=None,
        user=address,
        role=checked_role,
        sites=stored_sites,
    )
    return user, code


def _existing(db: Session, email: str) -> ConsoleUser:
    user = by_email(db, email)
    if user is None:
        raise EproError(f"no console account for {email!r}; `epro-sync user list` shows them")
    return user


def disable(db: Session, email: str, now: datetime) -> ConsoleUser:
    user = _existing(db, email)
    if user.disabled_at is None:
        user.disabled_at = now
        db.add(user)
        assert user.id is not None
        sessions.end_all_of(db, user.id)
        audit(db, now, "console_user_disabled", actor=None, user=user.email)
    return user


def reset(db: Session, email: str, now: datetime, *, reset_hours: int) -> tuple[ConsoleUser, str]:
    """A new one-time code; the password, TOTP secret, lockout and sessions are cleared, and
    a disabled account is enabled again."""
    user = _existing(db, email)
    code = _new_reset(user, now, reset_hours)
    user.password_hash = None
    user.totp_secret = None
    user.totp_last_step = None
    user.failed_logins = 0
    user.locked_until = None
    user.disabled_at = None
    db.add(user)
    assert user.id is not None
    sessions.end_all_of(db, user.id)
    audit(db, now, "console_user_reset", actor=None, user=user.email)
    return user, code


def list_all(db: Session) -> list[ConsoleUser]:
    return list(db.exec(select(ConsoleUser).order_by(col(ConsoleUser.email))))


# ------------------------------------------------------------------------------------ login


def hash_password(password: str, memory_kib: int) -> str:
    return hash_pin(password, KdfParams(memory_cost_kib=memory_kib, iterations=3, lanes=4))


def _dummy(memory_kib: int) -> str:
    if memory_kib not in _DUMMY:
        _DUMMY[memory_kib] = hash_password(secrets.token_hex(16), memory_kib)
    return _DUMMY[memory_kib]


def password_problem(password: str, again: str) -> str | None:
    if password != again:
        return "the two passwords differ; type the same password twice"
    if len(password) < PASSWORD_MIN:
        return f"the password is shorter than {PASSWORD_MIN} characters; choose a longer one"
    if len(password) > PASSWORD_MAX:
        return f"the password is longer than {PASSWORD_MAX} characters"
    return None


Outcome = Literal["ok", "wrong", "locked"]


@dataclass
class Attempt:
    outcome: Outcome
    user: ConsoleUser | None
    locked_until: datetime | None = None


def locked(user: ConsoleUser, now: datetime) -> datetime | None:
    if user.locked_until is not None and as_utc(user.locked_until) > now:
        return as_utc(user.locked_until)
    return None


def failed(db: Session, user: ConsoleUser, now: datetime, limit: int, step: str) -> datetime | None:
    """Count a wrong password or code; lock the account at ``limit`` in a row (audited)."""
    user.failed_logins += 1
    until = None
    if user.failed_logins >= limit:
        until = now + LOCKOUT
        user.locked_until = until
        user.failed_logins = 0
        audit(db, now, "console_lockout", actor=user.email, step=step, until=until.isoformat())
    db.add(user)
    return until


def check_password(
    db: Session, email: str, password: str, now: datetime, *, memory_kib: int, limit: int
) -> Attempt:
    """Check a login's password (always paying one Argon2id, known account or not)."""
    user = by_email(db, email)
    usable = (
        user is not None
        and user.disabled_at is None
        and user.password_hash is not None
        and user.role in ROLES
    )
    stored = user.password_hash if usable and user is not None else None
    right = check_pin(password, stored or _dummy(memory_kib))
    if user is None or not usable:
        return Attempt("wrong", None)
    until = locked(user, now)
    if until is not None:
        return Attempt("locked", user, until)
    if not right or stored is None:
        until = failed(db, user, now, limit, "password")
        return Attempt("locked" if until else "wrong", user, until)
    user.failed_logins = 0
    db.add(user)
    return Attempt("ok", user)


def spend_reset_code(db: Session, email: str, code: str, now: datetime) -> ConsoleUser | None:
    """The account whose valid one-time code this is (the code is spent), or None."""
    user = by_email(db, email)
    if user is None or user.reset_sha256 is None or user.reset_expires_at is None:
        return None
    if not secrets.compare_digest(user.reset_sha256, sha256_hex(normalise_code(code))):
        return None
    if as_utc(user.reset_expires_at) <= now or user.disabled_at is not None:
        return None
    user.reset_sha256 = None
    user.reset_expires_at = None
    db.add(user)
    return user
