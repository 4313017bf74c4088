"""Console acts in the server audit log: who (``actor``), what, which site, and why.

Every login, failure, lockout and console action is one row of the same append-only ``audit``
table the kiosks' events go to; the actor is the account's e-mail (or what was typed at a
failed login), kept in its own column for the audit page's filter and in ``detail`` too, so the
sealed export bundle (which carries ``detail``) keeps it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from epro_sync.tables import AuditEvent

_AUDIT = AuditEvent.metadata.tables["audit"]

#: Longest actor text kept (an address typed at a failed login may be anything).
ACTOR_MAX = 320


def audit(
    session: Session,
    now: datetime,
    event: str,
    *,
    actor: str | None,
    site: str | None = None,
    device_id: str | None = None,
    **detail: Any,
) -> None:
    """Append one console event in the session's transaction (the caller commits)."""
    who = None if actor is None else actor[:ACTOR_MAX]
    session.connection().execute(
        _AUDIT.insert().values(
            at=now,
            event=event,
            device_id=device_id,
            site=site,
            actor=who,
            detail=json.dumps({"actor": who, **detail}, sort_keys=True, default=str),
        )
    )
