"""Schema version 3: a covering index for completion per site, patient, visit, form, respondent.

Without it, ``GET /v1/completion`` and ``epro-sync status`` read every stored envelope of the
table (kilobytes each) to count a few short columns; with it they read the index alone.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    conn.execute(
        text(
            "CREATE INDEX ix_responses_completion ON responses "
            "(site, patient, visit, form_id, respondent, submitted_at)"
        )
    )
