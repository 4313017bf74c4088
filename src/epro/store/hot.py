"""The hot path: the session's writes (start, each answer, submit) and the acknowledgement
of uploaded batches, in plain SQL.

A kiosk writes one durable transaction per answer, and a large sync acknowledges thousands of
responses. Through the ORM, the per-statement and per-object bookkeeping cost several times the
encryption and the fsync together, so these transactions run on one cached ``sqlite3``
connection of the store instead (same safety PRAGMAs, read back when it opens; ``BEGIN
IMMEDIATE``; the same audit chain and AES-GCM records as the repositories).
``with store.transaction() as tx: ...; tx.commit()`` — leaving the block without ``commit()``
rolls everything back, exactly like a unit of work.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import date, datetime
from itertools import chain
from pathlib import Path
from types import TracebackType
from typing import NamedTuple, NoReturn, cast

from epro.crypto import DeviceKey, StudyPublicKey
from epro.errors import CryptoError, StoreError
from epro.forms.model import AnswerValue
from epro.store import trust
from epro.store._time import from_text, from_text_or_none, to_text, to_text_or_none
from epro.store.answers import answer_aad, answers_digest, decrypt_answer
from epro.store.audit import HEAD_SQL, INSERT_SQL, chained_rows
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
#: Ids per ``IN (...)`` list, well under SQLite's bound-parameter limit.
_CHUNK = 500
#: ``UPDATE … RETURNING`` (SQLite 3.35): the one-pass acknowledgement needs it.
_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)
#: The ``(?, ?, …)`` of one audit row, and audit rows per multi-row INSERT: under the bound-
#: parameter limit of every SQLite (999 before 3.32, 32,766 since).
_AUDIT_ROW_MARKS = INSERT_SQL[INSERT_SQL.rindex("(") :]
_AUDIT_ROWS_PER_INSERT = (
    500 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999 // _AUDIT_ROW_MARKS.count("?")
)
_OUTBOX_INSERT = (
    "INSERT INTO outbox (response_id, sha256, created_at, attempts, last_error, sent_at, "
    "acknowledged_at, receipt_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_ENVELOPE_INSERT = "INSERT INTO envelopes (response_id, envelope_json) VALUES (?, ?)"
#: What sealing a response relies on: the key it seals to and the identity it signs as.
_SEALING_SETTINGS = ("study_public_key", "site", "device_id")


class ResponseState(NamedTuple):
    """What acknowledging needs of a stored response (see :meth:`Transaction.states`)."""

    status: ResponseStatus
    answers_sha256: str | None


class Queued(NamedTuple):
    """An outbox entry waiting for its receipt, as an upload needs it (see :meth:`queued`)."""

    response_id: str
    envelope_json: str
    created_at: str  # as stored; with ``response_id``, the entry's place in the queue
    last_error: str | None

    @property
    def position(self) -> tuple[str, str]:
        """Where the next read of the queue continues (``queued(after=...)``)."""
        return (self.created_at, self.response_id)


def _chunks(ids: Sequence[str]) -> Iterator[tuple[tuple[str, ...], str]]:
    """``ids`` in slices of at most ``_CHUNK``, each with its ``?, ?, ...`` placeholders."""
    for start in range(0, len(ids), _CHUNK):
        chunk = tuple(ids[start : start + _CHUNK])
        yield chunk, ", ".join("?" * len(chunk))


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
        # Digests of the answers read by ``answers`` in this transaction, by response id, so
        # that submit hashes exactly what it sealed without decrypting a second time.
        self._digests: dict[str, str] = {}

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
        rows = self._execute(
            "SELECT link_id, key_version, ciphertext FROM answers WHERE response_id = ?"
            " ORDER BY link_id",
            (meta.id,),
        ).fetchall()
        answers = {
            link_id: self._decrypt(meta, link_id, key_version, ciphertext)
            for link_id, key_version, ciphertext in rows
        }
        self._digests[meta.id] = answers_digest(answers)
        return answers

    def queued(self, limit: int, after: tuple[str, str] | None = None) -> list[Queued]:
        """Up to ``limit`` entries without a receipt, oldest first (then by id), only those
        after the queue position ``after``: an upload reads each batch once, and no batch
        still in flight, through the partial index of pending entries."""
        columns = (
            "SELECT o.response_id, e.envelope_json, o.created_at, o.last_error FROM outbox AS o "
            "JOIN envelopes AS e ON e.response_id = o.response_id WHERE o.acknowledged_at IS NULL"
        )
        order = "ORDER BY o.created_at, o.response_id LIMIT ?"
        if after is None:
            rows = self._execute(f"{columns} {order}", (limit,))
        else:
            rows = self._execute(
                f"{columns} AND (o.created_at, o.response_id) > (?, ?) {order}", (*after, limit)
            )
        return [Queued(*row) for row in rows.fetchall()]

    def states(self, response_ids: Collection[str]) -> dict[str, ResponseState]:
        """Status and stored answers digest of each of ``response_ids`` that exists.

        One SELECT per 500 ids: what acknowledging a whole upload batch needs to check first.
        """
        found: dict[str, ResponseState] = {}
        for chunk, marks in _chunks(sorted(set(response_ids))):
            rows = self._execute(
                f"SELECT id, status, answers_sha256 FROM responses WHERE id IN ({marks})", chunk
            ).fetchall()
            for rid, status, digest in rows:
                found[rid] = ResponseState(ResponseStatus(status), digest)
        return found

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
        """Read every time (enrolment may set it meanwhile), parsed only when it changed.

        The key, the site and the device id (which go into the envelope) must authenticate
        (``epro.store.trust``): a key swapped in the file raises TrustError, nothing is sealed.
        """
        context = self._context
        text = trust.check(self._execute, context.cipher, context.settings_key, _SEALING_SETTINGS)[
            "study_public_key"
        ]
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
        """Save status, times and position; patient, form and key version never change.

        A response saved as SUBMITTED without ``answers_sha256`` gets it here, inside the
        submit transaction: the digest of the answers it sealed (read by ``answers``), else of
        its stored answers. Submitted answers never change, so this is what a purge would have
        computed, and the purge after the server's receipt need not decrypt anything.
        """
        if meta.status == ResponseStatus.SUBMITTED and meta.answers_sha256 is None:
            digest = self._digests.get(meta.id)
            meta.answers_sha256 = digest if digest is not None else self._digest_of(meta)
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
        self._digests.pop(stored.id, None)

    def remove_answer(self, response_id: str, link_id: str) -> None:
        self._digests.pop(response_id, None)
        self._execute(
            "DELETE FROM answers WHERE response_id = ? AND link_id = ?", (response_id, link_id)
        )

    def add_outbox(self, entry: OutboxEntry) -> None:
        """Queue a sealed envelope; the primary key refuses a second entry for a response."""
        conflict = f"response {entry.response_id} is already in the outbox"
        self._execute(_ENVELOPE_INSERT, (entry.response_id, entry.envelope_json), conflict=conflict)
        self._execute(
            _OUTBOX_INSERT,
            (
                entry.response_id,
                entry.sha256,
                to_text(entry.created_at),
                entry.attempts,
                entry.last_error,
                to_text_or_none(entry.sent_at),
                to_text_or_none(entry.acknowledged_at),
                entry.receipt_id,
            ),
            conflict=conflict,
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
        self._append_events(kind, actor, [(response_id, link_id, detail)])

    def acknowledge_many(
        self,
        receipts: Sequence[tuple[str, str]],
        states: Mapping[str, ResponseState],
        *,
        at: datetime,
        updated_at: datetime,
    ) -> dict[str, str]:
        """Receipts in, local answers out: the set-based core of acknowledging responses.

        For distinct ``(response_id, receipt_id)`` pairs whose ``states`` (read by
        :meth:`states` in this transaction) the caller has checked: the outbox entries get
        their receipt and ``at``, the answer rows are deleted, and the responses become
        ACKNOWLEDGED and purged (``updated_at``). Returns each response's answers digest: the
        one stored at submit, or for a response submitted before digests were stored, computed
        now by decrypting its answers (before they go). StoreError when a response has no
        outbox entry; roll back then, nothing is meant to be kept.
        """
        if not receipts:
            return {}
        ids = [rid for rid, _ in receipts]
        stored = {rid: states[rid].answers_sha256 for rid in ids}
        digests = self._decrypted_digests([rid for rid, digest in stored.items() if digest is None])
        digests.update((rid, digest) for rid, digest in stored.items() if digest is not None)
        when = to_text(at)
        cursor = self._execute_many(
            "UPDATE outbox SET receipt_id = ?, acknowledged_at = ? WHERE response_id = ?",
            [(receipt_id, when, rid) for rid, receipt_id in receipts],
        )
        if cursor.rowcount != len(receipts):
            self._missing_from_outbox(ids)
        for chunk, marks in _chunks(ids):
            self._execute(f"DELETE FROM answers WHERE response_id IN ({marks})", chunk)
        changed = to_text(updated_at)
        acknowledged = ResponseStatus.ACKNOWLEDGED.value
        self._execute_many(
            "UPDATE responses SET status = ?, answers_sha256 = ?, purged = 1, updated_at = ? "
            "WHERE id = ?",
            [(acknowledged, digests[rid], changed, rid) for rid in ids],
        )
        for rid in ids:
            self._digests.pop(rid, None)  # their answers are gone
        return digests

    def acknowledge_submitted(
        self, receipts: Sequence[tuple[str, str]], *, at: datetime, updated_at: datetime
    ) -> dict[str, str] | None:
        """:meth:`acknowledge_many` for the usual case, without reading the states first.

        When every response of the distinct ``(response_id, receipt_id)`` pairs is submitted
        or sent, has its answers digest stored, and has an outbox entry, they are
        acknowledged exactly as :meth:`acknowledge_many` does it and their digests come back.
        Otherwise nothing is changed and None comes back: read :meth:`states`, check them,
        and call :meth:`acknowledge_many`. The responses' status and digest come back from
        the UPDATE itself, so a whole batch is one statement per table.
        """
        if not receipts or not _RETURNING:
            return None
        ids = [rid for rid, _ in receipts]
        changed = to_text(updated_at)
        acknowledged = ResponseStatus.ACKNOWLEDGED.value
        ready = (ResponseStatus.SUBMITTED.value, ResponseStatus.SENT.value)
        self._execute("SAVEPOINT acknowledge_submitted")
        digests: dict[str, str] = {}
        for chunk, marks in _chunks(ids):
            rows = self._execute(
                "UPDATE responses SET status = ?, purged = 1, updated_at = ? "
                # ``+status``: look the ids up by key, not every submitted row by status
                f"WHERE id IN ({marks}) AND +status IN (?, ?) AND answers_sha256 IS NOT NULL "
                "RETURNING id, answers_sha256",
                (acknowledged, changed, *chunk, *ready),
            ).fetchall()
            digests.update(rows)
        when = to_text(at)
        if len(digests) == len(ids):
            # One statement per chunk, not one per response (see _append_events on why).
            acknowledged_entries = 0
            for start in range(0, len(receipts), _CHUNK):
                part = receipts[start : start + _CHUNK]
                acknowledged_entries += self._execute(
                    "UPDATE outbox SET receipt_id = r.column2, acknowledged_at = ? "
                    f"FROM (VALUES {', '.join(['(?, ?)'] * len(part))}) AS r "
                    "WHERE outbox.response_id = r.column1",
                    (when, *chain.from_iterable(part)),
                ).rowcount
            if acknowledged_entries == len(ids):
                for chunk, marks in _chunks(ids):
                    self._execute(f"DELETE FROM answers WHERE response_id IN ({marks})", chunk)
                self._execute("RELEASE acknowledge_submitted")
                for rid in ids:
                    self._digests.pop(rid, None)  # their answers are gone
                return digests
        self._execute("ROLLBACK TO acknowledge_submitted")
        self._execute("RELEASE acknowledge_submitted")
        return None

    def audit_many(
        self,
        kind: AuditKind,
        actor: str,
        events: Sequence[tuple[str | None, str | None]],
    ) -> None:
        """Append one event per ``(response_id, detail)``, chained in order, in one statement.

        The same chain as :meth:`audit` once per event, all at one time (one transaction); the
        head is read once, inside this ``BEGIN IMMEDIATE`` transaction, so nobody appends in
        between.
        """
        self._append_events(kind, actor, [(rid, None, detail) for rid, detail in events])

    def _append_events(
        self,
        kind: AuditKind,
        actor: str,
        events: Sequence[tuple[str | None, str | None, str | None]],
    ) -> None:
        if not events:
            return
        head = self._execute(HEAD_SQL).fetchone()
        rows = chained_rows(
            None if head is None else (int(head[0]), str(head[1])),
            key=self._context.audit_key,
            at=self._context.clock(),
            kind=kind,
            actor=actor,
            device_id=self._context.device_id,
            events=events,
        )
        # Many rows per INSERT rather than one executemany step per row: the driver lets go of
        # the GIL and takes it back at every step, and while a sync's upload threads run, each
        # of those was a wait.
        for start in range(0, len(rows), _AUDIT_ROWS_PER_INSERT):
            part = rows[start : start + _AUDIT_ROWS_PER_INSERT]
            self._execute(
                INSERT_SQL + f", {_AUDIT_ROW_MARKS}" * (len(part) - 1),
                tuple(chain.from_iterable(part)),
            )

    def _digest_of(self, meta: ResponseMeta) -> str:
        """The digest of the stored answers, by decrypting them (each one authenticates)."""
        self.answers(meta)
        return self._digests[meta.id]

    def _decrypted_digests(self, ids: Sequence[str]) -> dict[str, str]:
        """``_digest_of`` for many responses: two SELECTs per 500 ids, not two per response."""
        metas: dict[str, ResponseMeta] = {}
        answers: dict[str, dict[str, AnswerValue]] = {rid: {} for rid in ids}
        for chunk, marks in _chunks(ids):
            rows = self._execute(
                f"SELECT {_RESPONSE_COLUMNS} FROM responses WHERE id IN ({marks})", chunk
            ).fetchall()
            metas.update((meta.id, meta) for meta in map(_meta_from, rows))
            rows = self._execute(
                "SELECT response_id, link_id, key_version, ciphertext FROM answers "
                f"WHERE response_id IN ({marks})",
                chunk,
            ).fetchall()
            for rid, link_id, key_version, ciphertext in rows:
                answers[rid][link_id] = self._decrypt(metas[rid], link_id, key_version, ciphertext)
        missing = [rid for rid in ids if rid not in metas]
        if missing:
            raise StoreError(f"response {missing[0]} is not in the store; nothing was purged")
        return {rid: answers_digest(values) for rid, values in answers.items()}

    def _decrypt(
        self, meta: ResponseMeta, link_id: str, key_version: int, ciphertext: bytes
    ) -> AnswerValue:
        try:
            value = decrypt_answer(self._context.cipher, meta, link_id, key_version, ciphertext)
        except CryptoError:
            raise StoreError(
                f"answer of response {meta.id} item {link_id} does not authenticate "
                "(edited, swapped or damaged); run `epro verify` and report it"
            ) from None
        return cast(AnswerValue, value)

    def _missing_from_outbox(self, ids: Sequence[str]) -> NoReturn:
        """Name a response of ``ids`` without an outbox entry (the failure path only)."""
        present: set[str] = set()
        for chunk, marks in _chunks(ids):
            rows = self._execute(
                f"SELECT response_id FROM outbox WHERE response_id IN ({marks})", chunk
            ).fetchall()
            present.update(rid for (rid,) in rows)
        missing = [rid for rid in ids if rid not in present] or list(ids)
        others = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise StoreError(
            f"response {missing[0]} is not in the outbox{others}; nothing was acknowledged"
        )

    # --- plumbing --------------------------------------------------------------------------

    def _execute(
        self, sql: str, parameters: tuple[object, ...] = (), *, conflict: str | None = None
    ) -> sqlite3.Cursor:
        if self._db is None:
            raise StoreError("use the transaction inside a `with` block")
        return self._run(self._db, sql, parameters, conflict)

    def _execute_many(self, sql: str, rows: Sequence[tuple[object, ...]]) -> sqlite3.Cursor:
        if self._db is None:
            raise StoreError("use the transaction inside a `with` block")
        try:
            return self._db.executemany(sql, rows)
        except sqlite3.Error as error:
            # Plain words, never the bound values (they may be patient data).
            raise translate(error, self._context.path) from None

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
