"""The audit chain's key, and the authenticated point from which the chain is keyed.

The audit key is HKDF-SHA256 of the kiosk's data key (``info`` names its purpose and the
device), so only an unlocked kiosk can make or check a link, and nothing new has to be kept
or wrapped. An HMAC under the data key rather than an Ed25519 signature by the device key: a
link is made for every answer and a purge links one event per acknowledged response, where an
HMAC costs about a microsecond and a signature tens; and no one but the kiosk needs to check a
link (the server compares link hashes, it does not recompute them).

A file of schema 4 or older carries an unkeyed chain. Migration 5 records the sequence number
the keyed part starts from (one past the last event then); the next unlock adds an HMAC of that
number under the audit key, in the migration's transaction. ``verify`` checks that HMAC, so
moving the start forward (to pass a re-chained log off as unkeyed) is found, and checks the
older events by their plain SHA-256 links as before.
"""

from __future__ import annotations

import hmac
import sqlite3

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"epro audit chain v1\n"


def audit_key(data_key: bytes, device_id: str) -> bytes:
    """The 32-byte key of the audit chain of ``device_id``'s store."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + device_id.encode()
    ).derive(data_key)


def keyed_from_mac(key: bytes, keyed_from: int) -> bytes:
    return hmac.digest(key, f"epro audit keyed from {int(keyed_from)}".encode(), "sha256")


def seal_keying(connection: sqlite3.Connection, key: bytes) -> None:
    """Authenticate the start of the keyed chain recorded by migration 5 (inside the caller's
    transaction, right after the migration, so no one can move it in between)."""
    row = connection.execute("SELECT keyed_from, mac FROM audit_keying WHERE id = 1").fetchone()
    if row is None or row[1] is not None:
        return
    connection.execute(
        "UPDATE audit_keying SET mac = ? WHERE id = 1", (keyed_from_mac(key, int(row[0])),)
    )


def keyed_from(connection: sqlite3.Connection, key: bytes) -> tuple[int, str | None]:
    """The authenticated start of the keyed chain and, if it does not authenticate, why.

    A missing or forged record falls back to 1 (everything must be keyed), so tampering with
    it can only make more of the log fail, never less.
    """
    row = connection.execute("SELECT keyed_from, mac FROM audit_keying WHERE id = 1").fetchone()
    if row is None:
        return 1, "the audit keying record is missing (the file was altered)"
    start, mac = int(row[0]), row[1]
    if mac is None or not hmac.compare_digest(bytes(mac), keyed_from_mac(key, start)):
        return 1, "the audit keying record does not authenticate (the file was altered)"
    return start, None
