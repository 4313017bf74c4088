"""Tampering with entered-in-error marks behind the server's back, found by `epro-sync verify`.

Against a real server on 127.0.0.1 (SQLite and PostgreSQL): a kiosk uploads over HTTP, a data
manager's marks are made through the server's own code, then someone with database access
edits, deletes or forges marks, and `epro-sync verify` is run as the data manager runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from epro_sync import cli
from epro_sync.annotations import mark_entered_in_error
from epro_sync.config import ServerSettings
from epro_sync.db import make_engine
from epro_sync.testing import ScriptedKiosk, running_server

REASON = "session opened for the wrong patient"


@dataclass
class Marked:
    engine: Engine
    response_ids: list[str]
    postgres: bool


@pytest.fixture
def marked(server_settings: ServerSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Marked]:
    """Three uploaded responses, the first two marked entered in error by a data manager."""
    with running_server(server_settings) as server:
        kiosk = ScriptedKiosk(server.client)
        assert kiosk.enrol(server.code("UMCU"), "clinic").status_code == 200
        envelopes = [kiosk.envelope(patient=f"DEMO-00{n}") for n in (1, 2, 3)]
        assert kiosk.upload(*envelopes).status_code == 200
    engine = make_engine(server_settings.database_url)
    ids = [str(e.response_id) for e in envelopes]
    with Session(engine) as session:
        for response_id in ids[:2]:
            mark_entered_in_error(
                session,
                response_id,
                REASON,
                actor="dm@example.org",
                sites=None,
                now=datetime.now(UTC),
            )
        session.commit()
    monkeypatch.setenv("EPRO_SYNC_DATABASE_URL", server_settings.database_url)
    yield Marked(engine, ids, engine.dialect.name == "postgresql")
    engine.dispose()


def _drop_guard(marked: Marked) -> None:
    with marked.engine.begin() as conn:
        if marked.postgres:
            conn.execute(text("DROP TRIGGER annotations_append_only ON annotations"))
        else:
            conn.execute(text("DROP TRIGGER annotations_no_update"))
            conn.execute(text("DROP TRIGGER annotations_no_delete"))


def test_untouched_marks_check_out(marked: Marked, capsys: pytest.CaptureFixture[str]) -> None:
    """What: the baseline of the attacks below. How: `epro-sync verify` on the marks as the
    server made them. Expected: exit 0 and a plain line saying both marks check out."""
    assert cli.main(["verify"]) == 0
    out = capsys.readouterr().out
    assert "all 2 entered-in-error marks check out" in out


def test_an_edited_and_a_deleted_mark_and_the_missing_guard_are_reported(
    marked: Marked, capsys: pytest.CaptureFixture[str]
) -> None:
    """What: someone with database access takes the append-only guard off the annotations
    table, rewrites one mark's reason and deletes the other (so a response marked in error
    would count again, or a mark would say something else than what was decided). How: drop
    the triggers, UPDATE one row, DELETE another, run `epro-sync verify`. Expected: exit 1; the
    output names the edited mark, the response whose mark was deleted, and the missing guard."""
    first, second = marked.response_ids[:2]
    # While the guard is there, the edit itself is refused by the database.
    with pytest.raises(DBAPIError, match="append-only"), marked.engine.begin() as conn:
        conn.execute(text("UPDATE annotations SET reason = 'typo'"))
    _drop_guard(marked)
    with marked.engine.begin() as conn:
        conn.execute(
            text("UPDATE annotations SET reason = 'patient asked' WHERE response_id = :r"),
            {"r": first},
        )
        conn.execute(text("DELETE FROM annotations WHERE response_id = :r"), {"r": second})
    assert cli.main(["verify"]) == 1
    out = capsys.readouterr().out
    assert f"(response {first}) differs from its audit event" in out
    assert f"records response {second} marked entered in error, but no mark is stored" in out
    assert "append-only trigger" in out
    assert "missing or disabled" in out
    assert "all 3 stored responses check out" in out  # the envelopes themselves are intact


def test_a_mark_written_outside_the_server_is_reported(
    marked: Marked, capsys: pytest.CaptureFixture[str]
) -> None:
    """What: a mark forged straight into the database (inserts pass the append-only guard),
    to drop a response from the analysis unseen. How: INSERT an annotations row for the third
    response, with no audit event, then run `epro-sync verify`. Expected: exit 1, the forged
    mark named as written outside the server; the two genuine marks are not reported."""
    third = marked.response_ids[2]
    with marked.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO annotations (response_id, site, kind, reason, actor, at)"
                " VALUES (:r, 'UMCU', 'entered_in_error', :why, 'dm@example.org', :at)"
            ),
            {"r": third, "why": REASON, "at": datetime.now(UTC)},
        )
    assert cli.main(["verify"]) == 1
    out = capsys.readouterr().out
    assert f"(response {third}) has no entered_in_error event in the audit log" in out
    assert "1 problem(s) with the entered-in-error marks" in out
    for genuine in marked.response_ids[:2]:
        assert genuine not in out
