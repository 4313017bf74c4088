"""The nurse station as a service, with no UI: :mod:`.service` (today's patients, completion,
trends, enrolment, sessions) and :mod:`.sync` (status, "Sync now", the background timer).
The kiosk's staff screens go through :class:`Station` only."""

from epro.station.service import (
    CellStatus,
    CompletionCell,
    CompletionGrid,
    GridRow,
    PatientToday,
    SessionPlan,
    Station,
    TrendPoint,
    open_station,
)
from epro.station.sync import StationSync

__all__ = [
    "CellStatus",
    "CompletionCell",
    "CompletionGrid",
    "GridRow",
    "PatientToday",
    "SessionPlan",
    "Station",
    "StationSync",
    "TrendPoint",
    "open_station",
]
