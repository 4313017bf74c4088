"""``epro-sync user add|list|disable|reset`` on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine, text

from epro_sync.cli import main
from epro_sync.config import ServerSettings


@pytest.fixture
def env(settings: ServerSettings, monkeypatch: pytest.MonkeyPatch) -> ServerSettings:
    monkeypatch.setenv("EPRO_SYNC_DATABASE_URL", settings.database_url)
    return settings


def _code(out: str) -> str:
    found = re.search(r"one-time code for \S+: ([A-Z0-9-]{19})", out)
    assert found, out
    return found.group(1)


def test_add_the_first_admin_prints_a_one_time_code_stored_only_as_a_hash(
    env: ServerSettings, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["user", "add", "Admin@Example.org", "--role", "admin"]) == 0
    out = capsys.readouterr().out
    code = _code(out)
    assert "admin@example.org as admin (all sites)" in out
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT email, role, sites, reset_sha256, password_hash FROM console_users")
        ).one()
        events = conn.execute(text("SELECT event FROM audit")).scalars().all()
    assert row[:3] == ("admin@example.org", "admin", None)
    assert row[3] is not None
    assert code.replace("-", "") not in row[3]
    assert row[4] is None
    assert events == ["console_user_added"]


def test_a_coordinator_needs_a_site(
    env: ServerSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["user", "add", "nurse@example.org", "--role", "coordinator"]) == 1
    assert "give --site SITE" in capsys.readouterr().err
    assert (
        main(
            [
                "user",
                "add",
                "nurse@example.org",
                "--role",
                "coordinator",
                "--site",
                "UMCU",
                "--site",
                "WKZ",
                "AMC",
            ]
        )
        == 0
    )
    assert main(["user", "list"]) == 0
    listing = capsys.readouterr().out
    assert "nurse@example.org" in listing
    assert "AMC UMCU WKZ" in listing
    assert "code sent" in listing


def test_disable_and_reset(
    env: ServerSettings, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["user", "add", "dm@example.org", "--role", "data-manager"]) == 0
    first = _code(capsys.readouterr().out)
    assert main(["user", "disable", "dm@example.org"]) == 0
    assert main(["user", "list"]) == 0
    assert "disabled" in capsys.readouterr().out
    assert main(["user", "reset", "dm@example.org"]) == 0
    second = _code(capsys.readouterr().out)
    assert second != first
    with engine.connect() as conn:
        disabled = conn.execute(text("SELECT disabled_at FROM console_users")).scalar()
    assert disabled is None


def test_unknown_account_and_bad_input_are_plain_messages(
    env: ServerSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["user", "disable", "nobody@example.org"]) == 1
    assert "no console account for 'nobody@example.org'" in capsys.readouterr().err
    assert main(["user", "add", "not-an-address", "--role", "admin"]) == 1
    assert "is not an e-mail address" in capsys.readouterr().err
    assert main(["user", "add", "a@example.org", "--role", "admin"]) == 0
    assert main(["user", "add", "A@example.org", "--role", "admin"]) == 1
    assert "already has an account" in capsys.readouterr().err
