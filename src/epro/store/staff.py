"""Staff members and their PINs: Argon2id hashes, counted failures, a timed lock.

A wrong PIN must be remembered even when the caller's unit of work is rolled back (otherwise
guessing inside a transaction that never commits would be free). So every failure is also kept
as a :class:`PinNote`, which the unit of work writes again in a fresh transaction after a
rollback.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from epro.crypto import KdfParams, check_pin, hash_pin
from epro.errors import StoreError
from epro.store._time import from_text_or_none, to_text, to_text_or_none
from epro.store.audit import AuditRepository
from epro.store.domain import AuditKind, StaffMember
from epro.store.tables import StaffRow

MAX_FAILURES = 5
LOCK_TIME = timedelta(minutes=5)
_PIN = re.compile(r"[0-9]{4,}")


def check_new_pin(pin: str) -> None:
    if not _PIN.fullmatch(pin):
        raise StoreError("a staff PIN must be at least 4 digits (0-9 only); choose another PIN")


@dataclass(frozen=True, slots=True)
class PinNote:
    """What a PIN check changed, to be written again if the transaction is rolled back."""

    name: str
    known: bool
    failures: int
    locked_until: str | None
    audits: tuple[tuple[AuditKind, str], ...]  # (kind, detail)


class StaffRepository:
    def __init__(
        self,
        session: Session,
        audit: AuditRepository,
        clock: Callable[[], datetime],
        kdf: KdfParams,
        notes: builtins.list[PinNote],
    ) -> None:
        self._session = session
        self._audit = audit
        self._clock = clock
        self._kdf = kdf
        self._notes = notes

    def add(self, name: str, pin: str) -> None:
        if not name.strip():
            raise StoreError("a staff member needs a name; give one (e.g. --nurse NAME)")
        check_new_pin(pin)
        if self._session.get(StaffRow, name) is not None:
            raise StoreError(f"staff member {name} already exists; choose another name")
        row = StaffRow(
            name=name,
            pin_hash=hash_pin(pin, self._kdf),
            failures=0,
            locked_until=None,
            created_at=to_text(self._clock()),
        )
        self._session.add(row)
        self._session.flush()

    def verify_pin(self, name: str, pin: str) -> bool:
        """True for the right PIN; False for a wrong one; StoreError while the PIN is locked.

        The fifth wrong PIN in a row locks it for five minutes (audited PIN_FAILURE, PIN_LOCKED).
        """
        now = self._clock()
        row = self._session.get(StaffRow, name)
        if row is None:
            self._fail_unknown(name)
            return False
        locked_until = from_text_or_none(row.locked_until)
        if locked_until is not None and locked_until > now:
            raise _locked_error(name, locked_until)
        if check_pin(pin, row.pin_hash):
            if row.failures or row.locked_until:
                row.failures = 0
                row.locked_until = None
                self._save(row)
            return True
        row.failures += 1
        audits: list[tuple[AuditKind, str]] = [
            (AuditKind.PIN_FAILURE, f"wrong PIN ({row.failures} of {MAX_FAILURES})")
        ]
        lock_until: datetime | None = None
        if row.failures >= MAX_FAILURES:
            lock_until = now + LOCK_TIME
            row.failures = 0
            row.locked_until = to_text(lock_until)
            audits.append((AuditKind.PIN_LOCKED, f"locked until {row.locked_until}"))
        self._save(row)
        for kind, detail in audits:
            self._audit.append(kind, name, detail=detail)
        self._notes.append(PinNote(name, True, row.failures, row.locked_until, tuple(audits)))
        if lock_until is not None:
            raise _locked_error(name, lock_until)
        return False

    def list(self) -> builtins.list[StaffMember]:
        rows = self._session.exec(select(StaffRow).order_by(col(StaffRow.name)))
        return [
            StaffMember(row.name, row.failures, from_text_or_none(row.locked_until)) for row in rows
        ]

    def replay(self, note: PinNote) -> None:
        """Write a PIN note again after its transaction was rolled back."""
        if note.known:
            row = self._session.get(StaffRow, note.name)
            if row is not None:
                row.failures = note.failures
                row.locked_until = note.locked_until
                self._save(row)
        for kind, detail in note.audits:
            self._audit.append(kind, note.name, detail=detail)

    def _fail_unknown(self, name: str) -> None:
        audits = ((AuditKind.PIN_FAILURE, "unknown staff name"),)
        self._audit.append(AuditKind.PIN_FAILURE, name, detail="unknown staff name")
        self._notes.append(PinNote(name, False, 0, None, audits))

    def _save(self, row: StaffRow) -> None:
        self._session.add(row)
        self._session.flush()


def _locked_error(name: str, until: datetime) -> StoreError:
    return StoreError(
        f"the PIN of {name} is locked after {MAX_FAILURES} wrong tries, until "
        f"{until:%H:%M} UTC ({to_text_or_none(until)}); wait, or ask another staff member"
    )
