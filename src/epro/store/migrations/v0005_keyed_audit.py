"""Schema version 5: the audit chain is keyed from here on (see ``epro.store.audit_keying``).

Records the sequence number the keyed part of the chain starts from: one past the last event
already written, whose plain SHA-256 links stay as they are and are still checked as such. The
HMAC that authenticates this number needs the kiosk's key, so the unlock that runs this step
adds it in the same transaction. A trigger keeps the record from changing once sealed.

Frozen: a released migration is never edited; later changes are new numbered steps.
"""

from __future__ import annotations

VERSION = 5
DESCRIPTION = "keyed audit chain: audit_keying records where the keyed part starts"

STATEMENTS = (
    """CREATE TABLE audit_keying (
        id INTEGER NOT NULL,
        keyed_from INTEGER NOT NULL,
        mac BLOB,
        PRIMARY KEY (id)
    )""",
    "INSERT INTO audit_keying (id, keyed_from, mac) "
    "SELECT 1, COALESCE(MAX(seq), 0) + 1, NULL FROM audit",
    """CREATE TRIGGER audit_keying_sealed BEFORE UPDATE ON audit_keying
       WHEN OLD.mac IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'the audit keying record is sealed'); END""",
    """CREATE TRIGGER audit_keying_no_delete BEFORE DELETE ON audit_keying
       BEGIN SELECT RAISE(ABORT, 'the audit keying record is sealed'); END""",
)
