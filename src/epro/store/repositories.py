"""Repositories for patients, responses and the outbox: the one place rows meet domain objects.

Each repository works inside the unit of work's session and flushes at once, so a database
failure (a full disk, a duplicate) surfaces at the call that caused it, not at commit.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection
from datetime import date, datetime

from sqlmodel import Session, col, select

from epro.errors import StoreError
from epro.store._time import from_text, from_text_or_none, to_text, to_text_or_none
from epro.store.domain import OutboxEntry, Patient, ResponseMeta, ResponseStatus
from epro.store.tables import EnvelopeRow, OutboxRow, PatientRow, ResponseRow

# --- conversions -----------------------------------------------------------------------------


def patient_to_row(patient: Patient) -> PatientRow:
    return PatientRow(
        code=patient.code,
        birth_ym=patient.birth_ym,
        baseline_date=patient.baseline_date.isoformat(),
        site=patient.site,
        language=patient.language,
    )


def patient_from_row(row: PatientRow) -> Patient:
    return Patient(
        code=row.code,
        birth_ym=row.birth_ym,
        baseline_date=date.fromisoformat(row.baseline_date),
        site=row.site,
        language=row.language,
    )


def response_to_row(meta: ResponseMeta) -> ResponseRow:
    return ResponseRow(
        id=meta.id,
        patient=meta.patient,
        visit=meta.visit,
        form_id=meta.form_id,
        form_version=meta.form_version,
        form_sha256=meta.form_sha256,
        respondent=meta.respondent,
        language=meta.language,
        status=ResponseStatus(meta.status).value,
        started_at=to_text(meta.started_at),
        updated_at=to_text(meta.updated_at),
        key_version=meta.key_version,
        position=meta.position,
        submitted_at=to_text_or_none(meta.submitted_at),
        out_of_window_reason=meta.out_of_window_reason,
        answers_sha256=meta.answers_sha256,
        purged=meta.purged,
    )


def response_from_row(row: ResponseRow) -> ResponseMeta:
    return ResponseMeta(
        id=row.id,
        patient=row.patient,
        visit=row.visit,
        form_id=row.form_id,
        form_version=row.form_version,
        form_sha256=row.form_sha256,
        respondent=row.respondent,
        language=row.language,
        status=ResponseStatus(row.status),
        started_at=from_text(row.started_at),
        updated_at=from_text(row.updated_at),
        key_version=row.key_version,
        position=row.position,
        submitted_at=from_text_or_none(row.submitted_at),
        out_of_window_reason=row.out_of_window_reason,
        answers_sha256=row.answers_sha256,
        purged=bool(row.purged),
    )


def outbox_from_row(row: OutboxRow, envelope_json: str) -> OutboxEntry:
    return OutboxEntry(
        response_id=row.response_id,
        envelope_json=envelope_json,
        sha256=row.sha256,
        created_at=from_text(row.created_at),
        attempts=row.attempts,
        last_error=row.last_error,
        sent_at=from_text_or_none(row.sent_at),
        acknowledged_at=from_text_or_none(row.acknowledged_at),
        receipt_id=row.receipt_id,
    )


# --- repositories ----------------------------------------------------------------------------


class PatientRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, patient: Patient) -> None:
        if self._session.get(PatientRow, patient.code) is not None:
            # The message repeats no study code: it may end up in a log.
            raise StoreError(
                "a patient with this study code is already enrolled; "
                "check the code or open the existing patient"
            )
        self._session.add(patient_to_row(patient))
        self._session.flush()

    def get(self, code: str) -> Patient | None:
        row = self._session.get(PatientRow, code)
        return None if row is None else patient_from_row(row)

    def list(self) -> builtins.list[Patient]:
        rows = self._session.exec(select(PatientRow).order_by(col(PatientRow.code)))
        return [patient_from_row(row) for row in rows]


class ResponseRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, meta: ResponseMeta) -> None:
        if self._session.get(ResponseRow, meta.id) is not None:
            raise StoreError(f"response {meta.id} already exists; a response id is never reused")
        if self._session.get(PatientRow, meta.patient) is None:
            raise StoreError(
                f"response {meta.id}: its patient is not enrolled; enrol the patient first"
            )
        self._session.add(response_to_row(meta))
        self._session.flush()

    def get(self, response_id: str) -> ResponseMeta | None:
        row = self._session.get(ResponseRow, response_id)
        return None if row is None else response_from_row(row)

    def update(self, meta: ResponseMeta) -> None:
        row = self._session.get(ResponseRow, meta.id)
        if row is None:
            raise StoreError(f"response {meta.id} is not in the store; add it before updating")
        bound = (row.patient, row.form_id, row.form_version, row.key_version)
        if bound != (meta.patient, meta.form_id, meta.form_version, meta.key_version):
            # Patient and form are bound into every answer's AAD: changing them would orphan
            # the answers, so it is refused rather than silently breaking verification.
            raise StoreError(
                f"response {meta.id}: patient, form, form version and key version cannot "
                "change after the response started; start a new response instead"
            )
        # One plain UPDATE (runs with every answer; see answers.py), then the session's copy
        # of the row is expired so that a later read in this unit of work sees the new values.
        values = response_to_row(meta).model_dump(exclude={"id"})
        assignments = ", ".join(f"{name} = ?" for name in values)
        self._session.connection().exec_driver_sql(
            f"UPDATE responses SET {assignments} WHERE id = ?", (*values.values(), meta.id)
        )
        self._session.expire(row)

    def list(
        self,
        *,
        patient: str | None = None,
        statuses: Collection[ResponseStatus] | None = None,
    ) -> builtins.list[ResponseMeta]:
        statement = select(ResponseRow)
        if patient is not None:
            statement = statement.where(ResponseRow.patient == patient)
        if statuses is not None:
            wanted = [ResponseStatus(s).value for s in statuses]
            statement = statement.where(col(ResponseRow.status).in_(wanted))
        statement = statement.order_by(col(ResponseRow.started_at), col(ResponseRow.id))
        return [response_from_row(row) for row in self._session.exec(statement)]


class OutboxRepository:
    """Sealed envelopes; "pending" means no receipt yet (nothing is dropped before a receipt)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, entry: OutboxEntry) -> None:
        if self._session.get(OutboxRow, entry.response_id) is not None:
            raise StoreError(f"response {entry.response_id} is already in the outbox")
        self._session.add(
            EnvelopeRow(response_id=entry.response_id, envelope_json=entry.envelope_json)
        )
        row = OutboxRow(
            response_id=entry.response_id,
            sha256=entry.sha256,
            created_at=to_text(entry.created_at),
            attempts=entry.attempts,
            last_error=entry.last_error,
            sent_at=to_text_or_none(entry.sent_at),
            acknowledged_at=to_text_or_none(entry.acknowledged_at),
            receipt_id=entry.receipt_id,
        )
        self._session.add(row)
        self._session.flush()

    def get(self, response_id: str) -> OutboxEntry | None:
        row = self._session.get(OutboxRow, response_id)
        if row is None:
            return None
        envelope = self._session.get(EnvelopeRow, response_id)
        if envelope is None:
            raise StoreError(f"the sealed envelope of response {response_id} is missing")
        return outbox_from_row(row, envelope.envelope_json)

    def pending(self, limit: int) -> builtins.list[OutboxEntry]:
        """Entries without a receipt, oldest first (then by id): what the next upload sends."""
        # Plain SQL into plain rows: ORM objects for a whole upload batch cost more than the
        # query (same session and connection, so this unit of work's own writes are seen).
        rows = self._session.connection().exec_driver_sql(
            "SELECT o.response_id, e.envelope_json, o.sha256, o.created_at, o.attempts, "
            "o.last_error, o.sent_at, o.receipt_id FROM outbox AS o "
            "JOIN envelopes AS e ON e.response_id = o.response_id "
            "WHERE o.acknowledged_at IS NULL ORDER BY o.created_at, o.response_id LIMIT ?",
            (limit,),
        )
        return [
            OutboxEntry(
                response_id=rid,
                envelope_json=envelope,
                sha256=sha,
                created_at=from_text(created),
                attempts=attempts,
                last_error=error,
                sent_at=from_text_or_none(sent),
                receipt_id=receipt,
            )
            for rid, envelope, sha, created, attempts, error, sent, receipt in rows
        ]

    def count_pending(self) -> int:
        row = (
            self._session.connection()
            .exec_driver_sql("SELECT count(*) FROM outbox WHERE acknowledged_at IS NULL")
            .one()
        )
        return int(row[0])

    def count_acknowledged(self) -> int:
        """Responses the kiosk holds the server's receipt for (sent in its audit head)."""
        row = (
            self._session.connection()
            .exec_driver_sql("SELECT count(*) FROM outbox WHERE acknowledged_at IS NOT NULL")
            .one()
        )
        return int(row[0])

    def mark_sent(self, response_id: str, at: datetime) -> None:
        """An upload attempt reached the server (counts as an attempt, clears the last error)."""
        row = self._row(response_id)
        row.sent_at = to_text(at)
        row.attempts += 1
        row.last_error = None
        self._save(row)

    def mark_acknowledged(self, response_id: str, receipt_id: str, at: datetime) -> None:
        row = self._row(response_id)
        row.receipt_id = receipt_id
        row.acknowledged_at = to_text(at)
        self._save(row)

    def record_error(self, response_id: str, message: str) -> None:
        """A failed attempt: counted, and the message kept for the nurse's sync status."""
        row = self._row(response_id)
        row.attempts += 1
        row.last_error = message
        self._save(row)

    def _row(self, response_id: str) -> OutboxRow:
        row = self._session.get(OutboxRow, response_id)
        if row is None:
            raise StoreError(f"response {response_id} is not in the outbox")
        return row

    def _save(self, row: OutboxRow) -> None:
        self._session.add(row)
        self._session.flush()
