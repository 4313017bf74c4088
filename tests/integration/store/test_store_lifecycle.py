"""Creating, opening and unlocking the store: clear refusals, and nothing changed by them."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from epro.crypto import FAST_KDF
from epro.errors import StoreError, WrongPassphraseError
from epro.store import ResponseMeta, Store, init_store, open_store
from epro.store.migrations import CURRENT_VERSION

from .conftest import NURSE, NURSE_PIN, PASSPHRASE


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def new_store(path: Path, **changes: str) -> Store:
    arguments = {
        "passphrase": PASSPHRASE,
        "site": "DEMO",
        "nurse_name": NURSE,
        "nurse_pin": NURSE_PIN,
    } | changes
    return init_store(
        path,
        passphrase=arguments["passphrase"],
        site=arguments["site"],
        nurse_name=arguments["nurse_name"],
        nurse_pin=arguments["nurse_pin"],
        kdf=FAST_KDF,
    )


def test_a_reopened_store_has_the_same_device_site_and_answers(
    store: Store, db_path: Path, filled: list[ResponseMeta]
) -> None:
    store.close()
    reopened = open_store(db_path, passphrase=PASSPHRASE)
    try:
        assert (reopened.device_id, reopened.site) == (store.device_id, "DEMO")
        with reopened.unit_of_work() as uow:
            assert uow.answers.load(filled[1]) == {"vas_pain": 42}
    finally:
        reopened.close()


def test_init_records_store_init_as_the_first_audit_event(store: Store) -> None:
    with store.unit_of_work() as uow:
        first = uow.audit.list()[0]
        assert (first.seq, first.kind.value, first.actor) == (1, "store_init", NURSE)
        assert [member.name for member in uow.staff.list()] == [NURSE]


def test_init_refuses_to_overwrite_an_existing_file(store: Store, db_path: Path) -> None:
    store.close()
    before = digest(db_path)
    with pytest.raises(StoreError, match="already exists"):
        new_store(db_path)
    assert digest(db_path) == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"passphrase": "short"}, "at least 8 characters"),
        ({"nurse_pin": "123"}, "at least 4 digits"),
        ({"nurse_pin": "12a4"}, "at least 4 digits"),
        ({"site": " "}, "site is missing"),
        ({"nurse_name": ""}, "needs a name"),
    ],
    ids=["short-passphrase", "short-pin", "pin-with-letter", "no-site", "no-nurse"],
)
def test_init_refuses_weak_or_missing_secrets_and_creates_no_file(
    tmp_path: Path, changes: dict[str, str], message: str
) -> None:
    path = tmp_path / "new.db"
    with pytest.raises(StoreError, match=message):
        new_store(path, **changes)
    assert not path.exists()


def test_init_into_a_missing_folder_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        new_store(tmp_path / "nowhere" / "kiosk.db")


def test_a_wrong_passphrase_is_a_clear_error_and_changes_no_byte(
    store: Store, db_path: Path, filled: list[ResponseMeta]
) -> None:
    store.close()
    before = digest(db_path)
    with pytest.raises(WrongPassphraseError, match="passphrase is not right"):
        open_store(db_path, passphrase="not the passphrase")
    assert digest(db_path) == before
    assert not Path(f"{db_path}-wal").exists()


def test_open_refuses_a_missing_file_and_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="epro init"):
        open_store(tmp_path / "absent.db", passphrase=PASSPHRASE)
    assert not (tmp_path / "absent.db").exists()


def test_open_refuses_a_text_file_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("shopping list: milk, bread\n" * 50)
    before = digest(path)
    with pytest.raises(StoreError, match=r"notes\.db is not an epro"):
        open_store(path, passphrase=PASSPHRASE)
    assert digest(path) == before


def test_open_refuses_a_foreign_sqlite_database_and_leaves_it_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as foreign:
        foreign.execute("CREATE TABLE things (x)")
    foreign.close()
    before = digest(path)
    with pytest.raises(StoreError, match="not an epro kiosk database"):
        open_store(path, passphrase=PASSPHRASE)
    assert digest(path) == before
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    check.close()


def test_open_refuses_a_database_from_a_newer_epro(store: Store, db_path: Path) -> None:
    store.close()
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {CURRENT_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="newer epro"):
        open_store(db_path, passphrase=PASSPHRASE)


def test_open_of_a_damaged_file_names_the_file_and_what_to_do(
    store: Store, db_path: Path, filled: list[ResponseMeta]
) -> None:
    store.close()
    data = bytearray(db_path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    # Garble every page after the first: the header still says "SQLite", the rest is noise.
    for offset in range(page_size, len(data)):
        data[offset] = (offset * 7919) % 251
    db_path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"kiosk\.db") as raised:
        open_store(db_path, passphrase=PASSPHRASE)
    assert "damaged" in str(raised.value) or "not an epro" in str(raised.value)


def test_change_passphrase_rewraps_the_key_only(
    store: Store, db_path: Path, filled: list[ResponseMeta]
) -> None:
    def answer_blobs() -> list[bytes]:
        with sqlite3.connect(db_path) as raw:
            rows = raw.execute("SELECT ciphertext FROM answers ORDER BY response_id, link_id")
            return [row[0] for row in rows]

    before = answer_blobs()
    store.change_passphrase(PASSPHRASE, "a brand new passphrase")
    assert answer_blobs() == before  # no answer was re-encrypted
    store.close()
    with pytest.raises(WrongPassphraseError):
        open_store(db_path, passphrase=PASSPHRASE)
    reopened = open_store(db_path, passphrase="a brand new passphrase")
    try:
        with reopened.unit_of_work() as uow:
            assert uow.answers.load(filled[0])["chaq_dress_a"] == 1
            assert uow.audit.list()[-1].kind.value == "passphrase_changed"
        assert reopened.verify().ok
    finally:
        reopened.close()


def test_change_passphrase_with_the_wrong_old_one_changes_nothing(
    store: Store, db_path: Path
) -> None:
    with pytest.raises(WrongPassphraseError):
        store.change_passphrase("not the passphrase", "another passphrase")
    store.close()
    open_store(db_path, passphrase=PASSPHRASE).close()


def test_change_passphrase_refuses_a_short_new_one(store: Store) -> None:
    with pytest.raises(StoreError, match="too short"):
        store.change_passphrase(PASSPHRASE, "short")


def test_the_passphrase_unlocks_whichever_unicode_form_it_is_typed_in(tmp_path: Path) -> None:
    composed, decomposed = "cr\u00e8me br\u00fbl\u00e9e", "cre\u0300me bru\u0302le\u0301e"
    path = tmp_path / "kiosk.db"
    new_store(path, passphrase=composed).close()
    open_store(path, passphrase=decomposed).close()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes only")
def test_a_new_database_is_readable_by_its_owner_only(store: Store, db_path: Path) -> None:
    assert stat.S_IMODE(db_path.stat().st_mode) & 0o077 == 0
