"""``epro-sync bundle``: the study's sealed data, streamed from the database into one file.

The bundle (format in :mod:`epro.bundle`) holds the kiosk registry, the roster, the server
audit log, the quarantine, the data managers' annotations (responses marked entered in error)
and every stored envelope exactly as stored. It is read in one
read-only transaction, so every section shows the same moment, and streamed: rows come from
a server-side cursor (PostgreSQL) or the driver's row-by-row reads (SQLite) a batch at a
time, so memory stays flat however many responses the study holds.

The file appears only when it is complete: it is written to a temporary file beside it (mode
0600, fsynced) and then given its name; an existing file is never replaced.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Generator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlmodel import Session

from epro.bundle import (
    AnnotationRecord,
    AuditRecord,
    BundleHeader,
    BundleManifest,
    BundleWriter,
    DeviceRecord,
    QuarantineRecord,
    Record,
    ResponseRecord,
    RosterRecord,
)
from epro.errors import EproError
from epro_sync.console.events import audit
from epro_sync.db import read_snapshot, writer_lock
from epro_sync.migrations import current_version
from epro_sync.storage import record
from epro_sync.tables import AuditEvent, as_utc

#: Rows fetched from the database at a time.
ROWS_PER_FETCH = 500

_TABLES = AuditEvent.metadata.tables
_DEVICES = _TABLES["devices"]
_PATIENTS = _TABLES["patients"]
_AUDIT = _TABLES["audit"]
_QUARANTINE = _TABLES["quarantine"]
_RESPONSES = _TABLES["responses"]
_ANNOTATIONS = _TABLES["annotations"]


def write_bundle(
    engine: Engine,
    out: Path,
    *,
    site: str | None,
    now: datetime,
    study_key_fingerprint: str | None = None,
) -> BundleManifest:
    """Write the bundle of ``site`` (every site when None) to ``out`` and audit it.

    Refuses an existing ``out``; on any failure nothing is left behind.
    """
    out = Path(out)
    if out.exists():
        raise EproError(f"{out} exists already; choose a new file name (nothing was written)")
    if not out.parent.is_dir():
        raise EproError(f"the folder {out.parent} does not exist; create it first")
    header = BundleHeader(
        created_at=now,
        server_schema_version=current_version(engine),
        site=site,
        study_key_fingerprint=study_key_fingerprint,
    )
    temporary = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise EproError(f"cannot write in {out.parent}: {error.strerror}") from None
    try:
        with os.fdopen(descriptor, "wb", buffering=1 << 20) as handle:
            manifest = _stream(engine, handle, header)
            handle.flush()
            os.fsync(handle.fileno())
        _publish(temporary, out)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    with Session(engine) as session:
        record(
            session,
            now,
            "bundle",
            site=site,
            counts=dict(manifest.counts),
            sha256=manifest.sha256,
        )
        session.commit()
    return manifest


#: Bytes gathered before a streamed bundle hands them on (see stream_bundle).
CHUNK_BYTES = 256 * 1024


class _Chunks:
    """A write-only binary sink that keeps what is written until it is taken."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(data)
        self.size += len(data)
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts, self.size = [], 0
        return data


def stream_bundle(
    engine: Engine,
    *,
    site: str | None,
    now: datetime,
    actor: str,
    study_key_fingerprint: str | None = None,
) -> Generator[bytes]:
    """The bundle of ``site`` as chunks of bytes, for a download: the same records, order and
    manifest as :func:`write_bundle`, read from one snapshot a batch of rows at a time, so
    memory stays flat however large the study.

    The download is audited when its last byte has been handed on (``bundle``, with ``actor``,
    the counts and the SHA-256, as the command line records it), or as ``bundle_incomplete``
    when the reader went away before the end.
    """
    header = BundleHeader(
        created_at=now,
        server_schema_version=current_version(engine),
        site=site,
        study_key_fingerprint=study_key_fingerprint,
    )
    sink = _Chunks()
    manifest: BundleManifest | None = None
    try:
        writer = BundleWriter(sink, header)  # type: ignore[arg-type]
        with (
            read_snapshot(engine) as connection,
            contextlib.closing(_records(connection, site)) as records,
        ):
            for item in records:
                writer.write(item)
                if sink.size >= CHUNK_BYTES:
                    yield sink.take()
        manifest = writer.finish()
        yield sink.take()
    finally:
        with writer_lock(engine), Session(engine) as session:
            if manifest is None:
                audit(session, now, "bundle_incomplete", actor=actor, site=site, via="console")
            else:
                audit(
                    session,
                    now,
                    "bundle",
                    actor=actor,
                    site=site,
                    via="console",
                    counts=dict(manifest.counts),
                    sha256=manifest.sha256,
                )
            session.commit()


