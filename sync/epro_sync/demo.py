"""The demo's own study server: the real app on a free loopback port, beside the demo kiosk.

``epro demo`` runs it in a thread of the kiosk's process, so it ends when the kiosk does
(however the kiosk ends), and binds port 0 on 127.0.0.1, so two demos never clash and nothing
outside the machine can reach it. Its files sit next to the demo database, named after it:

- ``demo.db.server.sqlite3``: the server database (devices, envelopes, roster, audit);
- ``demo.db.study-public.json``: the demo study public key (the private half is the demo's
  ``demo.db.study-key.json``, kept there so ``epro export`` can be tried on the demo's bundle);
- ``demo.db.server-signing-key.pem``: the key the server signs its receipts with;
- ``demo.db.server.log``: the server's warnings (the terminal belongs to the kiosk).

The demo console accounts (:data:`DEMO_ACCOUNTS`, one per role) are made ready to log in,
with a known password and, for the roles that need one, a fixed authenticator key: made-up
site and accounts only, on loopback. A real study server is ``epro-sync serve`` behind TLS,
its accounts made with ``epro-sync user add``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from epro_sync.app import create_app
from epro_sync.config import ServerSettings
from epro_sync.console import accounts, totp
from epro_sync.console.access import TOTP_ROLES
from epro_sync.db import make_engine
from epro_sync.migrations import migrate
from epro_sync.testing import LiveServer, make_enrol_code

#: The label the demo kiosk enrols with (the console's kiosk list shows it).
DEMO_LABEL = "Demo kiosk"
#: The demo kiosk's site (as in ``epro.demo``; not imported, so the server needs no kiosk).
DEMO_SITE = "DEMO"
#: Every demo console account's password; shown on the demo kiosk's lock screen.
DEMO_CONSOLE_PASSWORD = "demo-password"
#: The demo's authenticator key (RFC 6238, base32) for the roles that need a second factor:
#: fixed, so it can be typed into an authenticator app once; ``epro demo --totp`` prints the
#: code it gives now.
DEMO_TOTP_SECRET = base64.b32encode(b"epro demo totp key!!").decode("ascii")


@dataclass(frozen=True, slots=True)
class DemoAccount:
    email: str
    role: str
    #: None: every site.
    site: str | None

    @property
    def needs_totp(self) -> bool:
        return self.role in TOTP_ROLES


#: The made-up people of the demo console, one per role.
DEMO_ACCOUNTS = (
    DemoAccount("coordinator@demo.example", "coordinator", DEMO_SITE),
    DemoAccount("datamanager@demo.example", "data-manager", None),
    DemoAccount("admin@demo.example", "admin", None),
)


def demo_totp_now(now: datetime | None = None) -> str:
    """The code an authenticator holding :data:`DEMO_TOTP_SECRET` shows now."""
    return totp.code_at(DEMO_TOTP_SECRET, now or datetime.now(UTC))


def lock_screen_text(console_url: str) -> str:
    """What the demo kiosk's lock screen says about the console, in three lines of its box
    (made-up accounts only; the authenticator key is printed in the terminal)."""
    names = [a.email.partition("@")[0] + "@" for a in DEMO_ACCOUNTS]
    domain = DEMO_ACCOUNTS[0].email.partition("@")[2]
    who = f"{', '.join(names[:-1])} or {names[-1]}{domain}"
    return (
        f"Console {console_url}: {who}, password '{DEMO_CONSOLE_PASSWORD}' "
        "(codes: epro demo --totp)."
    )


def terminal_text(console_url: str) -> str:
    """The same for the terminal, with the authenticator key for an app."""
    return "\n".join(
        [
            f"demo console: {console_url}",
            *(
                f"  {a.email} ({a.role}{'' if a.site is None else ', site ' + a.site}) "
                f"password '{DEMO_CONSOLE_PASSWORD}'"
                for a in DEMO_ACCOUNTS
            ),
            f"  authenticator key (data manager, admin): {totp.grouped(DEMO_TOTP_SECRET)}; "
            "or `epro demo --totp` prints the code of now",
        ]
    )


def ensure_demo_accounts(settings: ServerSettings) -> None:
    """Make the demo console accounts, ready to log in, unless they exist already."""
    engine = make_engine(settings.database_url)
    now = datetime.now(UTC)
    try:
        with Session(engine) as db:
            for account in DEMO_ACCOUNTS:
                if accounts.by_email(db, account.email) is not None:
                    continue
                sites = [] if account.site is None else [account.site]
                user, _code = accounts.add(
                    db, account.email, account.role, sites, now, reset_hours=1
                )
                # What activating with the one-time code would do, with the demo's password.
                user.reset_sha256 = None
                user.reset_expires_at = None
                user.password_hash = accounts.hash_password(
                    DEMO_CONSOLE_PASSWORD, settings.console_password_memory_kib
                )
                if account.needs_totp:
                    user.totp_secret = DEMO_TOTP_SECRET
                db.add(user)
            db.commit()
    finally:
        engine.dispose()


@dataclass(frozen=True, slots=True)
class DemoFiles:
    """Where the demo server keeps its files, next to the demo kiosk database ``db``."""

    db: Path

    @property
    def database(self) -> Path:
        return self.db.with_name(self.db.name + ".server.sqlite3")

    @property
    def study_public_key(self) -> Path:
        return self.db.with_name(self.db.name + ".study-public.json")

    @property
    def signing_key(self) -> Path:
        return self.db.with_name(self.db.name + ".server-signing-key.pem")

    @property
    def log(self) -> Path:
        return self.db.with_name(self.db.name + ".server.log")

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database}"


def demo_settings(files: DemoFiles) -> ServerSettings:
    """The demo server's settings: its own SQLite file and the demo study public key."""
    return ServerSettings(
        database_url=files.database_url,
        study_public_key_file=files.study_public_key,
        signing_key_file=files.signing_key,
        host="127.0.0.1",
    )


@dataclass(frozen=True, slots=True)
class DemoServer:
    """A running demo server: where it listens, and whether its database was new."""

    url: str
    files: DemoFiles
    settings: ServerSettings
    #: True when this start made the server database: the kiosk must enrol (again).
    fresh: bool

    @property
    def console_url(self) -> str:
        return f"{self.url}/console/"

    @property
    def lock_screen_text(self) -> str:
        return lock_screen_text(self.console_url)

    @property
    def terminal_text(self) -> str:
        return terminal_text(self.console_url)

    def enrol_code(self, site: str) -> str:
        """A one-time enrolment code, as `epro-sync enrol-code --site SITE` makes (with the
        study key's and the signing key's fingerprint after the +)."""
        return make_enrol_code(self.settings, site)


@contextmanager
def demo_server(db: Path, study_public_key_json: str) -> Iterator[DemoServer]:
    """Start the demo server for the demo database ``db``; it stops at the end of the block."""
    files = DemoFiles(Path(db))
    files.study_public_key.write_text(study_public_key_json, encoding="utf-8")
    settings = demo_settings(files)
    fresh = not files.database.exists()
    settings.ensure_database_dir()
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    ensure_demo_accounts(settings)
    with LiveServer(create_app(settings), log_file=files.log) as live:
        yield DemoServer(url=live.url, files=files, settings=settings, fresh=fresh)
