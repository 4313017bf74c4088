"""`epro sync`: progress, summary, plain errors and exit codes, in-process and as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from epro.cli import main
from epro.cli.sync_cmd import EXIT_FAILED, EXIT_REVOKED
from epro.store import open_store
from epro.sync_client import sync_status
from epro.sync_client.status import SERVER_URL
from tests.helpers.sync_harness import (
    PASSPHRASE,
    ROOT,
    Kiosk,
    LiveServer,
    ServerDb,
    _env,
    free_port,
)

MakeKiosk = Callable[[str, ServerDb, str], Kiosk]


@pytest.fixture
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPRO_PASSPHRASE", PASSPHRASE)


@pytest.mark.usefixtures("passphrase")
def test_epro_sync_uploads_and_prints_a_summary(
    live_server: LiveServer,
    server_db: ServerDb,
    make_kiosk: MakeKiosk,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kiosk = make_kiosk("k1", server_db, live_server.url)
    ids = kiosk.queue(3)
    kiosk.close()

    code = main(["sync", "--db", str(kiosk.path)])

    out = capsys.readouterr().out
    assert code == 0
    assert "3 acknowledged" in out
    assert "0 still queued" in out
    assert sorted(server_db.response_ids()) == sorted(ids)


@pytest.mark.usefixtures("passphrase")
def test_epro_sync_against_an_unreachable_server_keeps_everything_and_exits_1(
    live_server: LiveServer,
    server_db: ServerDb,
    make_kiosk: MakeKiosk,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kiosk = make_kiosk("k1", server_db, live_server.url)
    kiosk.queue(2)
    with kiosk.store.unit_of_work() as uow:  # the server "moves" to a dead port
        uow.keys.set_setting(SERVER_URL, f"http://127.0.0.1:{free_port()}")
        uow.commit()
    kiosk.close()

    code = main(["sync", "--db", str(kiosk.path), "--attempts", "2"])

    err = capsys.readouterr().err
    assert code == EXIT_FAILED
    assert "cannot be reached" in err
    assert "nothing was lost" in err
    assert "Traceback" not in err


@pytest.mark.usefixtures("passphrase")
def test_epro_sync_on_a_revoked_kiosk_exits_4_with_the_servers_words(
    live_server: LiveServer,
    server_db: ServerDb,
    make_kiosk: MakeKiosk,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kiosk = make_kiosk("k1", server_db, live_server.url)
    kiosk.queue(1)
    kiosk.close()
    server_db.revoke(kiosk.device_id)

    code = main(["sync", "--db", str(kiosk.path)])

    captured = capsys.readouterr()
    assert code == EXIT_REVOKED
    assert "revoked by the data manager" in captured.err
    assert "1 still queued" in captured.out


@pytest.mark.usefixtures("passphrase")
def test_epro_sync_names_a_missing_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["sync", "--db", str(tmp_path / "nowhere.db")])
    err = capsys.readouterr().err
    assert code == 1
    assert "no kiosk database at" in err
    assert "--db PATH" in err


def test_epro_sync_runs_as_a_real_process(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    kiosk = make_kiosk("k1", server_db, live_server.url)
    ids = kiosk.queue(2)
    kiosk.close()
    env = _env() | {"EPRO_PASSPHRASE": PASSPHRASE}
    done = subprocess.run(
        [sys.executable, "-m", "epro.cli", "sync", "--db", str(kiosk.path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "2 acknowledged" in done.stdout
    assert sorted(server_db.response_ids()) == sorted(ids)
    assert os.path.exists(kiosk.path)


def test_epro_init_with_server_and_code_enrols_the_new_kiosk(
    tmp_path: Path, live_server: LiveServer, server_db: ServerDb
) -> None:
    db = tmp_path / "kiosk.db"
    env = {**_env(), "EPRO_PASSPHRASE": PASSPHRASE, "EPRO_NURSE_PIN": "2468", "EPRO_KDF": "fast"}
    argv = ["init", "--db", str(db), "--site", "SITE-A", "--server", live_server.url]
    done = subprocess.run(
        [sys.executable, "-m", "epro.cli", *argv, "--code", server_db.enrol_code()],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"enrolled with {live_server.url}" in done.stdout
    store = open_store(db, passphrase=PASSPHRASE)
    try:
        assert sync_status(store).enrolled
        with store.unit_of_work() as uow:
            assert uow.keys.study_public_key() is not None
    finally:
        store.close()


def test_epro_init_with_a_refused_code_says_so_and_leaves_no_half_made_database(
    tmp_path: Path,
    live_server: LiveServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EPRO_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("EPRO_NURSE_PIN", "2468")
    monkeypatch.setenv("EPRO_KDF", "fast")
    db = tmp_path / "kiosk.db"
    argv = ["init", "--db", str(db), "--site", "SITE-A", "--server", live_server.url]

    code = main([*argv, "--code", "NOT-A-CODE"])

    err = capsys.readouterr().err
    assert code != 0
    assert "enrolment code" in err
    assert "run epro init again" in err
    assert not db.exists()
    assert main([*argv]) != 0  # --server without --code is refused before anything is made
    assert "go together" in capsys.readouterr().err
    assert not db.exists()
