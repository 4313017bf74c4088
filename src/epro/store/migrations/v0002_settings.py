"""Schema version 2: the settings table and the out-of-window reason of a response.

Frozen: a released migration is never edited; later changes are new numbered steps.
"""

from __future__ import annotations

VERSION = 2
DESCRIPTION = "settings table; responses.out_of_window_reason"

STATEMENTS = (
    """CREATE TABLE settings (
        name VARCHAR NOT NULL,
        value VARCHAR,
        ciphertext BLOB,
        secret BOOLEAN NOT NULL,
        PRIMARY KEY (name)
    )""",
    "ALTER TABLE responses ADD COLUMN out_of_window_reason VARCHAR",
)
