"""The keyed, hash-chained, append-only audit log.

``hash = HMAC-SHA256(audit key, prev_hash || canonical JSON of (seq, at, actor, kind, device,
response_id, link_id, detail))`` with ``prev_hash`` as its 64 hex characters (ASCII) and the
genesis ``prev_hash`` 64 zeros. The JSON is canonical (sorted keys, no spaces, UTF-8), times are
ISO-8601 UTC with microseconds. The audit key is derived from the kiosk's data key
(``audit_keying``), so only an unlocked kiosk can make a link: whoever edits the file without
the passphrase (drops the triggers, removes events, re-chains the rest) cannot make the
links ``verify`` recomputes. Events written before the chain was keyed (a file of schema 4
or older) keep their plain ``sha256(prev_hash || canonical)`` links and are checked as such,
up to the authenticated sequence number the keyed part starts from. The chain head and the
links since the last head the server holds go to the server at each sync, so a rewritten or
rolled-back log is caught there too.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
from collections.abc import Callable, Sequence
from datetime import datetime
from json.encoder import encode_basestring as _quote  # C-accelerated; ensure_ascii=False

from sqlmodel import Session, col, select

from epro.store._time import from_text, to_text
from epro.store.domain import AuditEvent, AuditKind
from epro.store.tables import AuditRow

GENESIS = "0" * 64
HEAD_SQL = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
_COLUMNS = (
    "seq",
    "at",
    "actor",
    "kind",
    "device_id",
    "response_id",
    "link_id",
    "detail",
    "prev_hash",
    "hash",
)
#: Inserts one row as built by :func:`chained_rows` (columns in that order).
INSERT_SQL = f"INSERT INTO audit ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def canonical_event(
    *,
    seq: int,
    at: str,
    actor: str,
    kind: str,
    device_id: str,
    response_id: str | None,
    link_id: str | None,
    detail: str | None,
) -> bytes:
    """The canonical JSON of one event: the bytes its hash covers.

    Exactly ``json.dumps`` of the fields with sorted keys, compact separators and
    ``ensure_ascii=False`` (a test holds the two equal), written out in key order with each
    string quoted by the json module's own C quoting: a purge audits every acknowledged
    response, and the general encoder was most of that cost.
    """
    shared = _shared_fields(at=at, actor=actor, kind=kind, device_id=device_id)
    return _canonical_text(shared, seq, response_id, link_id, detail).encode()


def _shared_fields(*, at: str, actor: str, kind: str, device_id: str) -> tuple[str, str]:
    """The canonical JSON around ``detail`` of the fields the events of one append share
    (time, actor, kind, device), quoted once for all of them."""
    return (
        f'{{"actor":{_quote(actor)},"at":{_quote(at)},"detail":',
        f',"device":{_quote(device_id)},"kind":{_quote(kind)},"link_id":',
    )


def _canonical_text(
    shared: tuple[str, str],
    seq: int,
    response_id: str | None,
    link_id: str | None,
    detail: str | None,
) -> str:
    before_detail, before_link = shared
    return (
        f"{before_detail}{_maybe(detail)}{before_link}{_maybe(link_id)},"
        f'"response_id":{_maybe(response_id)},"seq":{int(seq)}}}'
    )


def _maybe(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """The unkeyed link of an event written before the chain was keyed (schema 4 or older)."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


def keyed_chain_hash(key: bytes, prev_hash: str, canonical: bytes) -> str:
    """The keyed link of an event: HMAC-SHA256 under the audit key."""
    return hmac.digest(key, prev_hash.encode("ascii") + canonical, "sha256").hex()


def chained_rows(
    head: tuple[int, str] | None,
    *,
    key: bytes,
    at: datetime,
    kind: AuditKind,
    actor: str,
    device_id: str,
    events: Sequence[tuple[str | None, str | None, str | None]],
) -> list[tuple[object, ...]]:
    """Audit rows for ``(response_id, link_id, detail)`` events at ``at``, chained in order
    after ``head`` — the one place a chained row is built.

    ``head`` is the ``(seq, hash)`` of the last stored event (None for an empty log); ``key``
    the audit key every new link is made under. The rows
    (in ``INSERT`` column order) chain exactly as one ``append`` per event would; the events
    of one batch share one transaction, so they share its time too, and the fields they share
    are quoted once.
    """
    seq = 0 if head is None else int(head[0])
    prev_hash = GENESIS if head is None else str(head[1])
    when = to_text(at)
    kind_value = AuditKind(kind).value
    shared = _shared_fields(at=when, actor=actor, kind=kind_value, device_id=device_id)
    mac = hmac.digest
    rows: list[tuple[object, ...]] = []
    for response_id, link_id, detail in events:
        seq += 1
        canonical = _canonical_text(shared, seq, response_id, link_id, detail)
        # keyed_chain_hash(key, prev_hash, canonical.encode()): the hex hash is ASCII
        digest = mac(key, f"{prev_hash}{canonical}".encode(), "sha256").hex()
        row = (seq, when, actor, kind_value, device_id, response_id, link_id, detail, prev_hash)
        rows.append((*row, digest))
        prev_hash = digest
    return rows


