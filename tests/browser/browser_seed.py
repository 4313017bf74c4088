"""A study to look at in the browser, made the way a real one is made.

Accounts come from the real ``epro-sync user add`` (a child process on the server's database)
and are activated over real HTTP with the one-time code, a password and an authenticator code,
as a person does at ``/console/activate``. Kiosks are real encrypted stores (cheap KDF) enrolled
with codes from ``epro-sync enrol-code``; their responses are submitted through the real
session service and uploaded by the real sync client. The server's clock is the real time plus
an offset that :meth:`Study.fresh_totp_step` moves on, since a TOTP code is good only once.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from epro.crypto import FAST_KDF
from epro.forms import Form, load_forms
from epro.schedule import Study as Protocol
from epro.schedule import load_study
from epro.session import SessionService
from epro.store import Store, init_store, open_store
from epro.store.domain import Patient
from epro.sync_client import SyncClient, SyncReport, enrol_kiosk
from epro.sync_client.status import REVOKED
from epro_sync.config import ServerSettings
from tests.browser.browser_tools import totp

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long demo password 1"
KIOSK_PASSPHRASE = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
STAFF = ("data-manager", "admin")


@dataclass
class Clock:
    """The server's clock: real time plus an offset the tests move forward."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Account:
    email: str
    role: str
    password: str = PASSWORD
    secret: str | None = None


@dataclass
class SeededKiosk:
    label: str
    site: str
    path: Path
    device_id: str
    patients: list[str]
    response_ids: list[str]


def kiosk_sync(kiosk: SeededKiosk) -> tuple[SyncReport, bool]:
    """One sync of the kiosk now: its report, and whether the kiosk now knows it is revoked."""
    with open_store(kiosk.path, passphrase=KIOSK_PASSPHRASE) as store:
        report = SyncClient(store).sync_once()
        return report, _revoked(store)


def _revoked(store: Store) -> bool:
    with store.unit_of_work() as uow:
        return uow.keys.get_setting(REVOKED) == "1"


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, f"no CSRF field on {page.url}"
    return found.group(1)


@dataclass
class Study:
    """The live server's settings and clock, and what has been made on it."""

    url: str
    settings: ServerSettings
    clock: Clock
    work: Path
    kiosks: list[SeededKiosk] = field(default_factory=list)
    #: Response ids marked entered in error so far.
    marked: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ the CLI, for real

    def cli(self, *args: str) -> str:
        env = dict(os.environ)
        env["EPRO_SYNC_DATABASE_URL"] = self.settings.database_url
        env["EPRO_SYNC_STUDY_PUBLIC_KEY_FILE"] = str(self.settings.study_public_key_file)
        env["EPRO_SYNC_CONSOLE_PASSWORD_MEMORY_KIB"] = str(
            self.settings.console_password_memory_kib
        )
        code = "import sys; from epro_sync.cli import main; sys.exit(main(sys.argv[1:]))"
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"epro-sync {' '.join(args)}: {done.stderr}"
        return done.stdout

    def enrol_code(self, site: str) -> str:
        out = self.cli("enrol-code", "--site", site)
        return out.split(":", 1)[1].split()[0]

    # ------------------------------------------------------------------ accounts

    def totp_now(self, account: Account) -> str:
        """The code the account's authenticator shows now (on the server's clock)."""
        assert account.secret is not None, f"{account.email} has no authenticator"
        return totp(account.secret, at=self.clock().timestamp())

    def fresh_totp_step(self) -> None:
        """Move the server's clock to the next 30-second step: the last code is spent."""
        self.clock.offset += timedelta(seconds=30)

    def new_account(self, email: str, role: str, *sites: str) -> tuple[Account, str]:
        """``epro-sync user add``: the account and the one-time code it prints."""
        site_args = [arg for site in sites for arg in ("--site", site)]
        out = self.cli("user", "add", email, "--role", role, *site_args)
        found = re.search(r"one-time code for \S+: (\S+)", out)
        assert found, out
        return Account(email, role), found.group(1)

    def add_account(self, email: str, role: str, *sites: str) -> Account:
        """``epro-sync user add``, then the first login with its one-time code over HTTP."""
        account, one_time_code = self.new_account(email, role, *sites)
        with httpx.Client(base_url=self.url, timeout=30, follow_redirects=True) as client:
            form = client.get("/console/activate")
            reply = client.post(
                "/console/activate",
                data={
                    "csrf": csrf_of(form),
                    "email": email,
                    "code": one_time_code,
                    "password": account.password,
                    "password2": account.password,
                },
            )
            assert reply.status_code == 200, reply.text
            if role in STAFF:
                secret = SECRET.search(reply.text)
                assert secret, reply.text
                account.secret = secret.group(1).replace(" ", "")
                done = client.post(
                    "/console/activate/totp",
                    data={"csrf": csrf_of(reply), "code": self.totp_now(account)},
                )
                assert done.status_code == 200, done.text
                self.fresh_totp_step()
        return account

    # ------------------------------------------------------------------ kiosks

    def add_kiosk(self, label: str, site: str, patients: list[str]) -> SeededKiosk:
        """A kiosk enrolled at ``site``: each patient answers both VAS forms of visit V1, and
        everything is uploaded."""
        path = self.work / f"kiosk-{len(self.kiosks)}.db"
        store = init_store(
            path,
            passphrase=KIOSK_PASSPHRASE,
            site=site,
            nurse_name="nurse",
            nurse_pin="1234",
            kdf=FAST_KDF,
        )
        try:
            enrolment = enrol_kiosk(
                store, server_url=self.url, code=self.enrol_code(site), label=label
            )
            ids = _answer_vas(store, load_forms(), load_study(), site, patients)
            report = SyncClient(store).sync_until_empty(max_attempts=5)
            assert report.error is None, report.error
            assert report.remaining == 0
        finally:
            store.close()
        kiosk = SeededKiosk(label, site, path, enrolment.device_id, patients, ids)
        self.kiosks.append(kiosk)
        return kiosk


def _answer_vas(
    store: Store, forms: dict[str, Form], protocol: Protocol, site: str, patients: list[str]
) -> list[str]:
    service = SessionService(store, forms, protocol)
    born = date.today().replace(day=1) - timedelta(days=365 * 10)
    ids = []
    for number, code in enumerate(patients):
        with store.unit_of_work() as uow:
            uow.patients.add(
                Patient(code=code, birth_ym=f"{born:%Y-%m}", baseline_date=date.today(), site=site)
            )
            uow.commit()
        for form_id in ("vas_pain", "vas_wellbeing"):
            for respondent in protocol.respondents_for(form_id, 10):
                session = service.start(
                    patient=code,
                    visit="V1",
                    form_id=form_id,
                    respondent=respondent,
                    language="en",
                    actor="nurse",
                )
                for item in session.items():
                    if item.type != "display":
                        session.answer(item.link_id, 30 + 10 * number)
                ids.append(session.submit(actor="nurse").response_id)
    return ids
