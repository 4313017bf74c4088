"""Schema version 3: a partial index over the outbox rows that still wait for a receipt.

Acknowledged rows stay in the outbox with their sealed envelopes, so without this index every
upload batch and every queue count scans the whole outbox and slows down as the kiosk ages.
Partial (``WHERE acknowledged_at IS NULL``): it holds only the pending rows, in the order the
next upload takes them, so its size follows the queue, not the kiosk's history.

Frozen: a released migration is never edited; later changes are new numbered steps.
"""

from __future__ import annotations

VERSION = 3
DESCRIPTION = "outbox index of the entries without a receipt (ix_outbox_pending)"

STATEMENTS = (
    "CREATE INDEX ix_outbox_pending ON outbox (created_at, response_id) "
    "WHERE acknowledged_at IS NULL",
)
