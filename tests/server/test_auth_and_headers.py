"""Device tokens, revocation and the Date header (DESIGN §7 auth and clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import Engine, text

from epro_sync import cli
from epro_sync.testing import RunningServer, ScriptedKiosk

KIOSK_ROUTES = [
    ("GET", "/v1/roster"),
    ("GET", "/v1/completion"),
    ("POST", "/v1/responses:batch"),
    ("POST", "/v1/roster"),
    ("POST", "/v1/audit-head"),
]


@pytest.mark.parametrize(("method", "path"), KIOSK_ROUTES)
def test_kiosk_routes_need_a_device_token(server: RunningServer, method: str, path: str) -> None:
    reply = server.client.request(method, path, json={})
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in reply.json()["detail"]


def test_unknown_token_is_refused(server: RunningServer) -> None:
    reply = server.client.get("/v1/roster", headers={"Authorization": "Bearer not-a-token"})
    assert reply.status_code == 401
    assert "unknown device token" in reply.json()["detail"]


def test_revoked_kiosk_gets_403_with_a_plain_message(
    new_kiosk: Callable[..., ScriptedKiosk],
    server: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
) -> None:
    kiosk, sibling = new_kiosk(), new_kiosk()
    assert kiosk.upload(kiosk.envelope()).status_code == 200
    monkeypatch.setenv("EPRO_SYNC_DATABASE_URL", server.settings.database_url)
    assert cli.main(["revoke", kiosk.device_id]) == 0
    assert "is revoked" in capsys.readouterr().out
    reply = kiosk.upload(kiosk.envelope())
    assert reply.status_code == 403
    detail = reply.json()["detail"]
    assert "revoked by the data manager" in detail
    assert "its data stays on the kiosk" in detail
    assert sibling.get("/v1/roster").status_code == 200
    with engine.connect() as conn:
        revoked = conn.execute(text("SELECT device_id FROM audit WHERE event = 'revoke'"))
        assert revoked.scalars().all() == [kiosk.device_id]


@pytest.mark.parametrize("path", ["/healthz", "/v1/roster", "/no/such/route", "/openapi.json"])
def test_every_response_carries_the_server_date(server: RunningServer, path: str) -> None:
    reply = server.client.get(path)
    dates = reply.headers.get_list("date")
    assert len(dates) == 1
    assert abs(parsedate_to_datetime(dates[0]) - datetime.now(UTC)) < timedelta(minutes=1)


def test_health_and_docs_answer(server: RunningServer) -> None:
    assert server.client.get("/healthz").json() == {"status": "ok", "protocol": 1}
    assert server.client.get("/docs").status_code == 200
    paths = server.client.get("/openapi.json").json()["paths"]
    assert {"/v1/enrol", "/v1/responses:batch", "/v1/roster", "/v1/completion"} <= set(paths)


def test_a_reinstated_kiosk_uploads_again_with_its_own_key_and_token(
    new_kiosk: Callable[..., ScriptedKiosk],
    server: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
) -> None:
    kiosk = new_kiosk()
    kept = kiosk.envelope()
    monkeypatch.setenv("EPRO_SYNC_DATABASE_URL", server.settings.database_url)
    assert cli.main(["revoke", kiosk.device_id]) == 0
    assert kiosk.upload(kept).status_code == 403
    assert cli.main(["reinstate", kiosk.device_id]) == 0
    assert "is active again" in capsys.readouterr().out
    reply = kiosk.upload(kept)
    assert reply.status_code == 200
    assert reply.json()["receipts"][0]["status"] == "stored"
    with engine.connect() as conn:
        events = conn.execute(
            text("SELECT event FROM audit WHERE event IN ('revoke', 'reinstate') ORDER BY id")
        )
        assert events.scalars().all() == ["revoke", "reinstate"]


def test_reinstating_an_unknown_kiosk_is_a_clear_error(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EPRO_SYNC_DATABASE_URL", server.settings.database_url)
    assert cli.main(["reinstate", "no-such-kiosk"]) == 1
    assert capsys.readouterr().err.startswith("epro-sync: no kiosk with id no-such-kiosk")


def test_a_kiosk_revoked_while_its_upload_is_checked_gets_403_and_stores_nothing(
    new_kiosk: Callable[..., ScriptedKiosk],
    monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
) -> None:
    """The upload reads the kiosk, then checks envelopes without a lock; a revocation landing
    in between is caught when the write transaction starts."""
    from sqlmodel import Session

    from epro_sync import storage, upload

    kiosk = new_kiosk()
    check = upload.check_batch

    def revoke_meanwhile(*args: object, **kwargs: object) -> upload.CheckedBatch:
        with Session(engine) as session:
            storage.revoke(session, kiosk.device_id, datetime.now(UTC))
            session.commit()
        return check(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(upload, "check_batch", revoke_meanwhile)
    reply = kiosk.upload(kiosk.envelope())
    assert reply.status_code == 403
    assert "revoked by the data manager" in reply.json()["detail"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM responses")).scalar() == 0
        seen = conn.execute(text("SELECT last_seen_at FROM devices")).scalar()
        assert seen is None
