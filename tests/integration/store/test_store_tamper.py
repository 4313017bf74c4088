"""Tampered answers: a flipped byte or swapped rows never decrypt unnoticed; verify names them."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from epro.cli import main
from epro.errors import StoreError
from epro.store import OutboxEntry, ResponseMeta, Store, open_store

from .conftest import PASSPHRASE

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def read_blob(path: Path, response_id: str, link_id: str) -> bytes:
    with sqlite3.connect(path) as raw:
        row = raw.execute(
            "SELECT ciphertext FROM answers WHERE response_id = ? AND link_id = ?",
            (response_id, link_id),
        ).fetchone()
    raw.close()
    return bytes(row[0])


def write_blob(path: Path, response_id: str, link_id: str, blob: bytes) -> None:
    with sqlite3.connect(path) as raw:
        raw.execute(
            "UPDATE answers SET ciphertext = ? WHERE response_id = ? AND link_id = ?",
            (blob, response_id, link_id),
        )
    raw.close()


def test_an_untouched_store_passes_verify(store: Store, filled: list[ResponseMeta]) -> None:
    report = store.verify()
    assert (report.ok, report.problems) == (True, [])
    assert (report.responses, report.answers) == (2, 4)
    assert report.summary().startswith("ok: 2 responses, 4 answers, ")


# Positions: inside the nonce, the first ciphertext byte, the middle, the last tag byte.
@pytest.mark.parametrize("position", [0, 11, 12, -17, -1], ids=lambda p: f"byte{p}")
def test_a_flipped_byte_anywhere_in_an_answer_is_named_by_verify(
    store: Store, db_path: Path, filled: list[ResponseMeta], position: int
) -> None:
    meta = filled[0]
    blob = bytearray(read_blob(db_path, meta.id, "chaq_dress_b"))
    blob[position] ^= 0x01
    write_blob(db_path, meta.id, "chaq_dress_b", bytes(blob))
    report = store.verify()
    assert not report.ok
    assert report.problems == [
        f"answer of response {meta.id} item chaq_dress_b does not authenticate"
    ]
    with store.unit_of_work() as uow, pytest.raises(StoreError, match="chaq_dress_b"):
        uow.answers.load(meta)


def test_swapped_answers_within_a_response_are_both_named(
    store: Store, db_path: Path, filled: list[ResponseMeta]
) -> None:
    meta = filled[0]
    a = read_blob(db_path, meta.id, "chaq_dress_a")
    b = read_blob(db_path, meta.id, "chaq_dress_b")
    write_blob(db_path, meta.id, "chaq_dress_a", b)
    write_blob(db_path, meta.id, "chaq_dress_b", a)
    assert store.verify().problems == [
        f"answer of response {meta.id} item chaq_dress_a does not authenticate",
        f"answer of response {meta.id} item chaq_dress_b does not authenticate",
    ]


def test_an_answer_moved_to_another_patients_response_does_not_authenticate(
    store: Store, db_path: Path, filled: list[ResponseMeta]
) -> None:
    first, second = filled
    with sqlite3.connect(db_path) as raw:
        raw.execute(
            "UPDATE answers SET response_id = ?, link_id = 'vas_pain_copy' "
            "WHERE response_id = ? AND link_id = 'chaq_dress_a'",
            (second.id, first.id),
        )
    raw.close()
    report = store.verify()
    assert report.problems == [
        f"answer of response {second.id} item vas_pain_copy does not authenticate"
    ]


def test_a_tampered_device_key_is_named(store: Store, db_path: Path) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE device SET private_key_enc = zeroblob(60)")
    raw.close()
    assert store.verify().problems == [
        f"device key of device {store.device_id} does not authenticate"
    ]


def test_epro_verify_exits_non_zero_naming_the_tampered_answer(
    store: Store,
    db_path: Path,
    filled: list[ResponseMeta],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    meta = filled[1]
    blob = bytearray(read_blob(db_path, meta.id, "vas_pain"))
    blob[20] ^= 0x80
    write_blob(db_path, meta.id, "vas_pain", bytes(blob))
    store.close()
    monkeypatch.setenv("EPRO_PASSPHRASE", PASSPHRASE)
    assert main(["verify", "--db", str(db_path)]) == 1
    assert f"answer of response {meta.id} item vas_pain does not authenticate" in (
        capsys.readouterr().err
    )


def test_a_broken_index_fails_the_sqlite_integrity_check(
    store: Store, db_path: Path, filled: list[ResponseMeta]
) -> None:
    store.close()
    # Redefine an index behind SQLite's back: its entries no longer match the rows.
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA writable_schema = ON")
    raw.execute(
        "UPDATE sqlite_master SET sql = 'CREATE INDEX ix_responses_status ON responses (visit)' "
        "WHERE name = 'ix_responses_status'"
    )
    raw.commit()
    raw.close()
    reopened = open_store(db_path, passphrase=PASSPHRASE)
    try:
        report = reopened.verify()
    finally:
        reopened.close()
    assert not report.ok
    assert report.problems[0].startswith("SQLite integrity check failed: row ")
    assert "ix_responses_status" in report.problems[0]


def test_an_outbox_entry_whose_envelope_was_deleted_is_named(
    store: Store, db_path: Path, filled: list[ResponseMeta]
) -> None:
    with store.unit_of_work() as uow:
        uow.outbox.add(OutboxEntry(filled[1].id, '{"sealed": "made-up"}', "cd" * 32, NOW))
        uow.commit()
    assert store.verify().ok
    with sqlite3.connect(db_path) as raw:
        raw.execute("DELETE FROM envelopes")
    raw.close()
    assert store.verify().problems == [f"outbox entry {filled[1].id} has lost its sealed envelope"]
    with store.unit_of_work() as uow, pytest.raises(StoreError, match="sealed envelope"):
        uow.outbox.get(filled[1].id)
