"""A misconfigured server refuses to start with a plain message naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from epro.crypto import Suite, generate_study_keypair
from epro.errors import EproError
from epro_sync.app import create_app
from epro_sync.config import ServerSettings, default_database_url, default_study_file


def _settings(tmp_path: Path, **changes: object) -> ServerSettings:
    base = ServerSettings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    return base.model_copy(update=changes)


def test_missing_study_public_key_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(EproError, match="EPRO_SYNC_STUDY_PUBLIC_KEY_FILE"):
        create_app(_settings(tmp_path))


def test_study_public_key_that_is_not_json_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text("-----BEGIN PUBLIC KEY-----", encoding="utf-8")
    with pytest.raises(EproError, match="is not a study public key"):
        create_app(_settings(tmp_path, study_public_key_file=key))


def test_study_public_key_with_an_unknown_suite_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text('{"suite": "rsa", "public_key": "AAAA"}', encoding="utf-8")
    with pytest.raises(EproError, match="unknown suite 'rsa'"):
        create_app(_settings(tmp_path, study_public_key_file=key))


def test_missing_study_file_is_refused(tmp_path: Path, study_public_key_file: Path) -> None:
    settings = _settings(
        tmp_path, study_public_key_file=study_public_key_file, study_file=tmp_path / "nope.toml"
    )
    with pytest.raises(EproError, match=r"nope\.toml"):
        create_app(settings)


def test_defaults_point_at_the_shipped_study_and_a_user_data_file() -> None:
    assert default_study_file().parts[-2:] == ("forms", "study.toml")
    assert default_study_file().exists()
    assert default_database_url().startswith("sqlite:///")
    assert default_database_url().endswith("epro-sync.sqlite3")


def test_settings_come_from_epro_sync_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EPRO_SYNC_BATCH_MAX", "42")
    monkeypatch.setenv("EPRO_SYNC_CODE_EXPIRY_MINUTES", "5")
    settings = ServerSettings()
    assert (settings.batch_max, settings.code_expiry_minutes) == (42, 5)


@pytest.mark.parametrize("suite", list(Suite), ids=str)
def test_study_keys_made_by_epro_keys_are_accepted_and_handed_out_verbatim(
    tmp_path: Path, suite: Suite
) -> None:
    key = tmp_path / "study-public-key.json"
    key.write_text(generate_study_keypair(suite).public_key().to_json(), encoding="utf-8")
    app = create_app(_settings(tmp_path, study_public_key_file=key))
    assert app.state.material.public_key_json == key.read_text(encoding="utf-8")


def test_openapi_documents_the_configured_batch_maximum(
    tmp_path: Path, study_public_key_file: Path
) -> None:
    app = create_app(_settings(tmp_path, study_public_key_file=study_public_key_file, batch_max=7))
    batch = app.openapi()["components"]["schemas"]["BatchRequest"]
    assert batch["properties"]["envelopes"]["maxItems"] == 7
    assert batch["properties"]["envelopes"]["items"] == {"$ref": "#/components/schemas/Envelope"}
