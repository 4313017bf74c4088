"""The server's own audit log is hash-chained, so an edited or deleted row is found.

``hash = sha256(prev_hash || canonical JSON of (at, event, device_id, site, actor, detail))``, the
genesis ``prev_hash`` 64 zeros, rows chained in ``id`` order; ``at`` as ISO-8601 UTC with
microseconds. The append-only triggers stop an accidental ``UPDATE`` or ``DELETE`` (and on
PostgreSQL a ``TRUNCATE``); the chain finds what got past them, such as a row changed or
removed with the triggers dropped, or a partial restore. It is not keyed: an operator who
rewrites every later link as well is not caught by the chain alone (``epro-sync verify``
still compares the stored responses with the counts the kiosks report, see ``kiosk_heads``).

Appending reads the last link and inserts the next in one transaction; on PostgreSQL an
advisory transaction lock orders appenders of several server instances (SQLite has one
writer at a time anyway).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from epro_sync.tables import AuditEvent, as_utc

GENESIS = "0" * 64
#: An arbitrary constant naming the server audit's append lock on PostgreSQL.
_APPEND_LOCK_ID = 7_303_011_251
_AUDIT = AuditEvent.metadata.tables["audit"]
_CHUNK = 5000


def canonical(
    at: datetime,
    event: str,
    device_id: str | None,
    site: str | None,
    detail: str,
    actor: str | None = None,
) -> bytes:
    fields = {
        "actor": actor,
        "at": as_utc(at).isoformat(timespec="microseconds"),
        "detail": detail,
        "device_id": device_id,
        "event": event,
        "site": site,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def append(
    connection: Connection,
    at: datetime,
    event: str,
    device_id: str | None,
    site: str | None,
    detail: str,
    actor: str | None = None,
) -> None:
    """Insert one chained row in the connection's transaction (kiosk, CLI and console
    events alike)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _APPEND_LOCK_ID})
    prev = connection.execute(
        sa.select(_AUDIT.c.hash).order_by(_AUDIT.c.id.desc()).limit(1)
    ).scalar()
    prev_hash = prev or GENESIS
    at = as_utc(at)
    connection.execute(
        _AUDIT.insert().values(
            at=at,
            event=event,
            device_id=device_id,
            site=site,
            actor=actor,
            detail=detail,
            prev_hash=prev_hash,
            hash=link(prev_hash, canonical(at, event, device_id, site, detail, actor)),
        )
    )


def _rows(connection: Connection) -> Iterator[Any]:
    # The columns by name (not the whole model), so migration 7 reads the same on any later
    # schema.
    columns = [
        _AUDIT.c[name]
        for name in (
            "id",
            "at",
            "event",
            "device_id",
            "site",
            "actor",
            "detail",
            "prev_hash",
            "hash",
        )
    ]
    after = 0
    while True:
        chunk = connection.execute(
            sa.select(*columns).where(_AUDIT.c.id > after).order_by(_AUDIT.c.id).limit(_CHUNK)
        ).all()
        yield from chunk
        if len(chunk) < _CHUNK:
            return
        after = chunk[-1].id


def chain_problem(connection: Connection) -> tuple[int, str | None]:
    """How many rows were checked and the first break of the chain in words (None: whole)."""
    prev_hash = GENESIS
    checked = 0
    for row in _rows(connection):
        checked += 1
        if row.prev_hash != prev_hash:
            return checked, (
                f"server audit row {row.id}: does not follow the row before it "
                "(a row was deleted, inserted or reordered)"
            )
        body = canonical(row.at, row.event, row.device_id, row.site, row.detail, row.actor)
        if row.hash != link(prev_hash, body):
            return checked, f"server audit row {row.id}: its hash does not match (edited)"
        prev_hash = row.hash
    return checked, None


def chain_existing(connection: Connection) -> None:
    """Give rows written before the chain existed their links, in id order (migration 7)."""
    prev_hash = GENESIS
    updates = []
    for row in _rows(connection):
        body = canonical(row.at, row.event, row.device_id, row.site, row.detail, row.actor)
        digest = link(prev_hash, body)
        updates.append({"row_id": row.id, "p": prev_hash, "h": digest})
        prev_hash = digest
    if updates:
        connection.execute(
            sa.text("UPDATE audit SET prev_hash = :p, hash = :h WHERE id = :row_id"), updates
        )
