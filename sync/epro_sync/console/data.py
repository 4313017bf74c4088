"""What the console's data pages share: the study protocol, the viewer's scope, today's date.

The protocol is read once per app from the study file the server hands kiosks (the same
``forms/study.toml``), so the console's calendar is the kiosks' calendar. "Today" is the
server clock's UTC date.
"""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import Request

from epro.schedule import Study, load_study
from epro_sync.config import ServerSettings
from epro_sync.console import sessions
from epro_sync.console.access import Viewer
from epro_sync.console.scope import Scope


def study_of(request: Request) -> Study:
    state = request.app.state
    study: Study | None = getattr(state, "console_study", None)
    if study is None:
        settings: ServerSettings = state.settings
        study = load_study(settings.study_file)
        state.console_study = study
    return study


def scope_of(viewer: Viewer) -> Scope:
    """The viewer's sites as the queries take them (None: every site)."""
    return Scope(viewer.sites)


def today_of(request: Request) -> date:
    return sessions.now_of(request).date()


def attention_limits(request: Request) -> dict[str, timedelta]:
    settings: ServerSettings = request.app.state.settings
    return {
        "stale_after": timedelta(days=settings.console_kiosk_quiet_days),
        "skew_limit": timedelta(minutes=settings.console_clock_skew_minutes),
    }
