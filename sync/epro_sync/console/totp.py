"""Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps).

Written on the standard library rather than taken from a package: it is twenty lines, the
RFC's own test vectors check it (tests/server/console/test_totp.py), and the server needs
what generic libraries leave to the caller anyway — refusing a code of a step already used
(a code seen over a shoulder is not good twice) — which :func:`matching_step` supports by
returning the step it matched.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import struct
from datetime import datetime
from typing import Final
from urllib.parse import quote, urlencode

DIGITS: Final = 6
STEP_S: Final = 30
#: Steps either side of now accepted (a phone's clock a little off; typing takes time).
DRIFT_STEPS: Final = 1


def new_secret() -> str:
    """160 random bits in base32 without padding, as authenticator apps take them."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    cleaned = "".join(secret.split()).upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 HOTP of ``counter`` (RFC 6238 uses the time step as the counter)."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def step_of(now: datetime) -> int:
    return int(now.timestamp()) // STEP_S


def code_at(secret: str, now: datetime) -> str:
    return hotp(_key(secret), step_of(now))


def matching_step(secret: str, code: str, now: datetime, after: int | None = None) -> int | None:
    """The time step ``code`` belongs to (within :data:`DRIFT_STEPS` of now), or None; steps
    up to ``after`` (the last one used) never match again."""
    typed = "".join(code.split())
    if len(typed) != DIGITS or not typed.isdigit():
        return None
    key = _key(secret)
    current = step_of(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(hotp(key, step), typed):
            return step
    return None


def grouped(secret: str) -> str:
    """The secret in groups of four, as a person types it."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def uri(secret: str, account: str, issuer: str = "epro") -> str:
    """The ``otpauth://`` URI authenticator apps read (also as a QR code, which we do not draw)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_S,
        }
    )
    return f"otpauth://totp/{label}?{query}"
