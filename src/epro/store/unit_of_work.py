"""The unit of work: one database transaction, the repositories that share it.

``with store.unit_of_work() as uow: ...; uow.commit()`` — leaving the block without
``commit()`` (or with an exception) rolls everything back. The transaction starts at once with
``BEGIN IMMEDIATE``: units of work queue one after another instead of failing half-way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

import sqlalchemy.exc
from sqlalchemy import Engine
from sqlmodel import Session

from epro.crypto import KdfParams, RecordCipher
from epro.errors import StoreError
from epro.store.answers import AnswerRepository
from epro.store.audit import AuditRepository
from epro.store.connection import read_pragmas
from epro.store.keys import KeyRepository
from epro.store.repositories import OutboxRepository, PatientRepository, ResponseRepository
from epro.store.staff import PinNote, StaffRepository


@dataclass(frozen=True, slots=True)
class StoreContext:
    """What every unit of work needs from the open store (keys never leave the package)."""

    path: Path
    engine: Engine
    cipher: RecordCipher
    device_id: str
    clock: Callable[[], datetime]
    kdf: KdfParams
    #: Authenticates the security settings (``epro.store.trust``); derived from the data key.
    settings_key: bytes
    audit_key: bytes  # HMAC key of the audit chain (audit_keying.audit_key)


class UnitOfWork:
    patients: PatientRepository
    responses: ResponseRepository
    answers: AnswerRepository
    outbox: OutboxRepository
    audit: AuditRepository
    staff: StaffRepository
    keys: KeyRepository

    def __init__(self, context: StoreContext) -> None:
        self._context = context
        self._session: Session | None = None
        self._pin_notes: list[PinNote] = []

    def __enter__(self) -> UnitOfWork:
        session = Session(self._context.engine, expire_on_commit=False)
        try:
            session.connection()  # BEGIN IMMEDIATE now, so waiting happens here
        except BaseException:
            session.close()
            raise
        self._session = session
        self._bind(session, self._pin_notes)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            if self._session is not None:
                self._session.close()
                self._session = None

    def commit(self) -> None:
        session = self._require_session()
        try:
            session.commit()
        except sqlalchemy.exc.InvalidRequestError:
            raise StoreError(
                "this change failed earlier and was rolled back; start again"
            ) from None
        self._pin_notes.clear()

    def rollback(self) -> None:
        """Undo everything since the last commit (PIN failures are written again)."""
        if self._session is None:
            return
        self._session.rollback()
        if self._pin_notes:
            notes = list(self._pin_notes)
            self._pin_notes.clear()  # in place: the staff repository holds this same list
            self._replay(notes)

    def pragmas(self) -> dict[str, str | int]:
        """The safety PRAGMAs of this unit of work's connection, read back (for checks)."""
        raw = self._require_session().connection().connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        return read_pragmas(raw)

    def _replay(self, notes: list[PinNote]) -> None:
        with Session(self._context.engine) as session:
            staff = self._make_staff(session, [])
            for note in notes:
                staff.replay(note)
            session.commit()

    def _bind(self, session: Session, notes: list[PinNote]) -> None:
        context = self._context
        self.patients = PatientRepository(session)
        self.responses = ResponseRepository(session)
        self.answers = AnswerRepository(session, context.cipher)
        self.outbox = OutboxRepository(session)
        self.audit = AuditRepository(session, context.device_id, context.clock, context.audit_key)
        self.staff = self._make_staff(session, notes)
        self.keys = KeyRepository(session, context.cipher, context.settings_key)

    def _make_staff(self, session: Session, notes: list[PinNote]) -> StaffRepository:
        context = self._context
        audit = AuditRepository(session, context.device_id, context.clock, context.audit_key)
        return StaffRepository(session, audit, self._context.clock, self._context.kdf, notes)

    def _require_session(self) -> Session:
        if self._session is None:
            raise StoreError("use the unit of work inside a `with` block")
        return self._session
