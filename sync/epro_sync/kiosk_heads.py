"""Kiosk audit heads: each new head must **extend** the one the server holds.

A kiosk sends, with its head, the link hashes of its audit events since the head the server
acknowledged last (``epro.protocol.AuditHead``). The server holds the last head it stored for
the kiosk; the link at that sequence number must be among those sent and equal to it. If the
kiosk's log ends before it (its file was restored from an older copy) or has another event
there (the log was rewritten, or the restored file was used since), the kiosk is **flagged**:
the state is kept on the kiosk's row, shown by ``epro-sync status``, returned to the kiosk at
every head it sends (which then purges nothing), and audited. Only a person lifts it, with
``epro-sync resolve-chain`` (audited too); the kiosk's next head is then taken as the new base.

Uploads from a flagged kiosk are still stored: what it submitted must not be lost, and every
envelope is checked on its own merits (its own signature) at export.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from epro.errors import EproError
from epro.protocol import AuditHead, AuditHeadReply
from epro_sync.storage import Refusal, record
from epro_sync.tables import AuditHeadRow, Device, as_utc

FLAGGED = "flagged"
#: Resolved by a person: the next head the kiosk sends becomes the new base.
RESOLVED = "resolved"


def held_head(session: Session, device_id: str) -> AuditHeadRow | None:
    return session.exec(
        select(AuditHeadRow)
        .where(AuditHeadRow.device_id == device_id)
        .order_by(col(AuditHeadRow.id).desc())
    ).first()


def _check_shape(head: AuditHead) -> None:
    if head.from_seq is None:
        if head.links:
            raise Refusal(422, "links were sent without from_seq; send both or neither")
        return
    if not head.links or head.links[-1] != head.hash or head.from_seq > head.seq:
        raise Refusal(
            422,
            "links must be the hashes of events from_seq … seq in order, the last equal to hash",
        )


def _gap(head: AuditHead) -> str | None:
    """A signed head whose links are fewer than its numbers span: the kiosk sends what its
    log holds, so events are missing from it."""
    if head.from_seq is None or len(head.links) == head.seq - head.from_seq + 1:
        return None
    return (
        f"the kiosk's audit log has {len(head.links)} events from event {head.from_seq} to "
        f"{head.seq}, not {head.seq - head.from_seq + 1}: events were removed from it"
    )


def record_head(session: Session, device: Device, head: AuditHead, now: datetime) -> AuditHeadReply:
    """Check ``head`` against the head held for ``device`` and store it, or flag the kiosk."""
    _check_shape(head)
    row = session.get(Device, device.device_id)
    assert row is not None  # the route found it by its token a moment ago
    if row.audit_state == FLAGGED:
        return AuditHeadReply(status="flagged", message=row.audit_problem or "")
    last = held_head(session, row.device_id)
    gap = None if row.audit_state == RESOLVED else _gap(head)
    if gap is not None:
        _flag(session, row, gap, head, last, now)
        return AuditHeadReply(status="flagged", message=gap)
    if last is not None and row.audit_state != RESOLVED:
        if (last.seq, last.hash) == (head.seq, head.hash):
            return AuditHeadReply(status="unchanged", held_seq=last.seq)
        problem = _problem(last, head)
        if problem is None and (head.from_seq is None or head.from_seq > last.seq):
            return AuditHeadReply(status="resend", held_seq=last.seq)
        if problem is None:
            assert head.from_seq is not None
            if head.links[last.seq - head.from_seq] != last.hash:
                problem = (
                    f"the kiosk's audit event {last.seq} is not the one it sent on "
                    f"{as_utc(last.received_at):%Y-%m-%d %H:%M} UTC: its log was rewritten, or "
                    "its file was restored from an older copy and used since"
                )
        if problem is not None:
            _flag(session, row, problem, head, last, now)
            return AuditHeadReply(status="flagged", held_seq=last.seq, message=problem)
    if row.audit_state == RESOLVED:
        row.audit_state = None
        session.add(row)
        record(session, now, "audit_chain_rebased", device=row, seq=head.seq)
    session.add(
        AuditHeadRow(
            device_id=row.device_id,
            seq=head.seq,
            hash=head.hash,
            at=head.at,
            received_at=now,
            keyed_from=head.keyed_from,
            acknowledged=head.acknowledged,
        )
    )
    return AuditHeadReply(status="stored", held_seq=head.seq)


def _problem(last: AuditHeadRow, head: AuditHead) -> str | None:
    """A head that cannot extend ``last`` whatever links come with it, in words."""
    when = f"{as_utc(last.received_at):%Y-%m-%d %H:%M} UTC"
    if head.seq < last.seq:
        return (
            f"the kiosk's audit log ends at event {head.seq}, before event {last.seq} it had "
            f"sent on {when}: its file was restored from an older copy, or events were removed"
        )
    if last.keyed_from is not None and head.keyed_from != last.keyed_from:
        return (
            f"the kiosk's audit log now says its keyed part starts at event {head.keyed_from}, "
            f"not {last.keyed_from} as on {when}: its file was altered"
        )
    return None


def _flag(
    session: Session,
    row: Device,
    problem: str,
    head: AuditHead,
    last: AuditHeadRow | None,
    now: datetime,
) -> None:
    row.audit_state = FLAGGED
    row.audit_problem = problem
    row.audit_flagged_at = now
    session.add(row)
    record(
        session,
        now,
        "audit_head_mismatch",
        device=row,
        seq=head.seq,
        held_seq=None if last is None else last.seq,
        problem=problem,
    )


def resolve(session: Session, device_id: str, by: str, reason: str, now: datetime) -> Device:
    """A person has looked at a flagged kiosk: lift the flag (audited, with who and why)."""
    row = session.get(Device, device_id)
    if row is None:
        raise EproError(f"no kiosk with id {device_id}; `epro-sync devices` lists them")
    if row.audit_state != FLAGGED:
        raise EproError(f"kiosk {device_id} is not flagged; nothing to resolve")
    if not by.strip() or not reason.strip():
        raise EproError("say who resolves it and why: --by NAME --reason TEXT")
    record(
        session,
        now,
        "audit_chain_resolved",
        device=row,
        by=by,
        reason=reason,
        problem=row.audit_problem,
    )
    row.audit_state = RESOLVED
    session.add(row)
    return row


def flagged_devices(session: Session) -> list[Device]:
    return list(
        session.exec(
            select(Device)
            .where(col(Device.audit_state) == FLAGGED)
            .order_by(col(Device.site), col(Device.device_id))
        )
    )