def row_hash(row: AuditRow, key: bytes | None = None) -> str:
    """The hash a stored row should carry, recomputed from its fields (``key``: the audit key
    for a keyed event; None for an event written before the chain was keyed)."""
    canonical = canonical_event(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        kind=row.kind,
        device_id=row.device_id,
        response_id=row.response_id,
        link_id=row.link_id,
        detail=row.detail,
    )
    if key is None:
        return chain_hash(row.prev_hash, canonical)
    return keyed_chain_hash(key, row.prev_hash, canonical)


def to_event(row: AuditRow) -> AuditEvent:
    return AuditEvent(
        seq=row.seq,
        at=from_text(row.at),
        actor=row.actor,
        kind=AuditKind(row.kind),
        device_id=row.device_id,
        response_id=row.response_id,
        link_id=row.link_id,
        detail=row.detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def check_chain(rows: list[AuditRow], key: bytes, keyed_from: int) -> str | None:
    """The first break in the chain (rows in seq order), in words; None when it is whole.

    Events from ``keyed_from`` on must carry their keyed link; earlier ones (written before
    the chain was keyed) their plain SHA-256 link. A re-chained log fails here even when the
    append-only triggers were dropped: its maker did not have the key.
    """
    expected_seq = 1
    prev_hash = GENESIS
    for row in rows:
        if row.seq != expected_seq:
            return (
                f"audit event {expected_seq}: missing (the log jumps from event "
                f"{expected_seq - 1} to {row.seq}; an event was deleted)"
            )
        if row.prev_hash != prev_hash:
            return (
                f"audit event {row.seq}: does not follow event {row.seq - 1} "
                "(edited, deleted or reordered)"
            )
        if row_hash(row, key if row.seq >= keyed_from else None) != row.hash:
            return (
                f"audit event {row.seq}: hash does not match (edited, deleted, reordered or "
                "re-chained without the kiosk's key)"
            )
        expected_seq += 1
        prev_hash = row.hash
    return None


class AuditRepository:
    """Appends events under the unit of work's transaction (``BEGIN IMMEDIATE`` serialises seq)."""

    def __init__(
        self,
        session: Session,
        device_id: str,
        clock: Callable[[], datetime],
        key: bytes,
    ) -> None:
        self._session = session
        self._device_id = device_id
        self._clock = clock
        self._key = key

    def append(
        self,
        kind: AuditKind,
        actor: str,
        *,
        response_id: str | None = None,
        link_id: str | None = None,
        detail: str | None = None,
    ) -> AuditEvent:
        """Add one event. ``detail`` is free text for staff — never an answer value."""
        # Plain SQL, not ORM objects: this runs with every answer (see answers.py).
        connection = self._session.connection()
        head = connection.exec_driver_sql(HEAD_SQL).first()
        (values,) = chained_rows(
            None if head is None else (int(head[0]), str(head[1])),
            key=self._key,
            at=self._clock(),
            kind=kind,
            actor=actor,
            device_id=self._device_id,
            events=[(response_id, link_id, detail)],
        )
        connection.exec_driver_sql(INSERT_SQL, values)
        row = AuditRow.model_validate(dict(zip(_COLUMNS, values, strict=True)))
        return to_event(row)

    def head(self) -> AuditEvent | None:
        row = self._head_row()
        return None if row is None else to_event(row)

    def list(self, after_seq: int = 0) -> builtins.list[AuditEvent]:
        statement = select(AuditRow).where(AuditRow.seq > after_seq).order_by(col(AuditRow.seq))
        return [to_event(row) for row in self._session.exec(statement)]

    def _head_row(self) -> AuditRow | None:
        statement = select(AuditRow).order_by(col(AuditRow.seq).desc()).limit(1)
        return self._session.exec(statement).first()

    def keyed_from(self) -> int | None:
        """Where the keyed part of the chain starts, as recorded (``verify`` authenticates it)."""
        row = (
            self._session.connection()
            .exec_driver_sql("SELECT keyed_from FROM audit_keying WHERE id = 1")
            .first()
        )
        return None if row is None else int(row[0])

    def links(self, from_seq: int, limit: int) -> tuple[builtins.list[tuple[int, str]], str]:
        """``(seq, hash)`` of up to ``limit`` events from ``from_seq`` on, in order, and the
        stored time of the last (empty and "" when there are none): what the kiosk shows the
        server to prove its log extends the head the server holds."""
        connection = self._session.connection()
        rows = connection.exec_driver_sql(
            "SELECT seq, hash FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?",
            (int(from_seq), int(limit)),
        ).all()
        if not rows:
            return [], ""
        at = connection.exec_driver_sql(
            "SELECT at FROM audit WHERE seq = ?", (int(rows[-1][0]),)
        ).scalar_one()
        return [(int(seq), str(digest)) for seq, digest in rows], str(at)
