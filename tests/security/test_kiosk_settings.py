"""Attacks on what the kiosk trusts (the hardening review's finding 1).

Once, the study public key and the server address sat in clear rows of the kiosk file:
swapping the key made the next Submit seal to an attacker's key (and `epro verify` said ok),
and pointing the address at a fake server handed it the device token, whose "stored"
replies made the kiosk purge answers the real server never had. Each test below performs
one such attack on a real kiosk file, against the real server on 127.0.0.1 where one is
involved (SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from epro.cli import main as epro_main
from epro.crypto import (
    FAST_KDF,
    KdfParams,
    derive_kek,
    generate_study_keypair,
    unwrap_key,
    wrap_key,
)
from epro.errors import StoreError
from epro.forms import load_forms
from epro.schedule import load_study
from epro.store import Store, init_store, open_store
from epro.store.domain import ResponseStatus
from epro.store.store import data_key_context, sealed_key_context
from epro.store.trust import TrustError
from epro.sync_client import SyncClient, SyncFailure, enrol_kiosk, sync_status
from epro.sync_client.pinning import ServerAddressError
from epro_sync.config import ServerSettings
from epro_sync.testing import make_enrol_code
from tests.helpers.fake_server import FakeServer
from tests.helpers.sync_harness import PASSPHRASE, SITE, Kiosk, LiveServer, ServerDb, free_port

MakeKiosk = Callable[[str, ServerDb, str], Kiosk]


def _tamper(path: Path, sql: str, *params: object) -> None:
    """What an attacker with write access to the kiosk file (and no passphrase) can do."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(sql, params)
        conn.commit()


