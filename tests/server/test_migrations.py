"""Schema migrations: an older database is upgraded in place with its data intact."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from epro.errors import EproError
from epro_sync.migrations import LATEST, current_version, migrate
from epro_sync.tables import ServerModel

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _version_one_with_a_kiosk_and_a_response(engine: Engine) -> None:
    assert migrate(engine, target=1) == [1]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO devices (device_id, site, label, public_key, token_sha256,"
                " enrolled_at) VALUES ('dev-1', 'UMCU', 'clinic', 'pk', 'tok', :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO responses (response_id, receipt_id, device_id, site, patient,"
                " visit, form_id, form_version, respondent, submitted_at, out_of_window,"
                " sha256, envelope, received_at) VALUES ('r-1', 'rc-1', 'dev-1', 'UMCU',"
                " 'DEMO-001', 'V1', 'chaq', '1.0.0', 'child', :now, false, 'abc', '{}', :now)"
            ),
            {"now": NOW},
        )


def test_version_one_database_upgrades_in_place_with_data_intact(engine: Engine) -> None:
    _version_one_with_a_kiosk_and_a_response(engine)
    assert current_version(engine) == 1
    assert not inspect(engine).has_table("patients")
    assert migrate(engine) == list(range(2, LATEST + 1))
    assert current_version(engine) == LATEST
    with engine.connect() as conn:
        device = conn.execute(text("SELECT site, label, last_seen_at FROM devices")).one()
        response = conn.execute(text("SELECT patient, visit, sha256 FROM responses")).one()
        assert conn.execute(text("SELECT COUNT(*) FROM patients")).scalar() == 0
    assert tuple(device) == ("UMCU", "clinic", None)
    assert tuple(response) == ("DEMO-001", "V1", "abc")


def test_migrating_twice_changes_nothing(engine: Engine) -> None:
    assert migrate(engine) == list(range(1, LATEST + 1))
    assert migrate(engine) == []


def test_migrated_schema_matches_the_table_models(engine: Engine) -> None:
    migrate(engine)
    inspector = inspect(engine)
    for table in ServerModel.metadata.sorted_tables:
        found = {column["name"] for column in inspector.get_columns(table.name)}
        assert found == set(table.columns.keys()), table.name


def test_database_newer_than_the_server_is_refused(engine: Engine) -> None:
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO schema_version (version, name, applied_at) VALUES (:v, 'x', :now)"),
            {"v": LATEST + 1, "now": NOW},
        )
    with pytest.raises(EproError, match="newer than this epro-sync"):
        migrate(engine)


def test_response_id_uniqueness_is_a_database_constraint(engine: Engine) -> None:
    _version_one_with_a_kiosk_and_a_response(engine)
    migrate(engine)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO responses (response_id, receipt_id, device_id, site, patient,"
                " visit, form_id, form_version, respondent, submitted_at, out_of_window,"
                " sha256, envelope, received_at) SELECT response_id, 'rc-2', device_id, site,"
                " patient, visit, form_id, form_version, respondent, submitted_at,"
                " out_of_window, 'other', envelope, received_at FROM responses"
            )
        )


def test_version_three_audit_rows_read_back_without_an_actor(engine: Engine) -> None:
    assert migrate(engine, target=3) == [1, 2, 3]
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO audit (at, event, detail) VALUES (:now, 'revoke', '{}')"),
            {"now": NOW},
        )
    assert migrate(engine) == list(range(4, LATEST + 1))
    with engine.connect() as conn:
        row = conn.execute(text("SELECT event, actor FROM audit")).one()
        assert conn.execute(text("SELECT COUNT(*) FROM console_users")).scalar() == 0
    assert tuple(row) == ("revoke", None)
