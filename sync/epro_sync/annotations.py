"""Annotations of stored responses: a data manager marks one **entered in error**, with a reason.

The server never changes a stored envelope, and cannot read one: when a kiosk session was
opened for the wrong patient, the response stays exactly as the kiosk signed it, and the data
manager's mark is a row of its own in the append-only ``annotations`` table (database triggers
refuse updates and deletes), audited in the server log and carried by the export bundle, where
``epro export`` keeps the response in the long file with its status and leaves it out of the
scores and the analysis.

A response is marked once; marking it again is refused with who marked it when. Only responses
of the sites the caller may see can be marked: any other id is answered as unknown, so that the
refusal says nothing about other sites.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from epro_sync.console.events import audit
from epro_sync.storage import Refusal
from epro_sync.tables import Annotation, StoredResponse, as_utc

#: The one kind of annotation so far.
ENTERED_IN_ERROR: Final = "entered_in_error"
KINDS: Final = (ENTERED_IN_ERROR,)

REASON_MIN: Final = 5
REASON_MAX: Final = 500

_ANNOTATIONS = Annotation.metadata.tables["annotations"]
_RESPONSES = StoredResponse.metadata.tables["responses"]


@dataclass(frozen=True, slots=True)
class Mark:
    """An annotation as plain values, read once and used without a session."""

    id: int
    response_id: str
    site: str
    kind: str
    reason: str
    actor: str
    at: datetime


def clean_reason(reason: str) -> str:
    """The reason with its whitespace tidied; a :class:`Refusal` (422) saying what to change
    when it is too short, too long, or holds control or invisible formatting characters
    (a right-to-left override would make the audit log read differently from what it holds)."""
    tidy = " ".join(reason.split())
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in tidy):
        raise Refusal(
            422,
            "the reason holds control or invisible formatting characters; type it again as "
            "plain text",
        )
    if len(tidy) < REASON_MIN:
        raise Refusal(
            422,
            f"give a reason of at least {REASON_MIN} characters, e.g. 'session opened for the "
            "wrong patient'",
        )
    if len(tidy) > REASON_MAX:
        raise Refusal(422, f"the reason is {len(tidy)} characters; keep it to {REASON_MAX}")
    return tidy


def mark_entered_in_error(
    session: Session,
    response_id: str,
    reason: str,
    *,
    actor: str,
    sites: Collection[str] | None,
    now: datetime,
) -> Mark:
    """Mark the stored response ``response_id`` entered in error, and audit it.

    ``sites`` limits which responses may be marked (None: every site). Never commits: the
    caller owns the transaction. Refusals: 404 unknown (or not visible), 409 already marked,
    422 a reason that is not usable.
    """
    tidy = clean_reason(reason)
    row = (
        session.connection()
        .execute(
            sa.select(_RESPONSES.c.site, _RESPONSES.c.patient).where(
                _RESPONSES.c.response_id == response_id
            )
        )
        .first()
    )
    if row is None or (sites is not None and row.site not in sites):
        raise Refusal(404, f"no stored response {response_id} at the sites you can see")
    existing = marks_for(session, [response_id]).get(response_id)
    if existing is not None:
        raise Refusal(409, _already(existing))
    try:
        with session.begin_nested():
            inserted = session.connection().execute(
                _ANNOTATIONS.insert()
                .values(
                    response_id=response_id,
                    site=row.site,
                    kind=ENTERED_IN_ERROR,
                    reason=tidy,
                    actor=actor,
                    at=now,
                )
                .returning(_ANNOTATIONS.c.id)
            )
            mark_id = int(inserted.scalar_one())
    except IntegrityError:
        # Another data manager marked it a moment ago.
        raced = marks_for(session, [response_id]).get(response_id)
        raise Refusal(
            409, _already(raced) if raced else "this response is marked already"
        ) from None
    audit(
        session,
        now,
        "entered_in_error",
        actor=actor,
        site=row.site,
        response_id=response_id,
        patient=row.patient,
        reason=tidy,
    )
    return Mark(mark_id, response_id, row.site, ENTERED_IN_ERROR, tidy, actor, now)


def _already(mark: Mark) -> str:
    return (
        f"this response was marked entered in error on {mark.at:%Y-%m-%d %H:%M} UTC by "
        f"{mark.actor}; a mark is never changed or stacked"
    )


def marks_for(session: Session, response_ids: Collection[str]) -> Mapping[str, Mark]:
    """The entered-in-error marks of these responses, by response id."""
    if not response_ids:
        return {}
    rows = session.connection().execute(
        sa.select(_ANNOTATIONS).where(
            _ANNOTATIONS.c.response_id.in_(list(response_ids)),
            _ANNOTATIONS.c.kind == ENTERED_IN_ERROR,
        )
    )
    return {row.response_id: _mark(row) for row in rows}


def _mark(row: sa.Row[object]) -> Mark:
    m = row._mapping
    return Mark(
        id=m["id"],
        response_id=m["response_id"],
        site=m["site"],
        kind=m["kind"],
        reason=m["reason"],
        actor=m["actor"],
        at=as_utc(m["at"]),
    )
