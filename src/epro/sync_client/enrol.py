"""Enrol a kiosk with the study server using a one-time code from the data manager.

The kiosk registers its Ed25519 public key and keeps what the server hands back: its device
id, a bearer token (stored as a secret setting), the study public key that responses are
sealed to, the server's receipt-signing key, and the study protocol text. The address must be
https (or loopback), and the keys must match the fingerprint the enrolment code carries
and/or the study file's ``study_key_fingerprint`` (``epro.sync_client.pinning``): nothing
is taken on trust from whoever answers.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from pydantic import ValidationError

from epro.crypto import StudyPublicKey
from epro.errors import EproError
from epro.protocol import EnrolReply, EnrolRequest, split_enrolment_code
from epro.store.domain import AuditKind
from epro.sync_client import status as keys_
from epro.sync_client.errors import HTTPX_ERRORS, SyncFailure, map_http_error, status_error
from epro.sync_client.http import error_detail
from epro.sync_client.pinning import (
    check_code_fingerprint,
    check_enrolment_keys,
    check_server_url,
    checked_server_key,
)

if TYPE_CHECKING:
    from epro.store import Store


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What enrolment established (no secrets)."""

    device_id: str
    site: str
    study_key_fingerprint: str
    study_sha256: str


def enrol_kiosk(
    store: Store,
    *,
    server_url: str,
    code: str,
    label: str,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 15.0,
    study_key_fingerprint: str | None = None,
) -> Enrolment:
    """Register this kiosk's device key with the server and keep its identity and keys.

    ``code`` is the enrolment code as handed out (``CODE+FINGERPRINT``);
    ``study_key_fingerprint`` is the study file's, when it names one. At least one of the two
    fingerprints must be there; the keys the server hands out must match every one given.
    """
    server_url = check_server_url(server_url)
    secret, code_fingerprint = split_enrolment_code(code)
    check_code_fingerprint(code_fingerprint)
    if code_fingerprint is None and not study_key_fingerprint:
        raise SyncFailure(
            "this enrolment code carries no key fingerprint and the study file names none "
            "(study_key_fingerprint), so the study key could not be checked: use the whole "
            "code `epro-sync enrol-code` printed (with the part after the +)",
            retryable=False,
        )
    with store.unit_of_work() as uow:
        public_key = uow.keys.device_key().public_bytes()
    request = EnrolRequest(
        code=secret,
        device_id=uuid.UUID(store.device_id),
        public_key=base64.b64encode(public_key).decode("ascii"),
        label=label,
    )
    try:
        with httpx.Client(base_url=server_url, transport=transport, timeout=timeout) as client:
            response = client.post(
                "/v1/enrol",
                content=request.model_dump_json(),
                headers={"Content-Type": "application/json"},
            )
    except HTTPX_ERRORS as error:
        raise map_http_error(error) from None
    if response.status_code in (403, 409, 410):
        detail = error_detail(response)
        raise SyncFailure(
            f"the study server refused the enrolment code: {detail or 'unknown code'}. "
            "Ask the data manager for a new code (codes work once and expire)",
            retryable=False,
        )
    if response.status_code != 200:
        raise status_error(response.status_code, error_detail(response))
    try:
        reply = EnrolReply.model_validate_json(response.content)
        study_key = StudyPublicKey.from_json(reply.study_public_key)
    except (ValidationError, EproError):
        raise SyncFailure(
            "the study server's enrolment reply is not what this kiosk understands: check that "
            "the kiosk and the server run the same epro version",
            retryable=False,
        ) from None
    checked_server_key(reply.server_public_key)
    assert reply.server_public_key is not None
    check_enrolment_keys(
        study_key,
        reply.server_public_key,
        code_fingerprint=code_fingerprint,
        study_file_fingerprint=study_key_fingerprint or None,
    )
    toml_sha = hashlib.sha256(reply.protocol.study_toml.encode()).hexdigest()
    if toml_sha != reply.protocol.study_sha256:
        raise SyncFailure(
            "the study protocol from the server does not match its checksum; nothing was saved. "
            "Try again, and tell the data manager if it happens twice",
            retryable=False,
        )
    if reply.device_id != store.device_id:
        raise SyncFailure(
            "the study server gave this kiosk another device id than its own; check that the "
            "kiosk and the server run the same epro version",
            retryable=False,
        )
    if reply.site != store.site:
        raise SyncFailure(
            f"the code is for site {reply.site} but this kiosk was set up for site {store.site}: "
            "ask the data manager for a code for the right site",
            retryable=False,
        )
    with store.unit_of_work() as uow:
        keys = uow.keys
        keys.set_setting(keys_.SERVER_URL, server_url)
        keys.set_setting(keys_.SERVER_DEVICE_ID, reply.device_id)
        keys.set_setting(keys_.DEVICE_TOKEN, reply.token, secret=True)
        keys.set_setting(keys_.STUDY_TOML, reply.protocol.study_toml)
        keys.set_setting(keys_.STUDY_SHA256, reply.protocol.study_sha256)
        keys.set_setting(keys_.REVOKED, "0")
        keys.set_setting(keys_.SERVER_PUBLIC_KEY, reply.server_public_key)
        keys.set_study_public_key(study_key)
        uow.audit.append(
            AuditKind.SYNC, "system", detail=f"enrolled with the study server as {reply.device_id}"
        )
        uow.commit()
    return Enrolment(
        device_id=reply.device_id,
        site=reply.site,
        study_key_fingerprint=study_key.fingerprint(),
        study_sha256=reply.protocol.study_sha256,
    )
