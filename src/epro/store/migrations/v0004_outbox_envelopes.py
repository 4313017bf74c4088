"""Schema version 4: sealed envelopes move out of the outbox into their own table.

An envelope is written once, at Submit, and never changes; its outbox row changes at every
attempt and at the receipt. With the envelope inside the row, acknowledging an upload batch
rewrote every page of those envelopes (four rows of a few hundred bytes to a kilobyte per page)
to change two short columns. Apart, the outbox rows are small and the envelopes stay put.

The outbox is rebuilt without its ``envelope_json`` column (portable to every SQLite, unlike
``DROP COLUMN``), in one transaction with the copy, so a crash leaves version 3 or version 4.

Frozen: a released migration is never edited; later changes are new numbered steps.
"""

from __future__ import annotations

VERSION = 4
DESCRIPTION = "sealed envelopes in their own table (envelopes), outbox rows without them"

STATEMENTS = (
    """CREATE TABLE envelopes (
        response_id VARCHAR NOT NULL,
        envelope_json VARCHAR NOT NULL,
        PRIMARY KEY (response_id),
        FOREIGN KEY (response_id) REFERENCES responses (id)
    )""",
    "INSERT INTO envelopes (response_id, envelope_json) "
    "SELECT response_id, envelope_json FROM outbox ORDER BY created_at, response_id",
    """CREATE TABLE outbox_v4 (
        response_id VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        created_at VARCHAR NOT NULL,
        attempts INTEGER NOT NULL,
        last_error VARCHAR,
        sent_at VARCHAR,
        acknowledged_at VARCHAR,
        receipt_id VARCHAR,
        PRIMARY KEY (response_id),
        FOREIGN KEY (response_id) REFERENCES responses (id)
    )""",
    "INSERT INTO outbox_v4 (response_id, sha256, created_at, attempts, last_error, sent_at, "
    "acknowledged_at, receipt_id) "
    "SELECT response_id, sha256, created_at, attempts, last_error, sent_at, acknowledged_at, "
    "receipt_id FROM outbox ORDER BY created_at, response_id",
    "DROP TABLE outbox",
    "ALTER TABLE outbox_v4 RENAME TO outbox",
    "CREATE INDEX ix_outbox_pending ON outbox (created_at, response_id) "
    "WHERE acknowledged_at IS NULL",
)
