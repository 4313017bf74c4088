"""Schema version 5: annotations a data manager adds to a stored response (entered in error).

A stored envelope is never changed; what a person later knows about it ("this session was
opened for the wrong patient") is a row of its own here, append-only like the audit log, and
travels in the export bundle so that ``epro export`` can honour it. One mark of a kind per
response: marking it twice is refused, not stacked.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Connection

_meta = MetaData()

Table("responses", _meta, Column("response_id", String(36), primary_key=True))
Table(
    "annotations",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "response_id", String(36), ForeignKey("responses.response_id"), nullable=False, index=True
    ),
    Column("site", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("response_id", "kind", name="uq_annotations_response_kind"),
)

_SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER annotations_no_update BEFORE UPDATE ON annotations
       BEGIN SELECT RAISE(ABORT, 'the annotations table is append-only'); END""",
    """CREATE TRIGGER annotations_no_delete BEFORE DELETE ON annotations
       BEGIN SELECT RAISE(ABORT, 'the annotations table is append-only'); END""",
]
_POSTGRES_APPEND_ONLY = [
    """CREATE TRIGGER annotations_append_only BEFORE UPDATE OR DELETE ON annotations
       FOR EACH ROW EXECUTE FUNCTION epro_append_only()""",
]


def upgrade(conn: Connection) -> None:
    _meta.tables["annotations"].create(conn)
    statements = _POSTGRES_APPEND_ONLY if conn.dialect.name == "postgresql" else _SQLITE_APPEND_ONLY
    for statement in statements:
        conn.execute(text(statement))
