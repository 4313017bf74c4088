"""Schema migrations: a database written at v1 (committed fixture) upgrades in place, intact."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.engine import URL

from epro.errors import WrongPassphraseError
from epro.store import AuditKind, ResponseStatus, Store, open_store
from epro.store._time import to_text, to_text_or_none
from epro.store.connection import APPLICATION_ID
from epro.store.migrations import CURRENT_VERSION, MIGRATIONS, apply
from epro.store.tables import StoreModel

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "v1.db"
FIXTURE_PASSPHRASE = "fixture-passphrase"  # see fixtures/make_v1.py
FIRST, SECOND = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"


def header(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as raw:
        version = raw.execute("PRAGMA user_version").fetchone()[0]
        application = raw.execute("PRAGMA application_id").fetchone()[0]
    raw.close()
    return version, application


@pytest.fixture
def v1_copy(tmp_path: Path) -> Path:
    target = tmp_path / "old-kiosk.db"
    shutil.copyfile(FIXTURE, target)
    return target


def test_the_store_tables_live_apart_from_the_servers() -> None:
    import epro_sync.tables as server_tables

    assert StoreModel.metadata is not server_tables.ServerModel.metadata
    assert "responses" in StoreModel.metadata.tables


def test_the_fixture_really_is_schema_version_1() -> None:
    assert header(FIXTURE) == (1, APPLICATION_ID)


def test_migrations_are_numbered_one_by_one_from_1() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, CURRENT_VERSION + 1))
    assert CURRENT_VERSION >= 3  # v3: the outbox index of pending entries


def test_a_v1_database_upgrades_in_place_with_its_data_intact(v1_copy: Path) -> None:
    store = open_store(v1_copy, passphrase=FIXTURE_PASSPHRASE)
    try:
        assert header(v1_copy) == (CURRENT_VERSION, APPLICATION_ID)
        assert (store.site, store.device_id) == ("DEMO", "0f1e2d3c-0000-4000-8000-000000000001")
        with store.unit_of_work() as uow:
            assert [p.code for p in uow.patients.list()] == ["DEMO-001", "DEMO-002"]
            first, second = uow.responses.list()
            assert (first.id, first.status) == (FIRST, ResponseStatus.SUBMITTED)
            assert first.out_of_window_reason is None  # the column v2 added
            assert uow.answers.load(first) == {
                "chaq_dress_a": 1,
                "chaq_dress_b": "na",
                "chaq_devices": ["wheelchair"],
            }
            assert uow.answers.load(second) == {"vas_pain": 37}
            assert uow.outbox.count_pending() == 1
            events = uow.audit.list()
            assert [e.kind for e in events] == [
                AuditKind.STORE_INIT,
                AuditKind.ENROL,
                AuditKind.SUBMIT,
                AuditKind.STORE_INIT,  # its security settings authenticated at the upgrade
            ]
            assert "security settings authenticated at upgrade" in (events[-1].detail or "")
            assert uow.staff.verify_pin("anna", "2468")
            # What v2 brought works on the upgraded file.
            uow.keys.set_setting("server_url", "https://study.example")
            second.out_of_window_reason = "visit moved"
            uow.responses.update(second)
            uow.commit()
        assert store.verify().ok
    finally:
        store.close()
    reopened = open_store(v1_copy, passphrase=FIXTURE_PASSPHRASE)  # a second open: no-op
    try:
        with reopened.unit_of_work() as uow:
            assert uow.keys.get_setting("server_url") == "https://study.example"
    finally:
        reopened.close()


def test_a_wrong_passphrase_leaves_a_v1_database_at_v1(v1_copy: Path) -> None:
    with pytest.raises(WrongPassphraseError):
        open_store(v1_copy, passphrase="not the passphrase")
    assert header(v1_copy) == (1, APPLICATION_ID)


def test_the_migrated_schema_matches_the_table_models(store: Store, db_path: Path) -> None:
    engine = create_engine(URL.create("sqlite", database=str(db_path)))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, StoreModel.metadata)
    finally:
        engine.dispose()
    assert differences == []


def index_definitions(path: Path) -> dict[str, str]:
    """The CREATE INDEX text of every explicit index (SQLite's own autoindexes have none)."""
    with sqlite3.connect(path) as raw:
        rows = raw.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
        definitions = {str(name): str(sql) for name, sql in rows}
    raw.close()
    return definitions


def test_the_models_declare_every_index_exactly_as_the_migrations_create_it(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    # Alembic's comparison above ignores the WHERE of a partial index; the DDL text does not.
    from_models = tmp_path / "from-models.db"
    engine = create_engine(URL.create("sqlite", database=str(from_models)))
    try:
        StoreModel.metadata.create_all(engine)
    finally:
        engine.dispose()
    migrated = index_definitions(db_path)
    assert index_definitions(from_models) == migrated
    assert migrated["ix_outbox_pending"] == (
        "CREATE INDEX ix_outbox_pending ON outbox (created_at, response_id) "
        "WHERE acknowledged_at IS NULL"
    )


def test_the_v1_fixture_upgrades_to_the_same_schema_as_a_new_store(
    store: Store, db_path: Path, v1_copy: Path
) -> None:
    open_store(v1_copy, passphrase=FIXTURE_PASSPHRASE).close()

    def schema(path: Path) -> dict[str, list[tuple[object, ...]]]:
        with sqlite3.connect(path) as raw:
            names = [r[0] for r in raw.execute("SELECT name FROM sqlite_master ORDER BY name")]
            return {
                name: [tuple(row)[1:4] for row in raw.execute(f"PRAGMA table_xinfo('{name}')")]
                for name in names
            }

    assert schema(v1_copy) == schema(db_path)
    assert index_definitions(v1_copy) == index_definitions(db_path)


def test_v4_moves_each_envelope_out_of_the_outbox_and_keeps_every_entry_as_it_was(
    v1_copy: Path,
) -> None:
    """A kiosk at v3 with one entry waiting (after a failed try) and one acknowledged."""
    with contextlib.closing(sqlite3.connect(v1_copy, isolation_level=None)) as raw:
        raw.execute("BEGIN")
        apply(raw, 1, 3)
        raw.execute(
            "UPDATE outbox SET attempts = 2, last_error = 'server unreachable' "
            "WHERE response_id = ?",
            (FIRST,),
        )
        raw.execute(
            'INSERT INTO outbox VALUES (?, \'{"sealed": "second"}\', ?, '
            "'2026-03-02T10:05:00.000000+00:00', 1, NULL, '2026-03-02T10:06:00.000000+00:00', "
            "'2026-03-02T10:07:00.000000+00:00', 'receipt-2')",
            (SECOND, "ab" * 32),
        )
        raw.execute("COMMIT")
        before = {
            row[0]: row
            for row in raw.execute(
                "SELECT response_id, envelope_json, sha256, created_at, attempts, last_error, "
                "sent_at, acknowledged_at, receipt_id FROM outbox"
            )
        }
    assert header(v1_copy)[0] == 3

    store = open_store(v1_copy, passphrase=FIXTURE_PASSPHRASE)
    try:
        with store.unit_of_work() as uow:
            for rid, (
                _,
                envelope,
                sha,
                created,
                attempts,
                error,
                sent,
                acked,
                receipt,
            ) in before.items():
                entry = uow.outbox.get(rid)
                assert entry is not None
                assert (entry.envelope_json, entry.sha256, entry.attempts) == (
                    envelope,
                    sha,
                    attempts,
                )
                assert (entry.last_error, entry.receipt_id) == (error, receipt)
                assert to_text(entry.created_at) == created
                assert to_text_or_none(entry.sent_at) == sent
                assert to_text_or_none(entry.acknowledged_at) == acked
            assert [e.response_id for e in uow.outbox.pending(10)] == [FIRST]
        assert store.verify().ok
    finally:
        store.close()
    with contextlib.closing(sqlite3.connect(v1_copy)) as raw:
        columns = [row[1] for row in raw.execute("PRAGMA table_info(outbox)")]
        assert "envelope_json" not in columns
        assert raw.execute("SELECT count(*) FROM envelopes").fetchone() == (2,)
