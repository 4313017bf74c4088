"""TOTP against RFC 6238's own test vectors (SHA-1), and the checks the login relies on."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from epro_sync.console import totp

# RFC 6238, appendix B: the SHA-1 seed is the ASCII "12345678901234567890", 8 digits.
SEED = base64.b32encode(b"12345678901234567890").decode().rstrip("=")
VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("unix_time", "expected"), VECTORS)
def test_rfc_6238_sha1_vectors(unix_time: int, expected: str) -> None:
    key = base64.b32decode(SEED + "=" * (-len(SEED) % 8))
    assert totp.hotp(key, unix_time // totp.STEP_S, digits=8) == expected


def test_six_digit_code_matches_its_step_and_one_step_of_drift() -> None:
    secret = totp.new_secret()
    now = datetime(2026, 3, 2, 9, 0, 15, tzinfo=UTC)
    code = totp.code_at(secret, now)
    step = totp.step_of(now)
    assert totp.matching_step(secret, code, now) == step
    assert (
        totp.matching_step(secret, code, datetime.fromtimestamp(now.timestamp() + 30, UTC)) == step
    )
    assert (
        totp.matching_step(secret, code, datetime.fromtimestamp(now.timestamp() + 90, UTC)) is None
    )
    assert totp.matching_step(secret, f"{code[:3]} {code[3:]}", now) == step  # typed with a space


def test_a_used_step_never_matches_again() -> None:
    secret = totp.new_secret()
    now = datetime(2026, 3, 2, 9, 0, 15, tzinfo=UTC)
    code = totp.code_at(secret, now)
    assert totp.matching_step(secret, code, now, after=totp.step_of(now)) is None


def test_malformed_codes_do_not_match() -> None:
    secret = totp.new_secret()
    now = datetime(2026, 3, 2, 9, 0, 15, tzinfo=UTC)
    for typed in ("", "12345", "1234567", "abcdef", "12345x"):
        assert totp.matching_step(secret, typed, now) is None


def test_otpauth_uri_names_the_account_and_secret() -> None:
    uri = totp.uri("ABCDEFGH", "dm@example.org")
    assert uri.startswith("otpauth://totp/epro:dm@example.org?")
    assert "secret=ABCDEFGH" in uri
    assert "period=30" in uri
