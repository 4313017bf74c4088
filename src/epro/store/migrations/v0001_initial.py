"""Schema version 1: the first release of the local store.

Frozen: a released migration is never edited; later changes are new numbered steps.
"""

from __future__ import annotations

VERSION = 1
DESCRIPTION = (
    "initial schema: key material, device, patients, responses, answers, outbox, staff, audit"
)

STATEMENTS = (
    """CREATE TABLE meta (
        id INTEGER NOT NULL CHECK (id = 1),
        kdf_salt BLOB NOT NULL,
        kdf_params VARCHAR NOT NULL,
        wrapped_key BLOB NOT NULL,
        key_version INTEGER NOT NULL,
        created_at VARCHAR NOT NULL,
        PRIMARY KEY (id)
    )""",
    """CREATE TABLE device (
        id VARCHAR NOT NULL,
        site VARCHAR NOT NULL,
        public_key BLOB NOT NULL,
        private_key_enc BLOB NOT NULL,
        study_public_key VARCHAR,
        created_at VARCHAR NOT NULL,
        PRIMARY KEY (id)
    )""",
    """CREATE TABLE patients (
        code VARCHAR NOT NULL,
        birth_ym VARCHAR NOT NULL,
        baseline_date VARCHAR NOT NULL,
        site VARCHAR NOT NULL,
        language VARCHAR NOT NULL,
        PRIMARY KEY (code)
    )""",
    """CREATE TABLE responses (
        id VARCHAR NOT NULL,
        patient VARCHAR NOT NULL,
        visit VARCHAR NOT NULL,
        form_id VARCHAR NOT NULL,
        form_version VARCHAR NOT NULL,
        form_sha256 VARCHAR NOT NULL,
        respondent VARCHAR NOT NULL,
        language VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        started_at VARCHAR NOT NULL,
        updated_at VARCHAR NOT NULL,
        key_version INTEGER NOT NULL,
        position INTEGER NOT NULL,
        submitted_at VARCHAR,
        answers_sha256 VARCHAR,
        purged BOOLEAN NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY (patient) REFERENCES patients (code)
    )""",
    "CREATE INDEX ix_responses_patient ON responses (patient)",
    "CREATE INDEX ix_responses_status ON responses (status)",
    """CREATE TABLE answers (
        response_id VARCHAR NOT NULL,
        link_id VARCHAR NOT NULL,
        key_version INTEGER NOT NULL,
        ciphertext BLOB NOT NULL,
        PRIMARY KEY (response_id, link_id),
        FOREIGN KEY (response_id) REFERENCES responses (id)
    )""",
    """CREATE TABLE outbox (
        response_id VARCHAR NOT NULL,
        envelope_json VARCHAR NOT NULL,
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
    """CREATE TABLE staff (
        name VARCHAR NOT NULL,
        pin_hash VARCHAR NOT NULL,
        failures INTEGER NOT NULL,
        locked_until VARCHAR,
        created_at VARCHAR NOT NULL,
        PRIMARY KEY (name)
    )""",
    """CREATE TABLE audit (
        seq INTEGER NOT NULL,
        at VARCHAR NOT NULL,
        actor VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        device_id VARCHAR NOT NULL,
        response_id VARCHAR,
        link_id VARCHAR,
        detail VARCHAR,
        prev_hash VARCHAR NOT NULL,
        hash VARCHAR NOT NULL,
        PRIMARY KEY (seq)
    )""",
    # Append-only in the database itself, not only by convention; `verify` still recomputes
    # the chain, because anyone with the file can drop these triggers.
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
)
