"""The hot path: the session's writes (start, each answer, submit) in plain SQL.

A kiosk writes one durable transaction per answer. Through the ORM, the per-statement and
per-session bookkeeping cost several times the encryption and the fsync together, so these
transactions run on one cached ``sqlite3`` connection of the store instead (same safety PRAGMAs,
read back when it opens; ``BEGIN IMMEDIATE``; the same audit chain and AES-GCM records as the
repositories). ``with store.transaction() as tx: ...; tx.commit()`` — leaving the block without
``commit()`` rolls everything back, exactly like a unit of work.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import cast

from epro.crypto import DeviceKey, StudyPublicKey
from epro.errors import CryptoError, StoreError
from epro.forms.model import AnswerValue
from epro.store._time import from_text, from_text_or_none, to_text, to_text_or_none
from epro.store.answers import answer_aad, decrypt_answer
from epro.store.audit import GENESIS, canonical_event, chain_hash
from epro.store.connection import Limits, apply_pragmas, translate
from epro.store.domain import AuditKind, OutboxEntry, Patient, ResponseMeta, ResponseStatus
from epro.store.keys import device_key_aad
from epro.store.unit_of_work import StoreContext

_RESPONSE_COLUMNS = (
    "id, patient, visit, form_id, form_version, form_sha256, respondent, language, status, "
    "started_at, updated_at, key_version, position, submitted_at, out_of_window_reason, "
    "answers_sha256, purged"
)
_SELECT_RESPONSE = f"SELECT {_RESPONSE_COLUMNS} FROM responses WHERE id = ?"
_INSERT_RESPONSE = f"INSERT INTO responses ({_RESPONSE_COLUMNS}) VALUES ({', '.join('?' * 17)})"
# Patient, form and key version are bound into every answer's AAD, so they never change here.
_UPDATE_RESPONSE = (
    "UPDATE responses SET status = ?, updated_at = ?, position = ?, submitted_at = ?, "
    "out_of_window_reason = ?, answers_sha256 = ?, purged = ? "
    "WHERE id = ? AND patient = ? AND form_id = ? AND form_version = ? AND key_version = ?"
)
_UPSERT_ANSWER = (
    "INSERT INTO answers (response_id, link_id, key_version, ciphertext) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (response_id, link_id) DO UPDATE "
    "SET key_version = excluded.key_version, ciphertext = excluded.ciphertext"
)
_AUDIT_HEAD = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
_AUDIT_INSERT = (
    "INSERT INTO audit (seq, at, actor, kind, device_id, response_id, link_id, detail, "
    "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_OUTBOX_INSERT = (
    "INSERT INTO outbox (response_id, envelope_json, sha256, created_at, attempts, last_error, "
    "sent_at, acknowledged_at, receipt_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _meta_from(row: tuple[object, ...]) -> ResponseMeta:
    return ResponseMeta(
        id=str(row[0]),
        patient=str(row[1]),
        visit=str(row[2]),
        form_id=str(row[3]),
        form_version=str(row[4]),
        form_sha256=str(row[5]),
        respondent=str(row[6]),
        language=str(row[7]),
        status=ResponseStatus(str(row[8])),
        started_at=from_text(str(row[9])),
        updated_at=from_text(str(row[10])),
        key_version=cast(int, row[11]),
        position=cast(int, row[12]),
        submitted_at=from_text_or_none(cast("str | None", row[13])),
        out_of_window_reason=cast("str | None", row[14]),
        answers_sha256=cast("str | None", row[15]),
        purged=bool(row[16]),
    )


class HotPath:
    """The store's cached connection and what never changes while it is open."""

    def __init__(self, context: StoreContext, limits: Limits) -> None:
        self._context = context
        self._limits = limits
        self._connection: sqlite3.Connection | None = None
        # One transaction at a time on the shared connection (the kiosk may write from a worker).
        self._lock = threading.Lock()
        self._device_key: DeviceKey | None = None
        self._study_key: tuple[str, StudyPublicKey] | None = None

    def transaction(self) -> Transaction:
        return Transaction(self)

    def close(self) -> None:
        """Close the connection; the next transaction opens a new one (with current limits)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            path: Path = self._context.path
            try:
                connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            except sqlite3.Error as error:
                raise translate(error, path) from None
            try:
                apply_pragmas(connection, self._limits)
            except sqlite3.Error as error:
                connection.close()
                raise translate(error, path) from None
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection


class Transaction:
    """One ``BEGIN IMMEDIATE`` transaction on the hot connection; use it in a ``with`` block."""

    def __init__(self, hot: HotPath) -> None:
        self._hot = hot
        self._context = hot._context
        self._db: sqlite3.Connection | None = None

    def __enter__(self) -> Transaction:
        self._hot._lock.acquire()
        try:
            db = self._hot._connect()
            self._run(db, "BEGIN IMMEDIATE")
        except BaseException:
            self._hot._lock.release()
            raise
        self._db = db
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        db, self._db = self._db, None
        try:
            if db is not None and db.in_transaction:
                db.rollback()
        finally:
            self._hot._lock.release()

    def commit(self) -> None:
        self._execute("COMMIT")

    # --- reading ---------------------------------------------------------------------------

    def patient(self, code: str) -> Patient | None:
        row = self._execute(
            "SELECT code, birth_ym, baseline_date, site, language FROM patients WHERE code = ?",
            (code,),
        ).fetchone()
        if row is None:
            return None
        return Patient(
            code=row[0],
            birth_ym=row[1],
            baseline_date=date.fromisoformat(row[2]),
            site=row[3],
            language=row[4],
        )

    def response(self, response_id: str) -> ResponseMeta | None:
        row = self._execute(_SELECT_RESPONSE, (response_id,)).fetchone()
        return None if row is None else _meta_from(row)

    def responses_of(
        self, patient: str, statuses: Collection[ResponseStatus]
    ) -> list[ResponseMeta]:
        wanted = [ResponseStatus(status).value for status in statuses]
        marks = ", ".join("?" * len(wanted))
        rows = self._execute(
            f"SELECT {_RESPONSE_COLUMNS} FROM responses WHERE patient = ? AND status IN ({marks})"
            " ORDER BY started_at, id",
            (patient, *wanted),
        ).fetchall()
        return [_meta_from(row) for row in rows]

    def answers(self, meta: ResponseMeta) -> dict[str, AnswerValue]:
        """All answers of a stored response, decrypted (StoreError names a bad row)."""
        cipher = self._context.cipher
        rows = self._execute(
            "SELECT link_id, key_version, ciphertext FROM answers WHERE response_id = ?"
            " ORDER BY link_id",
            (meta.id,),
        ).fetchall()
        answers: dict[str, AnswerValue] = {}
        for link_id, key_version, ciphertext in rows:
            try:
                value = decrypt_answer(cipher, meta, link_id, key_version, ciphertext)
            except CryptoError:
                raise StoreError(
                    f"answer of response {meta.id} item {link_id} does not authenticate "
                    "(edited, swapped or damaged); run `epro verify` and report it"
                ) from None
            answers[link_id] = cast(AnswerValue, value)
        return answers

    def device_key(self) -> DeviceKey:
        """The signing key, decrypted once per open store (it never changes after init)."""
        if self._hot._device_key is None:
            row = self._execute("SELECT id, private_key_enc FROM device").fetchone()
            if row is None:
                raise StoreError("the database has no device record; it was not made by init")
            cipher = self._context.cipher
            try:
                raw = cipher.decrypt(row[1], device_key_aad(row[0], cipher.key_version))
            except CryptoError:
                raise StoreError(
                    "the device key does not authenticate (the database was altered); "
                    "run `epro verify` and report it"
                ) from None
            self._hot._device_key = DeviceKey.from_private_bytes(raw)
        return self._hot._device_key

    def study_public_key(self) -> StudyPublicKey | None:
        """Read every time (enrolment may set it meanwhile), parsed only when it changed."""
        row = self._execute("SELECT study_public_key FROM device").fetchone()
        text = None if row is None else row[0]
        if text is None:
            return None
        cached = self._hot._study_key
        if cached is None or cached[0] != text:
            cached = (text, StudyPublicKey.from_json(text))
            self._hot._study_key = cached
        return cached[1]

    # --- writing ---------------------------------------------------------------------------

    def add_response(self, meta: ResponseMeta) -> None:
        """Insert a new response. The caller has read its patient in this transaction; the
        primary and foreign keys refuse a reused id or an unknown patient all the same."""
        self._execute(
            _INSERT_RESPONSE,
            (
                meta.id,
                meta.patient,
                meta.visit,
                meta.form_id,
                meta.form_version,
                meta.form_sha256,
                meta.respondent,
                meta.language,
                ResponseStatus(meta.status).value,
                to_text(meta.started_at),
                to_text(meta.updated_at),
                meta.key_version,
                meta.position,
                to_text_or_none(meta.submitted_at),
                meta.out_of_window_reason,
                meta.answers_sha256,
                meta.purged,
            ),
            conflict=(
                f"response {meta.id} was not added: its id is taken or its patient is not "
                "enrolled; enrol the patient first, a response id is never reused"
            ),
        )

    def update_response(self, meta: ResponseMeta) -> None:
        """Save status, times and position; patient, form and key version never change."""
        cursor = self._execute(
            _UPDATE_RESPONSE,
            (
                ResponseStatus(meta.status).value,
                to_text(meta.updated_at),
                meta.position,
                to_text_or_none(meta.submitted_at),
                meta.out_of_window_reason,
                meta.answers_sha256,
                meta.purged,
                meta.id,
                meta.patient,
                meta.form_id,
                meta.form_version,
                meta.key_version,
            ),
        )
        if cursor.rowcount != 1:
            raise StoreError(
                f"response {meta.id}: not in the store, or its patient, form, form version or "
                "key version changed; start a new response instead"
            )

    def touch_response(self, meta: ResponseMeta) -> None:
        """Save only the position and the time: what every answer changes in its response.

        Narrower than :meth:`update_response` on purpose: an UPDATE that names ``status``
        rewrites that index's page too, one more page in the WAL for every answer.
        """
        cursor = self._execute(
            "UPDATE responses SET position = ?, updated_at = ? WHERE id = ?",
            (meta.position, to_text(meta.updated_at), meta.id),
        )
        if cursor.rowcount != 1:
            raise StoreError(f"response {meta.id} is not in the store; add it before updating")

    def put_answer(self, stored: ResponseMeta, link_id: str, value: AnswerValue) -> None:
        """Encrypt and upsert one answer; ``stored`` must be read in this transaction."""
        if stored.purged:
            raise StoreError(f"response {stored.id} was purged after upload; it takes no answers")
        cipher = self._context.cipher
        key_version = cipher.key_version
        blob = cipher.encrypt(json.dumps(value).encode(), answer_aad(stored, link_id, key_version))
        self._execute(_UPSERT_ANSWER, (stored.id, link_id, key_version, blob))

    def remove_answer(self, response_id: str, link_id: str) -> None:
        self._execute(
            "DELETE FROM answers WHERE response_id = ? AND link_id = ?", (response_id, link_id)
        )

    def add_outbox(self, entry: OutboxEntry) -> None:
        """Queue a sealed envelope; the primary key refuses a second entry for a response."""
        self._execute(
            _OUTBOX_INSERT,
            (
                entry.response_id,
                entry.envelope_json,
                entry.sha256,
                to_text(entry.created_at),
                entry.attempts,
                entry.last_error,
                to_text_or_none(entry.sent_at),
                to_text_or_none(entry.acknowledged_at),
                entry.receipt_id,
            ),
            conflict=f"response {entry.response_id} is already in the outbox",
        )

    def audit(
        self,
        kind: AuditKind,
        actor: str,
        *,
        response_id: str | None = None,
        link_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Append one event to the hash chain (``detail`` is never an answer value)."""
        # The head is read inside this BEGIN IMMEDIATE transaction, so no other writer (a unit
        # of work, another program) can append between this read and the insert; on the
        # INTEGER PRIMARY KEY it is one B-tree descent, not a scan.
        head = self._execute(_AUDIT_HEAD).fetchone()
        seq = 1 if head is None else int(head[0]) + 1
        prev_hash = GENESIS if head is None else str(head[1])
        at = to_text(self._context.clock())
        value = AuditKind(kind).value
        device_id = self._context.device_id
        canonical = canonical_event(
            seq=seq,
            at=at,
            actor=actor,
            kind=value,
            device_id=device_id,
            response_id=response_id,
            link_id=link_id,
            detail=detail,
        )
        self._execute(
            _AUDIT_INSERT,
            (
                seq,
                at,
                actor,
                value,
                device_id,
                response_id,
                link_id,
                detail,
                prev_hash,
                chain_hash(prev_hash, canonical),
            ),
        )

    # --- plumbing --------------------------------------------------------------------------

    def _execute(
        self, sql: str, parameters: tuple[object, ...] = (), *, conflict: str | None = None
    ) -> sqlite3.Cursor:
        if self._db is None:
            raise StoreError("use the transaction inside a `with` block")
        return self._run(self._db, sql, parameters, conflict)

    def _run(
        self,
        db: sqlite3.Connection,
        sql: str,
        parameters: tuple[object, ...] = (),
        conflict: str | None = None,
    ) -> sqlite3.Cursor:
        try:
            return db.execute(sql, parameters)
        except sqlite3.IntegrityError as error:
            # A key the caller did not check first (it would cost a read per write): say which.
            if conflict is None:
                raise translate(error, self._context.path) from None
            raise StoreError(conflict) from None
        except sqlite3.Error as error:
            # Plain words, never the bound values (they may be patient data).
            raise translate(error, self._context.path) from None
