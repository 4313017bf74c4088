"""Test kit for the console (tests only): a live server with a clock the test moves, accounts
made the way ``epro-sync user add`` makes them, and browsers (httpx clients) that log in over
real HTTP. ``fast`` settings hash passwords cheaply: never for a real study."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import Session

from epro_sync.app import create_app
from epro_sync.config import ServerSettings
from epro_sync.console import accounts, totp
from epro_sync.db import make_engine
from epro_sync.migrations import migrate
from epro_sync.testing import LiveServer

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Clock:
    """The server's clock: real time plus an offset the test moves forward."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


def fast(settings: ServerSettings, **changes: object) -> ServerSettings:
    """The test settings with cheap password hashing and no failure delay."""
    values = {
        "console_password_memory_kib": 1024,
        "console_failure_delay_s": 0.0,
        **changes,
    }
    return settings.model_copy(update=values)


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, f"no CSRF field on {page.url}: {page.text[:300]}"
    return found.group(1)


@dataclass
class Account:
    email: str
    role: str
    code: str
    password: str = PASSWORD
    secret: str | None = None


class Console:
    """A running server and ways to make accounts and log them in."""

    def __init__(self, settings: ServerSettings, live: LiveServer, clock: Clock) -> None:
        self.settings, self.live, self.clock = settings, live, clock
        self.url = live.url
        self.engine = make_engine(settings.database_url)
        self.browsers: list[httpx.Client] = []

    def browser(self) -> httpx.Client:
        """A new browser (cookie jar) that does not follow redirects; closed at the end."""
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)
        self.browsers.append(client)
        return client

    def close(self) -> None:
        for client in self.browsers:
            client.close()
        self.engine.dispose()

    def add(self, email: str, role: str, *sites: str) -> Account:
        with Session(self.engine) as db:
            _user, code = accounts.add(db, email, role, list(sites), self.clock(), reset_hours=72)
            db.commit()
        return Account(email, role, code)

    def totp_now(self, account: Account) -> str:
        assert account.secret is not None
        return totp.code_at(account.secret, self.clock())

    def next_step(self) -> None:
        """Move past the current TOTP step (a code is good once)."""
        self.clock.advance(seconds=totp.STEP_S)

    def activate(self, account: Account, client: httpx.Client | None = None) -> httpx.Client:
        """First login with the one-time code (and TOTP enrolment for staff roles)."""
        client = client or self.browser()
        form = client.get("/console/activate")
        reply = client.post(
            "/console/activate",
            data={
                "csrf": csrf_of(form),
                "email": account.email,
                "code": account.code,
                "password": account.password,
                "password2": account.password,
            },
        )
        assert reply.status_code == 303, reply.text
        if accounts.needs_totp(account.role):
            assert reply.headers["location"] == "/console/activate/totp"
            page = client.get("/console/activate/totp")
            secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text)
            assert secret, page.text
            account.secret = secret.group(1).replace(" ", "")
            done = client.post(
                "/console/activate/totp",
                data={"csrf": csrf_of(page), "code": self.totp_now(account)},
            )
            assert done.status_code == 303, done.text
            self.next_step()
        return client

    def password_step(
        self, client: httpx.Client, account: Account, password: str | None = None
    ) -> httpx.Response:
        form = client.get("/console/login")
        return client.post(
            "/console/login",
            data={
                "csrf": csrf_of(form),
                "email": account.email,
                "password": account.password if password is None else password,
            },
        )

    def login(self, account: Account, client: httpx.Client | None = None) -> httpx.Client:
        client = client or self.browser()
        reply = self.password_step(client, account)
        assert reply.status_code == 303, reply.text
        if accounts.needs_totp(account.role):
            assert reply.headers["location"].startswith("/console/login/totp")
            page = client.get("/console/login/totp")
            done = client.post(
                "/console/login/totp", data={"csrf": csrf_of(page), "code": self.totp_now(account)}
            )
            assert done.status_code == 303, done.text
            self.next_step()
        assert client.get("/console/").status_code == 200
        return client

    def ready(self, email: str, role: str, *sites: str) -> tuple[Account, httpx.Client]:
        """An activated, logged-in account."""
        account = self.add(email, role, *sites)
        return account, self.activate(account)


@contextmanager
def console_server(settings: ServerSettings) -> Iterator[Console]:
    clock = Clock()
    engine = make_engine(settings.database_url)
    migrate(engine)
    engine.dispose()
    with LiveServer(create_app(settings, clock=clock)) as live:
        console = Console(settings, live, clock)
        try:
            yield console
        finally:
            console.close()
