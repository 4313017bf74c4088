"""The server's repository: enrolment, kiosks, roster, completion, audit (uploads: ``upload``).

Functions take an open ``Session`` and never commit; the caller (a route or CLI command) owns
the transaction, so one request is one unit of work. Refusals a client can act on are raised as
:class:`Refusal` with the HTTP status the routes answer with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol, cast

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import CursorResult, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from epro.errors import EproError
from epro.protocol import (
    ENROLMENT_CODE_SEPARATOR,
    ROSTER_PAGE_MAX,
    CompletionEntry,
    RosterPatient,
    RosterResult,
    RosterStatus,
)
from epro_sync import server_audit
from epro_sync.kiosk_report import KioskReport
from epro_sync.tables import (
    ENTERED_IN_ERROR,
    Annotation,
    Device,
    EnrolCode,
    Patient,
    StoredResponse,
    as_utc,
)

#: Letters and digits that cannot be mistaken for each other when read aloud or typed.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


class Refusal(EproError):
    """A request the server understood but will not carry out; ``status`` is the HTTP code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalise_code(code: str) -> str:
    """Codes are compared without dashes, spaces or case, as people type them, and without
    the fingerprint an enrolment code carries for the kiosk (after ``+``)."""
    secret = code.partition(ENROLMENT_CODE_SEPARATOR)[0]
    return "".join(secret.split()).replace("-", "").upper()


class Sender(Protocol):
    """Who an audited event is about: a :class:`Device` row or anything with its id and site."""

    @property
    def device_id(self) -> str: ...

    @property
    def site(self) -> str: ...


class Kiosk(NamedTuple):
    """A kiosk's id and site as plain values (read once, used without a session)."""

    device_id: str
    site: str


def record(
    session: Session, now: datetime, event: str, *, device: Sender | None = None, **detail: Any
) -> None:
    """Append one event to the hash-chained server audit log (append-only, enforced by
    triggers; ``server_audit`` chains it).

    Written at once, in the session's transaction, as one INSERT: the ORM's bookkeeping for
    an object nobody reads back cost more than the insert itself, once per upload.
    """
    server_audit.append(
        session.connection(),
        now,
        event,
        device.device_id if device else None,
        device.site if device else detail.pop("site", None),
        json.dumps(detail, sort_keys=True, default=str),
    )


# --------------------------------------------------------------------------------- enrolment


