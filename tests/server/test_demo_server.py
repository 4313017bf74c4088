"""The demo's study server (``epro demo`` starts it beside the kiosk): loopback on a free port,
demo accounts that log in, the demo kiosk enrolled once and re-pointed at each start.

Real demo database (cheap KDF), real server under uvicorn, real HTTP; the tmux test in
tests/e2e drives the whole demo through the kiosk's screens.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, closing
from pathlib import Path

import httpx
import pytest

from epro import demo as kiosk_demo
from epro.crypto import generate_study_keypair
from epro.store import open_store
from epro.sync_client import SyncClient
from epro.sync_client.status import SERVER_URL
from epro_sync import demo

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EPRO_KDF", "fast")
        yield kiosk_demo.make_demo_database(tmp_path_factory.mktemp("demo") / "demo.db")


def start(db: Path) -> tuple[demo.DemoServer, AbstractContextManager[demo.DemoServer]]:
    """What ``epro demo`` does before the kiosk opens: server up, kiosk pointed at it."""
    with open_store(db, passphrase=kiosk_demo.DEMO_PASSPHRASE) as store:
        running = demo.demo_server(db, kiosk_demo.study_public_key_json(store))
        server = running.__enter__()
        kiosk_demo.connect_demo_kiosk(
            store,
            server.url,
            lambda: server.enrol_code(kiosk_demo.DEMO_SITE),
            label=demo.DEMO_LABEL,
            enrol_again=server.fresh,
        )
    return server, running


def devices(db: Path) -> list[tuple[str, str]]:
    server_db = demo.DemoFiles(db).database
    with closing(sqlite3.connect(server_db)) as conn:
        return list(conn.execute("SELECT site, label FROM devices").fetchall())


def log_in(url: str, email: str, code: str | None) -> httpx.Response:
    with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as client:
        form = client.get("/console/login")
        token = CSRF.search(form.text)
        assert token
        reply = client.post(
            "/console/login",
            data={
                "csrf": token.group(1),
                "email": email,
                "password": demo.DEMO_CONSOLE_PASSWORD,
            },
        )
        if code is not None:
            token = CSRF.search(reply.text)
            assert token, reply.text
            reply = client.post("/console/login/totp", data={"csrf": token.group(1), "code": code})
        return client.get("/console/kiosks")


def test_the_demo_server_enrols_the_kiosk_once_and_is_found_again_at_a_new_port(
    demo_db: Path,
) -> None:
    assert kiosk_demo.DEMO_SITE == demo.DEMO_SITE  # the kiosk enrols at the server's site
    first, running = start(demo_db)
    try:
        assert first.fresh
        assert first.url.startswith("http://127.0.0.1:")
        assert devices(demo_db) == [(demo.DEMO_SITE, demo.DEMO_LABEL)]
        # "Sync now": the demo history reaches the server.
        with open_store(demo_db, passphrase=kiosk_demo.DEMO_PASSPHRASE) as store:
            report = SyncClient(store).sync_until_empty(max_attempts=2)
        assert report.error is None
        assert report.remaining == 0
        assert report.acknowledged > 0
    finally:
        running.__exit__(None, None, None)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{first.url}/healthz", timeout=2)  # stopped with the block

    # The next demo: most likely another port; the same kiosk, not enrolled again, its server
    # address updated.
    other, other_running = start(demo_db)
    try:
        assert not other.fresh
        with open_store(demo_db, passphrase=kiosk_demo.DEMO_PASSPHRASE) as store:
            with store.unit_of_work() as uow:
                assert uow.keys.get_setting(SERVER_URL) == other.url
            assert SyncClient(store).sync_until_empty(max_attempts=2).error is None
        assert devices(demo_db) == [(demo.DEMO_SITE, demo.DEMO_LABEL)]
    finally:
        other_running.__exit__(None, None, None)

    # The server database deleted (a fresh start of the server side): the kiosk enrols anew.
    files = demo.DemoFiles(demo_db)
    for leftover in files.database.parent.glob(files.database.name + "*"):
        leftover.unlink()
    renewed, renewed_running = start(demo_db)
    try:
        assert renewed.fresh
        assert devices(demo_db) == [(demo.DEMO_SITE, demo.DEMO_LABEL)]
        with open_store(demo_db, passphrase=kiosk_demo.DEMO_PASSPHRASE) as store:
            assert SyncClient(store).sync_until_empty(max_attempts=2).error is None
    finally:
        renewed_running.__exit__(None, None, None)


def test_two_demo_servers_at_once_take_different_ports(tmp_path: Path) -> None:
    key = generate_study_keypair().public_key().to_json()
    with (
        demo.demo_server(tmp_path / "a.db", key) as one,
        demo.demo_server(tmp_path / "b.db", key) as two,
    ):
        assert one.url != two.url
        assert httpx.get(f"{one.url}/healthz").status_code == 200
        assert httpx.get(f"{two.url}/healthz").status_code == 200


def test_the_demo_accounts_log_in_and_the_lock_screen_names_them(demo_db: Path) -> None:
    server, running = start(demo_db)
    try:
        shown = server.lock_screen_text
        assert server.console_url in shown
        assert f"'{demo.DEMO_CONSOLE_PASSWORD}'" in shown
        assert "coordinator@, datamanager@ or admin@demo.example" in shown
        coordinator = log_in(server.url, "coordinator@demo.example", None)
        assert coordinator.status_code == 200
        assert demo.DEMO_LABEL in coordinator.text
        # The data manager needs the authenticator code: without it, no page.
        refused = log_in(server.url, "datamanager@demo.example", "000000")
        assert demo.DEMO_LABEL not in refused.text
        manager = log_in(server.url, "datamanager@demo.example", demo.demo_totp_now())
        assert manager.status_code == 200
        assert demo.DEMO_LABEL in manager.text
        terminal = server.terminal_text
        for account in demo.DEMO_ACCOUNTS:
            assert account.email in terminal
        assert demo.DEMO_TOTP_SECRET[:4] in terminal.replace(" ", "")
    finally:
        running.__exit__(None, None, None)
