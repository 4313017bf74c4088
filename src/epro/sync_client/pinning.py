"""What the kiosk trusts about the study server, and how it checks it.

* **The address.** Only ``https://`` — except this machine's loopback addresses (127.0.0.0/8,
  ``::1``, ``localhost``), where no network is crossed. Checked at enrolment and every time
  the stored address is read for a sync.
* **The keys handed out at enrolment.** The study public key (what answers are sealed to) and
  the server's receipt-signing key are compared with a value the kiosk got another way: the
  fingerprint the enrolment code carries (of both keys, ``epro.protocol.enrolment_fingerprint``)
  and/or the study file's ``study_key_fingerprint``. Without either, the kiosk does not enrol:
  a key is never taken on trust from whoever answered.
* **Receipts.** An upload's reply counts only when the pinned server key signed it
  (``epro.protocol.receipts_signing_bytes``); otherwise nothing is marked sent or purged.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress

import httpx

from epro.crypto import StudyPublicKey
from epro.errors import EproError
from epro.protocol import (
    ENROLMENT_FINGERPRINT_DIGITS,
    RECEIPT_SIGNATURE_HEADER,
    enrolment_fingerprint,
    receipts_signature_valid,
)
from epro.sync_client.errors import SyncFailure

LOOPBACK_NAMES = frozenset({"localhost"})


class ServerAddressError(EproError):
    """The study server address is not one this kiosk may send to."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: addresses that never leave this machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_server_url(url: str) -> str:
    """``url`` when the kiosk may use it: https, or http to a loopback address only."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ServerAddressError(
            f"the study server address {url!r} is not a web address; give it as "
            "https://HOST[:PORT], e.g. https://study.example.org"
        )
    if parsed.userinfo:
        raise ServerAddressError(
            "the study server address must not contain a user name or password; "
            "give it as https://HOST[:PORT]"
        )
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        raise ServerAddressError(
            f"the study server address must start with https:// (got {url.strip()}): plain "
            "http would show the device token and every upload to the network. Plain http is "
            "allowed only to this machine (127.0.0.1, ::1, localhost)"
        )
    return url.strip()


def checked_server_key(value: str | None) -> bytes:
    """The server's receipt-signing key (raw Ed25519) as handed out, or SyncFailure."""
    if value is None:
        raise SyncFailure(
            "this study server does not sign its receipts (it runs an older epro): update "
            "the server first, then enrol again; nothing was saved",
            retryable=False,
        )
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise SyncFailure(
            "the study server's signing key is not an Ed25519 key; check that the kiosk and "
            "the server run the same epro version (nothing was saved)",
            retryable=False,
        )
    return raw


def check_code_fingerprint(fingerprint: str | None) -> None:
    """Refuse, before any request, a fingerprint in the code that cannot be one."""
    if fingerprint is None:
        return
    if len(fingerprint) != ENROLMENT_FINGERPRINT_DIGITS or any(
        ch not in "0123456789abcdef" for ch in fingerprint
    ):
        raise SyncFailure(
            f"the fingerprint after the + in the enrolment code is not "
            f"{ENROLMENT_FINGERPRINT_DIGITS} hex digits; copy the whole code again from "
            "the data manager",
            retryable=False,
        )


def check_enrolment_keys(
    study_key: StudyPublicKey,
    server_key: str,
    *,
    code_fingerprint: str | None,
    study_file_fingerprint: str | None,
) -> None:
    """Compare the keys a server handed out with the values got out of band; SyncFailure
    (nothing saved) when one differs. The caller has made sure at least one is given."""
    if code_fingerprint is not None:
        made = enrolment_fingerprint(study_key.full_fingerprint(), server_key).replace("-", "")
        if made != code_fingerprint:
            raise SyncFailure(
                "the study server handed out keys that do not match the fingerprint in the "
                "enrolment code: this may not be the study server. Nothing was saved; check "
                "the server address and tell the data manager",
                retryable=False,
            )
    if study_file_fingerprint and not study_key.full_fingerprint().startswith(
        study_file_fingerprint
    ):
        raise SyncFailure(
            f"the study server handed out a study key (fingerprint {study_key.fingerprint()}) "
            "that is not the one the study file names (study_key_fingerprint): answers would "
            "be sealed to the wrong key. Nothing was saved; tell the data manager",
            retryable=False,
        )


def verify_receipts(
    server_key: bytes, device_id: str, request_body: bytes, response: httpx.Response
) -> None:
    """SyncFailure unless the pinned server key signed this reply to this upload."""
    header = response.headers.get(RECEIPT_SIGNATURE_HEADER)
    if not header:
        raise SyncFailure(
            "the study server's reply to an upload is not signed: nothing was marked as sent "
            "and nothing was deleted from this kiosk. The server runs an older epro, or "
            "something else answered in its place; tell the data manager",
            retryable=False,
        )
    if not receipts_signature_valid(server_key, header, device_id, request_body, response.content):
        raise SyncFailure(
            "the study server's receipts are not signed with the key this kiosk pinned at "
            "enrolment: this may not be the study server. Nothing was marked as sent and "
            "nothing was deleted from this kiosk; tell the data manager",
            retryable=False,
        )