def create_enrol_code(
    session: Session, site: str, now: datetime, expiry: timedelta
) -> tuple[str, datetime]:
    """A new one-time code for ``site``; only its hash is stored. Returns (code, expires_at)."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    expires_at = now + expiry
    session.add(
        EnrolCode(code_sha256=sha256_hex(raw), site=site, created_at=now, expires_at=expires_at)
    )
    record(session, now, "enrol_code_created", site=site, expires_at=expires_at.isoformat())
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}", expires_at


def enrol(
    session: Session, code: str, device_id: str, public_key: str, label: str, now: datetime
) -> tuple[Device, str]:
    """Spend a one-time code on a new device; return the device and its bearer token."""
    try:
        raw_key = base64.b64decode(public_key, validate=True)
        Ed25519PublicKey.from_public_bytes(raw_key)
    except (ValueError, binascii.Error):
        raise Refusal(
            422, "public_key must be a raw 32-byte Ed25519 public key in base64"
        ) from None
    public_key = base64.b64encode(raw_key).decode("ascii")  # one spelling per key
    code_hash = sha256_hex(normalise_code(code))
    found = session.get(EnrolCode, code_hash)
    if found is None:
        raise Refusal(403, "unknown enrolment code; check it for typos or ask for a new one")
    if found.used_at is not None:
        raise Refusal(
            403,
            "this enrolment code has already been used; ask the data manager for a new one "
            "(epro-sync enrol-code --site SITE)",
        )
    if as_utc(found.expires_at) <= now:
        raise Refusal(
            403,
            f"this enrolment code expired at {as_utc(found.expires_at):%Y-%m-%d %H:%M} UTC; "
            "ask the data manager for a new one",
        )
    if session.exec(select(Device).where(Device.public_key == public_key)).first():
        raise Refusal(409, "this public key is already enrolled; generate a new device key")
    if session.get(Device, device_id) is not None:
        raise Refusal(
            409,
            "a kiosk with this device id is already enrolled; a kiosk enrols once "
            "(set up a new kiosk database with epro init to enrol again)",
        )
    # Spending the code is a conditional update, so two kiosks racing with one code cannot both
    # win: only the update that still sees used_at IS NULL changes a row.
    spent = cast(
        CursorResult[Any],
        session.execute(
            update(EnrolCode)
            .where(col(EnrolCode.code_sha256) == code_hash, col(EnrolCode.used_at).is_(None))
            .values(used_at=now, device_id=device_id)
        ),
    )
    if spent.rowcount != 1:
        raise Refusal(403, "this enrolment code has already been used; ask for a new one")
    token = secrets.token_urlsafe(32)
    device = Device(
        device_id=device_id,
        site=found.site,
        label=label,
        public_key=public_key,
        token_sha256=sha256_hex(token),
        enrolled_at=now,
    )
    session.add(device)
    record(session, now, "enrol", device=device, label=label)
    return device, token


def touch_device(
    session: Session, device_id: str, now: datetime, report: KioskReport | None = None
) -> bool:
    """Record that the kiosk was seen now, with what it reported of itself (a value it did not
    send keeps the last one); False (and nothing changed) if it is revoked."""
    table = Device.metadata.tables["devices"]
    values: dict[str, Any] = {"last_seen_at": now}
    if report is not None and report.app_version is not None:
        values["app_version"] = report.app_version
    if report is not None and report.clock_skew_s is not None:
        values["clock_skew_s"] = report.clock_skew_s
    result = session.connection().execute(
        update(table)
        .where(table.c.device_id == device_id, table.c.revoked_at.is_(None))
        .values(**values)
    )
    return cast(CursorResult[Any], result).rowcount == 1


class Sending(NamedTuple):
    """What an upload needs of the kiosk that sends it."""

    device_id: str
    site: str
    public_key: str
    revoked: bool


def sender_for_token(session: Session, token: str) -> Sending | None:
    """:func:`device_for_token` as plain values, read without building an ORM object."""
    devices = Device.metadata.tables["devices"]
    row = (
        session.connection()
        .execute(
            sa.select(
                devices.c.device_id,
                devices.c.site,
                devices.c.public_key,
                devices.c.revoked_at.is_not(None),
            ).where(devices.c.token_sha256 == sha256_hex(token))
        )
        .first()
    )
    return None if row is None else Sending(*row)


def device_for_token(session: Session, token: str) -> Device | None:
    return session.exec(select(Device).where(Device.token_sha256 == sha256_hex(token))).first()


def list_devices(session: Session) -> list[Device]:
    return list(session.exec(select(Device).order_by(col(Device.site), col(Device.enrolled_at))))


def revoke(session: Session, device_id: str, now: datetime) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise EproError(f"no kiosk with id {device_id}; `epro-sync devices` lists them")
    if device.revoked_at is None:
        device.revoked_at = now
        session.add(device)
        record(session, now, "revoke", device=device)
    return device


def reinstate(session: Session, device_id: str, now: datetime) -> Device:
    """Lift a revocation (a kiosk revoked by mistake, or found again and checked): the same
    key and token work again, and everything the kiosk kept uploads on its next sync."""
    device = session.get(Device, device_id)
    if device is None:
        raise EproError(f"no kiosk with id {device_id}; `epro-sync devices` lists them")
    if device.revoked_at is not None:
        device.revoked_at = None
        session.add(device)
        record(session, now, "reinstate", device=device)
    return device


# ---------------------------------------------------------------------- roster and completion


def push_roster(
    session: Session, device: Device, patients: list[RosterPatient], now: datetime
) -> list[RosterResult]:
    """Add or confirm patients; a changed birth month or baseline is a 409, nothing stored."""
    results: list[RosterResult] = []
    for patient in patients:
        if patient.site != device.site:
            raise Refusal(
                403,
                f"patient {patient.code} is for site {patient.site}, but this kiosk is "
                f"enrolled at site {device.site}",
            )
        existing = session.get(Patient, patient.code)
        status: RosterStatus
        if existing is None:
            session.add(
                Patient(
                    **patient.model_dump(),
                    device_id=device.device_id,
                    created_at=now,
                    updated_at=now,
                )
            )
            status = "created"
        elif existing.site != patient.site:
            raise Refusal(409, f"patient {patient.code} is already enrolled at another site")
        elif (existing.birth_ym, existing.baseline_date) != (
            patient.birth_ym,
            patient.baseline_date,
        ):
            raise Refusal(
                409,
                f"patient {patient.code} is already on the roster with a different birth month "
                "or baseline date; check the study code, or ask the data manager to correct "
                "the roster (nothing from this push was stored)",
            )
        elif existing.language != patient.language:
            existing.language = patient.language
            existing.updated_at = now
            session.add(existing)
            status = "updated"
        else:
            status = "unchanged"
        results.append(RosterResult(code=patient.code, status=status))
        if status != "unchanged":
            record(
                session, now, "roster_change", device=device, patient=patient.code, change=status
            )
    # Flush inside the request so a duplicate code within one push surfaces as a 409 here.
    try:
        session.flush()
    except IntegrityError:
        raise Refusal(
            409,
            "a patient in this push was added by another kiosk at the same moment; "
            "push again to compare with what is stored",
        ) from None
    return results


def roster(
    session: Session, site: str, *, after: str | None = None, limit: int = ROSTER_PAGE_MAX
) -> tuple[list[RosterPatient], str | None]:
    """One page of the site's roster in code order, from the code after ``after``, and the
    code to continue after when more follow (None on the last page)."""
    query = select(Patient).where(Patient.site == site)
    if after is not None:
        query = query.where(col(Patient.code) > after)
    rows = list(session.exec(query.order_by(col(Patient.code)).limit(limit + 1)))
    page = [
        RosterPatient(
            code=row.code,
            site=row.site,
            birth_ym=row.birth_ym,
            baseline_date=row.baseline_date,
            language=row.language,
        )
        for row in rows[:limit]
    ]
    return page, (page[-1].code if len(rows) > limit else None)


def completion(session: Session, site: str) -> list[CompletionEntry]:
    """The site's completion cells, leaving out responses a data manager marked entered in
    error (as the console's grid does: such a visit is still to be done).

    The covering index ``ix_responses_completion`` answers it without reading a stored
    envelope; only a site with marks pays for the anti-join against ``annotations``.
    """
    cell = (
        col(StoredResponse.patient),
        col(StoredResponse.visit),
        col(StoredResponse.form_id),
        col(StoredResponse.respondent),
    )
    where = [col(StoredResponse.site) == site]
    marks = Annotation.metadata.tables["annotations"].c
    marked = sa.select(marks.response_id).where(marks.site == site, marks.kind == ENTERED_IN_ERROR)
    if session.execute(marked.limit(1)).first() is not None:
        where.append(col(StoredResponse.response_id).not_in(marked))
    rows = session.execute(
        sa.select(*cell, func.count(), func.max(col(StoredResponse.submitted_at)))
        .where(*where)
        .group_by(*cell)
        .order_by(*cell)
    )
    return [
        CompletionEntry(
            patient=patient,
            visit=visit,
            form_id=form_id,
            respondent=respondent,
            responses=count,
            last_submitted_at=as_utc(last),
        )
        for patient, visit, form_id, respondent, count, last in rows
    ]


# -------------------------------------------------------------------------------- status view


def status_by_site(session: Session) -> dict[str, dict[str, Any]]:
    """Per site: patients, kiosks, and responses counted per (visit, form_id)."""
    sites: dict[str, dict[str, Any]] = {}

    def site_entry(site: str) -> dict[str, Any]:
        return sites.setdefault(site, {"patients": 0, "devices": 0, "responses": {}})

    for site, count in session.exec(select(Patient.site, func.count()).group_by(col(Patient.site))):
        site_entry(site)["patients"] = count
    for site, count in session.exec(select(Device.site, func.count()).group_by(col(Device.site))):
        site_entry(site)["devices"] = count
    for site, visit, form_id, count in session.exec(
        select(
            StoredResponse.site, StoredResponse.visit, StoredResponse.form_id, func.count()
        ).group_by(col(StoredResponse.site), col(StoredResponse.visit), col(StoredResponse.form_id))
    ):
        site_entry(site)["responses"][(visit, form_id)] = count
    return dict(sorted(sites.items()))