def _publish(temporary: Path, out: Path) -> None:
    """Give the finished file its name without ever replacing a file of that name."""
    try:
        os.link(temporary, out)
    except FileExistsError:
        raise EproError(
            f"{out} appeared while the bundle was written; nothing was replaced"
        ) from None
    except OSError as error:
        # Some file systems (FAT on USB sticks) have no hard links: a rename it is there.
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise EproError(f"cannot write {out}: {error.strerror}") from None
        if out.exists():
            raise EproError(
                f"{out} appeared while the bundle was written; nothing was replaced"
            ) from None
        os.rename(temporary, out)
    else:
        temporary.unlink()
    with contextlib.suppress(OSError):  # the new name is durable too (not on every platform)
        folder = os.open(out.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _rows(connection: Connection, statement: sa.Select[Any]) -> Iterator[sa.Row[Any]]:
    # yield_per streams: a server-side cursor on PostgreSQL, fetchmany on SQLite.
    # Closed however the reader stops (a download abandoned part-way closes this generator):
    # a server-side cursor must not outlive its transaction.
    with connection.execute(statement.execution_options(yield_per=ROWS_PER_FETCH)) as result:
        yield from result


def _site_rows(
    connection: Connection, table: sa.Table, key: str, site: str | None
) -> Iterator[sa.Row[Any]]:
    """The rows of ``table`` (only those of ``site`` when one is given) by code point of ``key``."""
    query = sa.select(table).order_by(_ordered(connection, table.c[key]))
    if site is not None:
        query = query.where(table.c.site == site)
    return _rows(connection, query)


def _ordered(connection: Connection, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """Text ordered by code point on every database, as the bundle format requires
    (PostgreSQL's default collation would put ``DEMO_2`` before ``DEMO-1``)."""
    return column.collate("C") if connection.dialect.name == "postgresql" else column


def _stream(engine: Engine, handle: BinaryIO, header: BundleHeader) -> BundleManifest:
    writer = BundleWriter(handle, header)
    with read_snapshot(engine) as connection:
        for item in _records(connection, header.site):
            writer.write(item)
    return writer.finish()


def _records(connection: Connection, site: str | None) -> Generator[Record]:
    """Every record of the bundle of ``site`` (every site when None), in bundle order."""
    for row in _site_rows(connection, _DEVICES, "device_id", site):
        yield DeviceRecord(
            device_id=row.device_id,
            site=row.site,
            label=row.label,
            public_key=row.public_key,
            enrolled_at=as_utc(row.enrolled_at),
            revoked_at=None if row.revoked_at is None else as_utc(row.revoked_at),
        )
    for row in _site_rows(connection, _PATIENTS, "code", site):
        yield RosterRecord(
            code=row.code,
            site=row.site,
            birth_ym=row.birth_ym,
            baseline_date=row.baseline_date,
        )
    audit = sa.select(_AUDIT).order_by(_AUDIT.c.id)
    if site is not None:
        # Events of the site, and those of the server as a whole (migrations, verify runs).
        audit = audit.where(sa.or_(_AUDIT.c.site == site, _AUDIT.c.site.is_(None)))
    for row in _rows(connection, audit):
        yield AuditRecord(
            id=row.id,
            at=as_utc(row.at),
            event=row.event,
            device_id=row.device_id,
            site=row.site,
            detail=row.detail,
        )
    quarantine = sa.select(_QUARANTINE).order_by(_QUARANTINE.c.id)
    if site is not None:
        kiosks = sa.select(_DEVICES.c.device_id).where(_DEVICES.c.site == site)
        quarantine = quarantine.where(_QUARANTINE.c.device_id.in_(kiosks))
    for row in _rows(connection, quarantine):
        yield QuarantineRecord(
            id=row.id,
            response_id=row.response_id,
            device_id=row.device_id,
            sha256=row.sha256,
            received_at=as_utc(row.received_at),
            original_receipt_id=row.original_receipt_id,
            envelope=row.envelope,
        )
    a = _ANNOTATIONS.c
    annotations = (
        sa.select(_ANNOTATIONS, _RESPONSES.c.patient)
        .select_from(_ANNOTATIONS.join(_RESPONSES, a.response_id == _RESPONSES.c.response_id))
        .order_by(a.id)
    )
    if site is not None:
        annotations = annotations.where(a.site == site)
    for row in _rows(connection, annotations):
        yield AnnotationRecord(
            id=row.id,
            response_id=row.response_id,
            site=row.site,
            patient=row.patient,
            kind=row.kind,
            reason=row.reason,
            actor=row.actor,
            at=as_utc(row.at),
        )
    r = _RESPONSES.c
    responses = sa.select(
        r.site,
        r.patient,
        r.visit,
        r.submitted_at,
        r.response_id,
        r.device_id,
        r.receipt_id,
        r.received_at,
        r.sha256,
        r.envelope,
    ).order_by(
        _ordered(connection, r.site),
        _ordered(connection, r.patient),
        _ordered(connection, r.visit),
        r.submitted_at,
        _ordered(connection, r.response_id),
    )
    if site is not None:
        responses = responses.where(r.site == site)
    for row in _rows(connection, responses):
        yield ResponseRecord(
            site=row.site,
            patient=row.patient,
            visit=row.visit,
            submitted_at=as_utc(row.submitted_at),
            response_id=row.response_id,
            device_id=row.device_id,
            receipt_id=row.receipt_id,
            received_at=as_utc(row.received_at),
            sha256=row.sha256,
            envelope=row.envelope,
        )
