"""Each kiosk's health as the server sees it, and whether someone should look at it.

A kiosk needs attention when it is revoked, has not been seen for a while (``stale_after``),
its clock runs ahead of the server's, or its audit-log head was refused (the log it sent does
not continue the one before: a file rolled back or forked).

Clock skew is estimated from the last audit head the kiosk sent: the head carries the kiosk's
time of its last audit event, and the server its own time of receipt. A head time *after* the
receipt is certain evidence of a kiosk clock running ahead; a time before it may just be an
old event, so a clock behind is not flagged from it (the kiosk itself compares its clock with
the server's ``Date`` at every sync and tells the nurse).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlmodel import Session

from epro_sync.console.scope import Scope
from epro_sync.tables import ServerModel, as_utc

_T = ServerModel.metadata.tables
_DEVICES = _T["devices"]
_RESPONSES = _T["responses"]
_HEADS = _T["audit_heads"]
_AUDIT = _T["audit"]

#: Server audit events that say a kiosk's audit-log head was refused.
HEAD_PROBLEM_EVENTS: Final = ("audit_head_mismatch", "audit_head_rollback", "audit_head_fork")


@dataclass(frozen=True, slots=True)
class KioskHealth:
    device_id: str
    site: str
    label: str
    enrolled_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None
    last_upload_at: datetime | None
    responses: int
    #: Kiosk clock minus server clock at the last audit head (see the module docstring).
    clock_skew: timedelta | None
    audit_head_seq: int | None
    #: The latest refusal of the kiosk's audit head since the last head it accepted.
    audit_head_problem: datetime | None
    #: Why the kiosk needs attention, in plain words; empty when it does not.
    problems: tuple[str, ...]


def kiosk_health(
    session: Session,
    scope: Scope,
    now: datetime,
    *,
    stale_after: timedelta,
    skew_limit: timedelta,
) -> list[KioskHealth]:
    """Every kiosk of the scope, by site and label, with what needs attention."""
    connection = session.connection()
    d, r, h, a = _DEVICES.c, _RESPONSES.c, _HEADS.c, _AUDIT.c
    uploads = {
        row.device_id: (int(row.n), as_utc(row.last))
        for row in connection.execute(
            sa.select(
                r.device_id,
                sa.func.count().label("n"),
                sa.func.max(r.received_at).label("last"),
            )
            .where(scope.where(r.site))
            .group_by(r.device_id)
        )
    }
    kiosks = sa.select(d.device_id).where(scope.where(d.site)).scalar_subquery()
    latest = (
        sa.select(sa.func.max(h.id)).where(h.device_id.in_(kiosks)).group_by(h.device_id)
    ).scalar_subquery()
    heads = {
        row.device_id: (row.seq, as_utc(row.at), as_utc(row.received_at))
        for row in connection.execute(
            sa.select(h.device_id, h.seq, h.at, h.received_at).where(h.id.in_(latest))
        )
    }
    refusals = {
        row.device_id: as_utc(row.last)
        for row in connection.execute(
            sa.select(a.device_id, sa.func.max(a.at).label("last"))
            .where(a.event.in_(HEAD_PROBLEM_EVENTS), a.device_id.in_(kiosks))
            .group_by(a.device_id)
        )
    }
    result = []
    for row in connection.execute(
        sa.select(_DEVICES).where(scope.where(d.site)).order_by(d.site, d.label, d.device_id)
    ):
        count, last_upload = uploads.get(row.device_id, (0, None))
        head = heads.get(row.device_id)
        skew = None if head is None else head[1] - head[2]
        refused = refusals.get(row.device_id)
        if refused is not None and head is not None and head[2] > refused:
            refused = None  # a head accepted since: the kiosk's log continues again
        revoked = None if row.revoked_at is None else as_utc(row.revoked_at)
        seen = None if row.last_seen_at is None else as_utc(row.last_seen_at)
        enrolled = as_utc(row.enrolled_at)
        problems = []
        if revoked is not None:
            problems.append(f"revoked on {revoked:%Y-%m-%d %H:%M} UTC")
        elif seen is None and now - enrolled > stale_after:
            problems.append(f"never synced since enrolment on {enrolled:%Y-%m-%d}")
        elif seen is not None and now - seen > stale_after:
            problems.append(f"not seen for {(now - seen).days} days")
        if skew is not None and skew > skew_limit:
            problems.append(f"clock ahead of the server by {_duration(skew)}")
        if refused is not None:
            problems.append(
                f"audit log head refused on {refused:%Y-%m-%d %H:%M} UTC: its log does not "
                "continue the one it sent before (rolled back or forked)"
            )
        result.append(
            KioskHealth(
                device_id=row.device_id,
                site=row.site,
                label=row.label,
                enrolled_at=enrolled,
                revoked_at=revoked,
                last_seen_at=seen,
                last_upload_at=last_upload,
                responses=int(count),
                clock_skew=skew,
                audit_head_seq=None if head is None else int(head[0]),
                audit_head_problem=refused,
                problems=tuple(problems),
            )
        )
    return result


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    hours = minutes // 60
    return f"{hours} hours" if hours < 48 else f"{hours // 24} days"
