"""Enrolment with a one-time code, and a roster that disagrees between kiosks (DESIGN.md §7)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from epro.cli.progress import ProgressBar
from epro.crypto import FAST_KDF
from epro.store import Store, init_store
from epro.store.domain import Patient
from epro.sync_client import SyncClient, SyncFailure, enrol_kiosk
from epro.sync_client.status import DEVICE_TOKEN, SERVER_DEVICE_ID, SERVER_URL
from tests.helpers.sync_harness import PASSPHRASE, SITE, Kiosk, LiveServer, ServerDb, free_port

MakeKiosk = Callable[[str, ServerDb, str], Kiosk]


def new_store(path: Path, site: str = SITE) -> Store:
    return init_store(
        path, passphrase=PASSPHRASE, site=site, nurse_name="nurse", nurse_pin="1234", kdf=FAST_KDF
    )


def test_enrolment_keeps_identity_token_and_study_key(
    live_server: LiveServer, server_db: ServerDb, tmp_path: Path
) -> None:
    store = new_store(tmp_path / "k.db")
    try:
        enrolment = enrol_kiosk(
            store, server_url=live_server.url, code=server_db.enrol_code(), label="clinic 2"
        )
        with store.unit_of_work() as uow:
            assert uow.keys.get_setting(SERVER_DEVICE_ID) == enrolment.device_id
            assert uow.keys.get_setting(SERVER_URL) == live_server.url
            token = uow.keys.get_setting(DEVICE_TOKEN)
            key = uow.keys.study_public_key()
        assert token
        assert key is not None
        assert key.fingerprint() == enrolment.study_key_fingerprint
        assert enrolment.site == SITE
    finally:
        store.close()
    # The token is a secret setting: never in the database files in clear.
    for path in tmp_path.glob("k.db*"):
        assert token.encode() not in path.read_bytes()


def test_a_code_used_twice_is_refused_with_what_to_do(
    live_server: LiveServer, server_db: ServerDb, tmp_path: Path
) -> None:
    code = server_db.enrol_code()
    first, second = new_store(tmp_path / "a.db"), new_store(tmp_path / "b.db")
    try:
        enrol_kiosk(first, server_url=live_server.url, code=code, label="a")
        with pytest.raises(SyncFailure, match="already been used") as caught:
            enrol_kiosk(second, server_url=live_server.url, code=code, label="b")
        assert "Ask the data manager for a new code" in str(caught.value)
        with second.unit_of_work() as uow:
            assert uow.keys.get_setting(DEVICE_TOKEN) is None  # nothing half-saved
    finally:
        first.close()
        second.close()


def test_a_code_for_another_site_is_refused(
    live_server: LiveServer, server_db: ServerDb, tmp_path: Path
) -> None:
    store = new_store(tmp_path / "k.db", site="SITE-B")
    try:
        with pytest.raises(SyncFailure, match="set up for site SITE-B"):
            enrol_kiosk(store, server_url=live_server.url, code=server_db.enrol_code(), label="b")
    finally:
        store.close()


def test_enrolling_against_no_server_says_it_cannot_be_reached(tmp_path: Path) -> None:
    store = new_store(tmp_path / "k.db")
    try:
        with pytest.raises(SyncFailure, match="cannot be reached"):
            enrol_kiosk(store, server_url=f"http://127.0.0.1:{free_port()}", code="ABCD", label="x")
    finally:
        store.close()


def test_a_roster_disagreement_is_reported_but_responses_still_go(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    one = make_kiosk("k1", server_db, live_server.url)
    two = make_kiosk("k2", server_db, live_server.url)
    one.queue(1)
    assert SyncClient(one.store).sync_once().error is None
    with two.store.unit_of_work() as uow:  # same code, different birth month
        uow.patients.add(Patient("K1-0001", "2012-01", date(2026, 1, 5), SITE))
        uow.commit()
    ids = two.queue(2)

    report = SyncClient(two.store).sync_once()

    assert report.acknowledged == 2
    assert set(ids) <= set(server_db.response_ids())
    assert report.error is not None
    assert "roster disagrees" in str(report.error)


def test_the_progress_bar_draws_in_place_and_ends_the_line() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, enabled=True)
    bar(0, 4)
    bar(2, 4)
    bar(4, 4)
    bar.close()
    text = out.getvalue()
    assert text.count("\r") == 3
    assert "2/4" in text
    assert text.endswith("4/4\n")


def test_the_progress_bar_is_silent_when_disabled() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, enabled=False)
    bar(1, 2)
    bar.close()
    assert out.getvalue() == ""
