"""Kiosk-side helpers for the grid and sync tests: submit a form, enrol with a live server.

The live server is the real study server (``epro_sync.testing.running_server``: uvicorn on
127.0.0.1); kiosks are real encrypted stores enrolled with one-time codes, as in a clinic.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from epro.forms.model import Form
from epro.schedule import Study
from epro.station import SessionPlan, Station
from epro.store import Store, open_store
from epro.sync_client import enrol_kiosk
from epro_sync import storage
from epro_sync.config import ServerSettings
from epro_sync.db import make_engine
from tests.helpers.ui_constants import NURSE, PASSPHRASE, clock


def submit_form(
    station: Station, patient: str, visit: str, form_id: str, respondent: str = "parent"
) -> str:
    """Answer every item of a VAS-type form with 40 and submit it (through the real session)."""
    session = station.start(SessionPlan(patient, visit, form_id, respondent, "en"), actor=NURSE)
    for item in session.items():
        if item.type != "display":
            session.answer(item.link_id, 40)
    response_id: str = session.submit(actor=NURSE).response_id
    return response_id


def station_on(db: Path, forms: Mapping[str, Form], study: Study) -> tuple[Store, Station]:
    store = open_store(db, passphrase=PASSPHRASE, clock=clock)
    return store, Station(store, forms, study, clock)


def enrol(store: Store, url: str, code: str, label: str) -> str:
    """Enrol the kiosk store with the live server; return the device id."""
    device_id: str = enrol_kiosk(store, server_url=url, code=code, label=label).device_id
    return device_id


def revoke(settings: ServerSettings, device_id: str) -> None:
    """What the data manager's `epro-sync revoke DEVICE` does, on the server's database."""
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            storage.revoke(session, device_id, datetime.now(UTC))
            session.commit()
    finally:
        engine.dispose()
