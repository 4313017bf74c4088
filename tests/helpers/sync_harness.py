"""Harness for sync tests: a real study server under uvicorn on 127.0.0.1 (SQLite file or the
PostgreSQL named by ``EPRO_TEST_POSTGRES_URL``), enrol codes, and real kiosk stores (FAST_KDF)
with responses queued through the real ``SessionService``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from epro.crypto import FAST_KDF, StudyPrivateKey, generate_study_keypair
from epro.forms import Form, load_forms
from epro.schedule import Study, load_study
from epro.session import SessionService
from epro.store import Store, init_store, open_store
from epro.sync_client import enrol_kiosk
from epro.sync_client.http import DeviceAuth
from epro.sync_client.status import DEVICE_TOKEN
from epro_sync.config import ServerSettings

PG_URL = os.environ.get("EPRO_TEST_POSTGRES_URL")
PG_SKIP = "EPRO_TEST_POSTGRES_URL is not set (e.g. postgresql+psycopg://postgres@127.0.0.1/test)"
SITE = "SITE-A"
PASSPHRASE = "correct horse battery"


# ----------------------------------------------------------------------------- server side


@pytest.fixture(scope="session")
def study_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[StudyPrivateKey, Path]:
    private = generate_study_keypair()
    path = tmp_path_factory.mktemp("study") / "study-public.json"
    path.write_text(private.public_key().to_json(), encoding="utf-8")
    return private, path


@contextlib.contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A fresh schema for one test (dropped after), so runs never see each other's rows."""
    import psycopg

    schema = f"epro_sync_test_{uuid.uuid4().hex[:12]}"
    plain = base_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    with postgres_schema(PG_URL) as url:
        yield url


@pytest.fixture
def server_settings(database_url: str, study_key: tuple[StudyPrivateKey, Path]) -> ServerSettings:
    return ServerSettings(database_url=database_url, study_public_key_file=study_key[1])


SERVE = Path(__file__).with_name("serve.py")
ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "sync"), str(ROOT)])
    return env


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
        return port


class LiveServer:
    """The real server in a child process on a fixed loopback port; can be killed and restarted."""

    def __init__(self, settings: ServerSettings, *, fail_before: float = 0, fail_after: float = 0):
        self.settings = settings
        self.port = free_port()
        self.fail = (fail_before, fail_after)
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def start(self) -> None:
        assert self.settings.study_public_key_file is not None
        args = [
            sys.executable,
            str(SERVE),
            str(self.port),
            self.settings.database_url,
            str(self.settings.study_public_key_file),
            str(self.fail[0]),
            str(self.fail[1]),
            str(self.starts),
        ]
        self.starts += 1
        self._process = subprocess.Popen(args, env=_env())
        deadline = time.monotonic() + 30
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"the study server exited with code {self._process.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the study server did not start within 30 s")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: a crash, possibly in the middle of a batch."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._process = None

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
            self._process = None

    def restart(self) -> None:
        self.kill()
        self.start()


@pytest.fixture
def start_server() -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def start(settings: ServerSettings, **fail: float) -> LiveServer:
        server = LiveServer(settings, **fail)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live_server(
    server_settings: ServerSettings, start_server: Callable[..., LiveServer]
) -> LiveServer:
    return start_server(server_settings)


@dataclass
class ServerDb:
    """The server database, through the real `epro-sync` CLI and plain SQL reads."""

    settings: ServerSettings

    def cli(self, *args: str) -> str:
        env = _env()
        env["EPRO_SYNC_DATABASE_URL"] = self.settings.database_url
        env["EPRO_SYNC_STUDY_PUBLIC_KEY_FILE"] = str(self.settings.study_public_key_file)
        code = "import sys; from epro_sync.cli import main; sys.exit(main(sys.argv[1:]))"
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    _spare: list[str] = field(default_factory=list)

    def enrol_code(self, site: str = SITE) -> str:
        """A one-time code for ``site``; made four at a time (one process start each)."""
        if site != SITE:
            return self.cli("enrol-code", "--site", site).split(":", 1)[1].split()[0]
        if not self._spare:
            self._spare = self.enrol_codes(4)
        return self._spare.pop()

    def enrol_codes(self, n: int, site: str = SITE) -> list[str]:
        """``n`` codes from one run of the real `epro-sync enrol-code` (one process start)."""
        env = _env()
        env["EPRO_SYNC_DATABASE_URL"] = self.settings.database_url
        env["EPRO_SYNC_STUDY_PUBLIC_KEY_FILE"] = str(self.settings.study_public_key_file)
        code = (
            "import sys; from epro_sync.cli import main\n"
            "for _ in range(int(sys.argv[1])): main(['enrol-code', '--site', sys.argv[2]])"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(n), site],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return [
            line.split(":", 1)[1].strip()
            for line in done.stdout.splitlines()
            if line.startswith("enrolment code")
        ]

    def revoke(self, device_id: str) -> None:
        self.cli("revoke", device_id)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        url = self.settings.database_url
        if url.startswith("sqlite:///"):
            with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
                return list(conn.execute(sql).fetchall())
        import psycopg

        base, _, query = url.replace("postgresql+psycopg://", "postgresql://").partition("?")
        schema = query.rpartition("%3D")[2]
        with psycopg.connect(base) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            return list(conn.execute(sql).fetchall())

    def response_ids(self) -> list[str]:
        return [str(row[0]) for row in self.rows("SELECT response_id FROM responses")]

    def stored(self) -> dict[str, str]:
        """response id → sha256 of every stored response."""
        return {str(r): s for r, s in self.rows("SELECT response_id, sha256 FROM responses")}

    def quarantined(self) -> list[str]:
        return [str(row[0]) for row in self.rows("SELECT response_id FROM quarantine")]


