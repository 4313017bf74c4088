"""A kiosk's app version and clock, as its sync client reports them and the server keeps them.

A real kiosk store syncs with the real server process (SQLite and PostgreSQL); the kiosk's
clock is set 20 minutes behind. The server's kiosk row then carries the version and the
measured skew, and the console's one rule for "needs attention" names the slow clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlmodel import Session

from epro import __version__
from epro.sync_client import SyncClient
from epro.sync_client.client import utc_now
from epro_sync.console.kiosk_health import kiosk_health
from epro_sync.console.scope import Scope
from epro_sync.db import make_engine
from tests.helpers.sync_harness import Kiosk, LiveServer, ServerDb

MakeKiosk = Callable[[str, ServerDb, str], Kiosk]
LIMITS = {"stale_after": timedelta(days=7), "skew_limit": timedelta(minutes=5)}


def test_the_server_keeps_the_version_and_measured_skew_a_kiosk_reports(
    live_server: LiveServer, server_db: ServerDb, make_kiosk: MakeKiosk
) -> None:
    slow = make_kiosk("k1", server_db, live_server.url)
    idle = make_kiosk("k2", server_db, live_server.url)
    slow.queue(2)

    report = SyncClient(slow.store, clock=lambda: utc_now() - timedelta(minutes=20)).sync_once()
    assert report.error is None
    assert report.sent == 2
    # Nothing to upload: the audit-head push that ends the sync still counts as seen.
    assert SyncClient(idle.store).sync_once().error is None

    rows = {
        device: (version, skew, seen)
        for device, version, skew, seen in server_db.rows(
            "SELECT device_id, app_version, clock_skew_s, last_seen_at FROM devices"
        )
    }
    version, skew, seen = rows[slow.device_id]
    assert version == __version__
    assert -1210 < skew < -1190  # 20 minutes behind, give or take the request's transit
    idle_version, idle_skew, idle_seen = rows[idle.device_id]
    assert idle_version == __version__
    assert abs(idle_skew) < 10
    assert seen is not None
    assert idle_seen is not None

    engine = make_engine(server_db.settings.database_url)
    try:
        with Session(engine) as session:
            health = {
                k.device_id: k
                for k in kiosk_health(session, Scope.every_site(), utc_now(), **LIMITS)
            }
    finally:
        engine.dispose()
    assert health[slow.device_id].problems == ("clock behind the server by 20 minutes",)
    assert health[slow.device_id].app_version == __version__
    assert health[idle.device_id].problems == ()
