"""``epro-sync verify``, annotations part: are the entered-in-error marks whole and unaltered?

A mark takes a response out of the analysis, so a mark that was added, edited or removed
behind the server's back changes the study's results. Three checks, reading only:

* every mark names a response the server stores, at the site the mark says, with a known kind;
* the append-only guard of the ``annotations`` table is in place (the database triggers
  that refuse an update or a delete: without them a mark could be changed unseen);
* every mark agrees with the server audit log, which records each one when it is made: a
  mark with no ``entered_in_error`` event, or whose reason or author differs from its event,
  was written or edited outside the server; an event with no mark means one was deleted.

Nothing is changed; the caller audits the run with the envelope check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from epro_sync.tables import ENTERED_IN_ERROR, Annotation

_T = Annotation.metadata.tables
_ANNOTATIONS = _T["annotations"]
_RESPONSES = _T["responses"]
_AUDIT = _T["audit"]

#: The triggers of schema version 5 that keep ``annotations`` append-only, per database.
SQLITE_GUARDS: tuple[str, ...] = ("annotations_no_update", "annotations_no_delete")
POSTGRES_GUARDS: tuple[str, ...] = ("annotations_append_only",)


@dataclass
class AnnotationReport:
    marks: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_annotations(session: Session) -> AnnotationReport:
    """Check every mark against the stored responses and the audit log, and the table's guard."""
    connection = session.connection()
    report = AnnotationReport()
    report.problems.extend(_missing_guards(connection))
    a, r = _ANNOTATIONS.c, _RESPONSES.c
    marks = connection.execute(
        sa.select(a.id, a.response_id, a.site, a.kind, a.reason, a.actor, r.site.label("stored"))
        .select_from(_ANNOTATIONS.outerjoin(_RESPONSES, a.response_id == r.response_id))
        .order_by(a.id)
    ).all()
    report.marks = len(marks)
    events = _mark_events(connection)
    for mark in marks:
        name = f"mark {mark.id} (response {mark.response_id})"
        if mark.stored is None:
            report.problems.append(f"{name} names a response the server does not store")
        elif mark.stored != mark.site:
            report.problems.append(
                f"{name} says site {mark.site}, but the response is from site {mark.stored}"
            )
        if mark.kind != ENTERED_IN_ERROR:
            report.problems.append(f"{name} is of an unknown kind {mark.kind!r}")
            continue
        event = events.pop(mark.response_id, None)
        if event is None:
            report.problems.append(
                f"{name} has no entered_in_error event in the audit log: it was written "
                "outside the server"
            )
        elif (event.get("reason"), event.get("actor")) != (mark.reason, mark.actor):
            report.problems.append(
                f"{name} differs from its audit event (reason or author changed since it was made)"
            )
    for response_id in sorted(events):
        report.problems.append(
            f"the audit log records response {response_id} marked entered in error, but no "
            "mark is stored: it was deleted"
        )
    return report


def _mark_events(connection: Connection) -> dict[str, dict[str, Any]]:
    """The ``entered_in_error`` audit events' details, by response id (the first of each)."""
    found: dict[str, dict[str, Any]] = {}
    rows = connection.execute(
        sa.select(_AUDIT.c.detail).where(_AUDIT.c.event == ENTERED_IN_ERROR).order_by(_AUDIT.c.id)
    )
    for (detail,) in rows:
        try:
            data = json.loads(detail)
        except (TypeError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("response_id"), str):
            found.setdefault(data["response_id"], data)
    return found


def _missing_guards(connection: Connection) -> list[str]:
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            sa.text(
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE c.relname = 'annotations' AND c.relnamespace = to_regnamespace("
                "current_schema())::oid AND NOT t.tgisinternal AND t.tgenabled <> 'D'"
            )
        )
        expected = POSTGRES_GUARDS
    else:
        rows = connection.execute(
            sa.text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'annotations'"
            )
        )
        expected = SQLITE_GUARDS
    present = {name for (name,) in rows}
    return [
        f"the annotations table's append-only trigger {name} is missing or disabled: marks "
        "can be changed unseen; restore it (schema version 5) and check the marks"
        for name in expected
        if name not in present
    ]