@pytest.fixture
def server_db(server_settings: ServerSettings) -> ServerDb:
    return ServerDb(server_settings)


# ------------------------------------------------------------------------------ kiosk side


@dataclass
class Kiosk:
    """A real kiosk store on disk, enrolled with the live server."""

    path: Path
    store: Store
    forms: dict[str, Form]
    study: Study
    device_id: str = ""
    prefix: str = "K1"
    made: int = 0
    _slots: Iterator[tuple[str, str, str, str]] | None = field(default=None, repr=False)

    @property
    def service(self) -> SessionService:
        return SessionService(self.store, self.forms, self.study)

    def auth(self) -> DeviceAuth:
        """The kiosk's own token and request signing, for uploads made behind its back."""
        with self.store.unit_of_work() as uow:
            token = uow.keys.get_setting(DEVICE_TOKEN)
            sign = uow.keys.device_key().sign
        assert token is not None
        return DeviceAuth(token, sign)

    def reopen(self) -> None:
        """Simulate a crash/restart: drop the open store and read everything back from disk."""
        self.store.close()
        self.store = open_store(self.path, passphrase=PASSPHRASE)

    def close(self) -> None:
        self.store.close()

    def queue(self, n: int) -> list[str]:
        """Submit ``n`` small responses (VAS forms) through the real session service."""
        service = self.service
        ids = []
        for _ in range(n):
            patient, visit, form_id, respondent = self._next_slot()
            session = service.start(
                patient=patient,
                visit=visit,
                form_id=form_id,
                respondent=respondent,
                language="en",
                actor="nurse",
                out_of_window_reason="test bench",
            )
            for item in session.items():
                if item.type != "display":
                    session.answer(item.link_id, 40 + self.made % 50)
            ids.append(session.submit(actor="nurse").response_id)
            self.made += 1
        return ids

    def _next_slot(self) -> tuple[str, str, str, str]:
        if self._slots is None:
            self._slots = self._all_slots()
        return next(self._slots)

    def _all_slots(self) -> Iterator[tuple[str, str, str, str]]:
        from epro.store.domain import Patient

        visits = [v for v in self.study.visits if v.kiosk]
        birth = date.today().replace(day=1) - timedelta(days=365 * 10)
        for number in range(1, 10_000):
            code = f"{self.prefix}-{number:04d}"
            with self.store.unit_of_work() as uow:
                uow.patients.add(
                    Patient(
                        code=code,
                        birth_ym=f"{birth:%Y-%m}",
                        baseline_date=date.today(),
                        site=SITE,
                    )
                )
                uow.commit()
            for visit in visits:
                for form_id in ("vas_pain", "vas_wellbeing"):
                    if form_id not in visit.forms:
                        continue
                    for respondent in self.study.respondents_for(form_id, 10):
                        yield code, visit.code, form_id, respondent


def build_kiosk(path: Path, server_url: str, code: str, name: str) -> Kiosk:
    """A new kiosk store at ``path``, enrolled with the server at ``server_url``."""
    store = init_store(
        path, passphrase=PASSPHRASE, site=SITE, nurse_name="nurse", nurse_pin="1234", kdf=FAST_KDF
    )
    enrolment = enrol_kiosk(store, server_url=server_url, code=code, label=name)
    return Kiosk(path, store, load_forms(), load_study(), enrolment.device_id, prefix=name.upper())


def open_kiosk(path: Path, device_id: str, name: str) -> Kiosk:
    store = open_store(path, passphrase=PASSPHRASE)
    return Kiosk(path, store, load_forms(), load_study(), device_id, prefix=name.upper())


@pytest.fixture
def make_kiosk(tmp_path: Path) -> Iterator[Callable[[str, ServerDb, str], Kiosk]]:
    kiosks: list[Kiosk] = []

    def make(name: str, db: ServerDb, server_url: str) -> Kiosk:
        kiosk = build_kiosk(tmp_path / f"{name}.db", server_url, db.enrol_code(), name)
        kiosks.append(kiosk)
        return kiosk

    yield make
    for kiosk in kiosks:
        with contextlib.suppress(Exception):
            kiosk.close()


@pytest.fixture
def build_kiosks(tmp_path: Path) -> Iterator[Callable[[ServerDb, str, list[int]], list[Kiosk]]]:
    """Build several kiosks with queued responses in parallel processes; open them here."""
    kiosks: list[Kiosk] = []

    def build(db: ServerDb, server_url: str, counts: list[int]) -> list[Kiosk]:
        procs = []
        for number, n in enumerate(counts, start=1):
            path = tmp_path / f"k{number}.db"
            args = [str(path), server_url, db.enrol_code(), f"k{number}", str(n)]
            procs.append(
                (
                    path,
                    f"k{number}",
                    subprocess.Popen(
                        [sys.executable, "-m", "tests.helpers.build_kiosk", *args],
                        env=_env(),
                        stdout=subprocess.PIPE,
                        text=True,
                    ),
                )
            )
        for path, name, proc in procs:
            out, _ = proc.communicate(timeout=600)
            assert proc.returncode == 0, f"building kiosk {name} failed"
            kiosks.append(open_kiosk(path, out.strip(), name))
        return kiosks

    yield build
    for kiosk in kiosks:
        with contextlib.suppress(Exception):
            kiosk.close()
