"""Fixtures of the kiosk tests: a real encrypted store in tmp_path, a fixed clock, two patients.

The clock is fixed so screens and snapshots never depend on today's date; the patients use
made-up study codes only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from epro.crypto import FAST_KDF, StudyPrivateKey
from epro.forms.model import Form
from epro.kiosk.app import KioskApp, make_kiosk
from epro.schedule import Study
from epro.station import Station
from epro.store import init_store, open_store
from tests.helpers.ui_constants import NOW, NURSE, PASSPHRASE, PIN, TODAY, clock  # noqa: F401


@pytest.fixture
def kiosk_db(
    tmp_path: Path, forms: dict[str, Form], study: Study, study_key: StudyPrivateKey
) -> Path:
    """A kiosk store with DEMO-001 (6 years, V2 open) and DEMO-002 (10 years, baseline today)."""
    path = tmp_path / "kiosk.db"
    store = init_store(
        path,
        passphrase=PASSPHRASE,
        site="DEMO",
        nurse_name=NURSE,
        nurse_pin=PIN,
        kdf=FAST_KDF,
        study_public_key=study_key.public_key(),
        clock=clock,
    )
    station = Station(store, forms, study, clock)
    station.enrol("DEMO-001", "2019-11", TODAY - timedelta(weeks=4), actor=NURSE)
    station.enrol("DEMO-002", "2015-06", TODAY, actor=NURSE)
    store.close()
    return path


@pytest.fixture
def open_station(kiosk_db: Path, forms: dict[str, Form], study: Study) -> Callable[[str], Station]:
    """The kiosk's opener: the real store, opened with the passphrase, on the fixed clock."""

    def opener(passphrase: str) -> Station:
        store = open_store(kiosk_db, passphrase=passphrase, clock=clock)
        return Station(store, forms, study, clock)

    return opener


@pytest.fixture
def kiosk(kiosk_db: Path, open_station: Callable[[str], Station]) -> KioskApp:
    return make_kiosk(kiosk_db, opener=open_station, idle_warning_s=600, idle_lock_s=900)
