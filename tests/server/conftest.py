"""Server fixtures: a real study server on 127.0.0.1 over SQLite (tmp file) and PostgreSQL.

PostgreSQL comes from ``EPRO_TEST_POSTGRES_URL`` (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); every test gets its own fresh schema,
dropped afterwards, so parallel and repeated runs never see each other's rows.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from epro_sync.config import ServerSettings
from epro_sync.db import make_engine
from epro_sync.testing import RunningServer, ScriptedKiosk, running_server

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_ENV = "EPRO_TEST_POSTGRES_URL"


def _postgres_schema_url(base: str) -> Iterator[str]:
    schema = f"epro_sync_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: SQLite file in tmp_path, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.sqlite3'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV}=postgresql+psycopg://user@host/db")
    yield from _postgres_schema_url(base)


@pytest.fixture
def study_public_key_file(tmp_path: Path) -> Path:
    """A study public key file of the shape `epro keys study-keypair` writes (opaque here)."""
    path = tmp_path / "study_public_key.json"
    key = base64.b64encode(os.urandom(32)).decode("ascii")
    path.write_text(json.dumps({"suite": "x25519", "public_key": key}), encoding="utf-8")
    return path


@pytest.fixture
def settings(database_url: str, study_public_key_file: Path) -> ServerSettings:
    return ServerSettings(
        database_url=database_url,
        study_public_key_file=study_public_key_file,
        study_file=ROOT / "forms" / "study.toml",
        batch_max=20,
        signing_key_file=study_public_key_file.with_name("signing-key.pem"),
    )


@pytest.fixture
def engine(settings: ServerSettings) -> Iterator[Engine]:
    """A second connection to the server's database, to check what really was stored."""
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def server(settings: ServerSettings) -> Iterator[RunningServer]:
    """The real app under uvicorn on 127.0.0.1, with an HTTP client pointed at it."""
    with running_server(settings) as live:
        yield live


@pytest.fixture
def new_kiosk(server: RunningServer) -> Callable[..., ScriptedKiosk]:
    """Enrol a kiosk at a site over HTTP; each call is a new kiosk with its own key."""

    def make(site: str = "UMCU", label: str = "outpatient clinic") -> ScriptedKiosk:
        kiosk = ScriptedKiosk(server.client)
        reply = kiosk.enrol(server.code(site), label)
        assert reply.status_code == 200, reply.text
        return kiosk

    return make