def _epro_verify(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.setenv("EPRO_PASSPHRASE", PASSPHRASE)
    code = epro_main(["verify", "--db", str(path)])
    return code, capsys.readouterr().err


def _answers_held(kiosk: Kiosk, ids: list[str]) -> int:
    """How many of ``ids`` still have their answers on the kiosk (not purged)."""
    with kiosk.store.unit_of_work() as uow:
        return sum(
            1 for rid in ids if (meta := uow.responses.get(rid)) is not None and not meta.purged
        )


def _as_older_release(path: Path) -> None:
    """Rewrite a closed kiosk file as the release before settings were authenticated wrote it:
    data key wrapped under the old context, no MACs, no pinned server key."""
    with closing(sqlite3.connect(path)) as conn:
        salt, params, wrapped, version = conn.execute(
            "SELECT kdf_salt, kdf_params, wrapped_key, key_version FROM meta"
        ).fetchone()
        (device_id,) = conn.execute("SELECT id FROM device").fetchone()
        kek = derive_kek(PASSPHRASE, salt, KdfParams.from_dict(json.loads(params)))
        data_key = unwrap_key(kek, wrapped, context=sealed_key_context(device_id, version))
        old = wrap_key(kek, data_key, context=data_key_context(device_id, version))
        conn.execute("UPDATE meta SET wrapped_key = ?", (old,))
        conn.execute("DELETE FROM settings WHERE name IN ('security_macs', 'server_public_key')")
        conn.commit()


def _local_kiosk(path: Path) -> Kiosk:
    """A kiosk made with --study-key (no server): it seals, it does not sync."""
    store = init_store(
        path,
        passphrase=PASSPHRASE,
        site=SITE,
        nurse_name="nurse",
        nurse_pin="1234",
        kdf=FAST_KDF,
        study_public_key=generate_study_keypair().public_key(),
    )
    return Kiosk(path, store, load_forms(), load_study(), store.device_id, prefix="LOCAL")


def test_a_swapped_study_key_is_refused_at_submit_and_reported_by_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What: the study public key row, which decides what every answer is sealed to.
    How: with the kiosk closed, write the attacker's own public key into the `device` row of
    the kiosk file with sqlite3, reopen, and answer and Submit a questionnaire.
    Expected: Submit refuses, naming the study public key and what to do (restore, re-enrol);
    nothing is sealed or queued and the draft is kept; `epro verify` exits 1 naming it."""
    kiosk = _local_kiosk(tmp_path / "k.db")
    kiosk.queue(1)  # a first response seals normally
    kiosk.close()
    attacker = generate_study_keypair().public_key().to_json()
    _tamper(kiosk.path, "UPDATE device SET study_public_key = ?", attacker)
    kiosk.store = open_store(kiosk.path, passphrase=PASSPHRASE)
    try:
        with pytest.raises(TrustError, match="study public key") as refused:
            kiosk.queue(1)
        assert "re-enrol" in str(refused.value)
        assert "backup" in str(refused.value)
        with kiosk.store.unit_of_work() as uow:
            assert uow.outbox.count_pending() == 1  # only the response before the swap
            drafts = uow.responses.list(statuses=[ResponseStatus.IN_PROGRESS])
            assert len(drafts) == 1
            assert uow.answers.load(drafts[0])
    finally:
        kiosk.close()
    code, err = _epro_verify(kiosk.path, monkeypatch, capsys)
    assert code == 1
    assert "security setting study_public_key" in err
    assert "re-enrol" in err


def test_stripping_the_macs_does_not_pass_the_file_off_as_an_older_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What: the upgrade step that gives an older file's settings their MACs at first unlock.
    How: swap the study key and delete the `security_macs` row, so the file looks as if it
    came from before settings were authenticated (and would be sealed as it stands).
    Expected: the data key is wrapped under the sealed context, so the file is not taken as
    an older one: Submit refuses and `epro verify` names every security setting."""
    kiosk = _local_kiosk(tmp_path / "k.db")
    kiosk.close()
    attacker = generate_study_keypair().public_key().to_json()
    _tamper(kiosk.path, "UPDATE device SET study_public_key = ?", attacker)
    _tamper(kiosk.path, "DELETE FROM settings WHERE name = 'security_macs'")
    kiosk.store = open_store(kiosk.path, passphrase=PASSPHRASE)
    try:
        with pytest.raises(TrustError):
            kiosk.queue(1)
    finally:
        kiosk.close()
    code, err = _epro_verify(kiosk.path, monkeypatch, capsys)
    assert code == 1
    for name in ("device_id", "site", "study_public_key", "server_url", "device_token"):
        assert f"security setting {name} " in err


def test_a_redirected_server_address_is_caught_before_any_request(
    live_server: LiveServer,
    server_db: ServerDb,
    make_kiosk: MakeKiosk,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What: the server address row, which decides where the device token and uploads go.
    How: enrol a kiosk, queue responses, then point its `server_url` row at a fake server
    on 127.0.0.1 and sync.
    Expected: the sync stops before any request — the fake server receives nothing, so no
    token leaves — and says the address does not authenticate; nothing is purged; the
    station shows the message; `epro verify` names the setting."""
    kiosk = make_kiosk("k1", server_db, live_server.url)
    ids = kiosk.queue(3)
    kiosk.close()
    with FakeServer(site=SITE) as fake:
        _tamper(kiosk.path, "UPDATE settings SET value = ? WHERE name = 'server_url'", fake.url)
        kiosk.reopen()
        report = SyncClient(kiosk.store).sync_once()
        assert fake.requests == []
        assert fake.tokens_seen() == []
    assert report.error is not None
    assert not report.error.retryable
    assert "study server address does not authenticate" in str(report.error)
    assert _answers_held(kiosk, ids) == 3
    assert "study server address" in (sync_status(kiosk.store).last_error or "")
    assert server_db.response_ids() == []
    kiosk.close()
    code, err = _epro_verify(kiosk.path, monkeypatch, capsys)
    assert code == 1
    assert "security setting server_url" in err


@pytest.mark.parametrize("signed", [True, False], ids=["own-key", "unsigned"])
def test_a_fake_server_answering_stored_makes_the_kiosk_purge_nothing(
    signed: bool,
    live_server: LiveServer,
    server_db: ServerDb,
    make_kiosk: MakeKiosk,
) -> None:
    """What: the receipts that make a kiosk purge its copy of a response.
    How: enrol a kiosk with the real server and queue responses; stop the real server and
    start, on its very address, a fake server (real HTTP) that answers every upload with
    `stored` receipts — signed with its own Ed25519 key, or not signed — then sync.
    Expected: the fake server gets the upload, but nothing is marked sent and nothing is
    purged; the sync fails plainly (not signed with the pinned key / not signed) and the
    station shows it. Once the real server is back, a sync stores and purges everything."""
    kiosk = make_kiosk("k1", server_db, live_server.url)
    ids = kiosk.queue(4)
    live_server.stop()
    with FakeServer(live_server.port, site=SITE, signed=signed) as fake:
        report = SyncClient(kiosk.store).sync_once()
        assert any(path == "/v1/responses:batch" for _m, path, _h in fake.requests)
    assert report.error is not None
    assert report.acknowledged == 0
    expected = "not signed with the key this kiosk pinned" if signed else "is not signed"
    assert expected in str(report.error)
    assert "nothing was deleted" in str(report.error)
    assert _answers_held(kiosk, ids) == 4
    status = sync_status(kiosk.store)
    assert status.queue == 4
    assert expected in (status.last_error or "")
    live_server.start()
    again = SyncClient(kiosk.store).sync_once()
    assert again.error is None
    assert again.acknowledged == 4
    assert sorted(server_db.response_ids()) == sorted(ids)
    assert _answers_held(kiosk, ids) == 0


def test_an_enrolment_whose_keys_do_not_match_the_out_of_band_fingerprint_is_refused(
    live_server: LiveServer, server_db: ServerDb, tmp_path: Path
) -> None:
    """What: the study key (and server key) a kiosk takes at enrolment.
    How: the server hands out a study key other than the one the data manager's values name:
    (1) the enrolment code carries the fingerprint of another study key; (2) the code is
    right but the kiosk's study file names another `study_key_fingerprint`; (3) a bare code
    with no fingerprint at all, and a study file naming none.
    Expected: each enrolment is refused with a plain message and nothing is saved (the kiosk
    holds no study key, address or token); (3) is refused before any request: a key is never
    taken on first use. A new kiosk with the whole, right code enrols."""
    other_key = tmp_path / "other-study-key.json"
    other_key.write_text(generate_study_keypair().public_key().to_json())
    other = ServerSettings(
        database_url=live_server.settings.database_url,
        study_public_key_file=other_key,
        signing_key_file=live_server.settings.signing_key_path(),
    )
    study_file = tmp_path / "study.toml"
    shipped = Path(load_study().source).read_text()
    study_file.write_text(
        shipped.replace("[study]\n", '[study]\nstudy_key_fingerprint = "' + "ab" * 32 + '"\n', 1)
    )
    wrong = load_study(study_file).study_key_fingerprint
    assert wrong == "ab" * 32
    attempts: list[tuple[str, str, str | None]] = [
        ("do not match the fingerprint in the enrolment code", make_enrol_code(other, SITE), None),
        ("not the one the study file names", server_db.enrol_code(), wrong),
        ("carries no key fingerprint", server_db.enrol_code().partition("+")[0], None),
    ]
    for number, (message, code, study_fingerprint) in enumerate(attempts):
        store = _new_store(tmp_path / f"refused-{number}.db")
        try:
            with pytest.raises(SyncFailure, match=message):
                enrol_kiosk(
                    store,
                    server_url=live_server.url,
                    code=code,
                    label="k",
                    study_key_fingerprint=study_fingerprint,
                )
            with store.unit_of_work() as uow:
                assert uow.keys.study_public_key() is None
                assert not uow.keys.has_setting("device_token")
                assert uow.keys.get_setting("server_url") is None
                assert uow.keys.get_setting("server_public_key") is None
        finally:
            store.close()
    store = _new_store(tmp_path / "right.db")
    try:
        enrolled = enrol_kiosk(
            store, server_url=live_server.url, code=server_db.enrol_code(), label="k"
        )
        assert enrolled.device_id == store.device_id
        assert store.verify().ok
    finally:
        store.close()


def _new_store(path: Path) -> Store:
    return init_store(
        path, passphrase=PASSPHRASE, site=SITE, nurse_name="nurse", nurse_pin="1234", kdf=FAST_KDF
    )


def test_plain_http_to_another_machine_is_refused(tmp_path: Path, live_server: LiveServer) -> None:
    """What: the transport of the device token and of every upload.
    How: (1) enrol with an `http://` address of another machine; (2) a kiosk enrolled before
    this rule, over plain http to another machine (an older file), syncs after the upgrade.
    Expected: (1) refused at once, before any connection, saying https is needed (plain
    http only to 127.0.0.1, ::1, localhost); (2) the sync stops before any request with the
    same reason, and every response stays queued."""
    store = init_store(
        tmp_path / "k.db",
        passphrase=PASSPHRASE,
        site=SITE,
        nurse_name="nurse",
        nurse_pin="1234",
        kdf=FAST_KDF,
    )
    try:
        with pytest.raises(ServerAddressError, match="must start with https://"):
            enrol_kiosk(store, server_url="http://192.0.2.10:8750", code="X+" + "0" * 32, label="k")
    finally:
        store.close()
    db = ServerDb(live_server.settings)
    kiosk = Kiosk(
        tmp_path / "old.db",
        init_store(
            tmp_path / "old.db",
            passphrase=PASSPHRASE,
            site=SITE,
            nurse_name="nurse",
            nurse_pin="1234",
            kdf=FAST_KDF,
        ),
        load_forms(),
        load_study(),
    )
    enrol_kiosk(kiosk.store, server_url=live_server.url, code=db.enrol_code(), label="old")
    ids = kiosk.queue(2)
    kiosk.close()
    _as_older_release(kiosk.path)
    _tamper(
        kiosk.path,
        "UPDATE settings SET value = ? WHERE name = 'server_url'",
        f"http://198.51.100.7:{free_port()}",
    )
    kiosk.reopen()  # the upgrade: the (plain http) address gets its MAC
    try:
        report = SyncClient(kiosk.store).sync_once()
        assert report.error is not None
        assert "must start with https://" in str(report.error)
        assert _answers_held(kiosk, ids) == 2
        assert db.response_ids() == []
    finally:
        kiosk.close()


def test_an_older_kiosk_file_gets_its_macs_at_first_unlock_and_pins_the_server_key(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    """What: the upgrade of a kiosk file made before settings were authenticated.
    How: enrol a kiosk and queue responses, rewrite its file as the older release wrote it
    (old key wrap, no MACs, no pinned server key), unlock it and sync; then swap the study key.
    Expected: the first unlock gives every setting its MAC (audited) and old data reads as
    before (`verify` ok); the first sync pins the server key and stores and purges everything;
    a later swap of the study key is refused like on any new kiosk."""
    kiosk = make_kiosk("k1", server_db, live_server.url)
    ids = kiosk.queue(3)
    kiosk.close()
    _as_older_release(kiosk.path)
    kiosk.reopen()
    assert kiosk.store.verify().ok
    with kiosk.store.unit_of_work() as uow:
        assert uow.keys.get_setting("server_url") == live_server.url
        assert uow.keys.get_setting("server_public_key") is None
        assert any("authenticated at upgrade" in (e.detail or "") for e in uow.audit.list())
    report = SyncClient(kiosk.store).sync_once()
    assert report.error is None
    assert report.acknowledged == 3
    assert sorted(server_db.response_ids()) == sorted(ids)
    with kiosk.store.unit_of_work() as uow:
        pinned = uow.keys.get_setting("server_public_key")
    assert pinned is not None
    assert pinned in server_db.cli("signing-key")
    kiosk.close()
    attacker = generate_study_keypair().public_key().to_json()
    _tamper(kiosk.path, "UPDATE device SET study_public_key = ?", attacker)
    kiosk.reopen()
    try:
        with pytest.raises(StoreError, match="study public key"):
            kiosk.queue(1)
    finally:
        kiosk.close()
