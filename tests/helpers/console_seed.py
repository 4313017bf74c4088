"""Rows written straight into a migrated server database, for the console's query tests.

The console only reads what uploads, roster pushes and audit heads have stored; writing those
rows directly lets a test set up any calendar (a visit overdue today, a kiosk silent for ten
days) without a kiosk clock. The upload path itself is tested in test_batch_upload.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import Connection

from epro_sync.tables import ServerModel

T = ServerModel.metadata.tables
ENROLLED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def add_device(
    conn: Connection,
    device_id: str,
    site: str,
    label: str,
    *,
    enrolled_at: datetime = ENROLLED,
    last_seen_at: datetime | None = None,
    revoked_at: datetime | None = None,
) -> None:
    conn.execute(
        T["devices"]
        .insert()
        .values(
            device_id=device_id,
            site=site,
            label=label,
            public_key=uuid.uuid4().hex,
            token_sha256=uuid.uuid4().hex,
            enrolled_at=enrolled_at,
            revoked_at=revoked_at,
            last_seen_at=last_seen_at,
        )
    )


def add_patient(
    conn: Connection, code: str, site: str, baseline: date, *, birth_ym: str, device_id: str
) -> None:
    conn.execute(
        T["patients"]
        .insert()
        .values(
            code=code,
            site=site,
            birth_ym=birth_ym,
            baseline_date=baseline,
            language="en",
            device_id=device_id,
            created_at=ENROLLED,
            updated_at=ENROLLED,
        )
    )


def add_response(
    conn: Connection,
    *,
    device_id: str,
    site: str,
    patient: str,
    visit: str,
    form_id: str,
    respondent: str,
    submitted_at: datetime,
    received_at: datetime | None = None,
    response_id: str | None = None,
) -> str:
    rid = response_id or str(uuid.uuid4())
    conn.execute(
        T["responses"]
        .insert()
        .values(
            response_id=rid,
            receipt_id=str(uuid.uuid4()),
            device_id=device_id,
            site=site,
            patient=patient,
            visit=visit,
            form_id=form_id,
            form_version="1.0.0",
            respondent=respondent,
            submitted_at=submitted_at,
            out_of_window=False,
            sha256=uuid.uuid4().hex * 2,
            envelope='{"sealed": "stand-in"}',
            received_at=received_at or submitted_at,
        )
    )
    return rid


def add_head(
    conn: Connection, device_id: str, seq: int, at: datetime, received_at: datetime
) -> None:
    conn.execute(
        T["audit_heads"]
        .insert()
        .values(device_id=device_id, seq=seq, hash="a" * 64, at=at, received_at=received_at)
    )


def add_event(
    conn: Connection, event: str, at: datetime, *, device_id: str | None, site: str | None
) -> None:
    conn.execute(
        T["audit"].insert().values(at=at, event=event, device_id=device_id, site=site, detail="{}")
    )
