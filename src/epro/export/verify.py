"""One stored envelope, checked end to end and opened: the gate every exported answer passes.

For each response of a bundle, in this order (the cheap checks first, the seal last):

1. the stored text is a well-formed protocol ``Envelope``;
2. the server's routing columns (id, kiosk, site, patient, visit, time, hash) are the
   envelope's own — the server cannot re-file a response;
3. ``sha256`` is the hash of the signed content;
4. the kiosk is in the bundle's registry, enrolled at the envelope's site;
5. the Ed25519 signature is valid for the key that kiosk *registered* (not for any key the
   envelope might bring);
6. it was submitted before the kiosk was revoked;
7. the HPKE seal opens with the study private key;
8. the sealed document is a response document whose id, site, kiosk, patient, visit, form,
   version, form hash, respondent, language, time and out-of-window flag are those of the
   envelope — a signed envelope around someone else's answers is a forgery;
9. the form version is known (by id, version and the SHA-256 of its file), the respondent is
   one that form names, the visit is one of the protocol;
10. every answer is valid for that form version.

A response that fails is :class:`Rejected` with the check's name and a plain reason; reasons
never quote an answer. Nothing here touches files or the clock, so the same checks run in a
worker process (:mod:`epro.export.parallel`) or inline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from epro.bundle import DeviceRecord, ResponseRecord
from epro.crypto import StudyPrivateKey, open_sealed
from epro.errors import AnswerError, CryptoError, ExportError
from epro.export.catalogue import Catalogue
from epro.export.records import ExportResponse
from epro.forms import validate_answers
from epro.protocol import (
    DOCUMENT_SCHEMA,
    SEAL_INFO,
    Envelope,
    problem_text,
    signing_bytes,
    utc_timestamp,
)


class Check(StrEnum):
    """The checks of the module docstring, as named in ``problems.csv``."""

    ENVELOPE = "envelope"
    BUNDLE_RECORD = "bundle_record"
    CONTENT_HASH = "content_hash"
    KIOSK = "kiosk"
    SIGNATURE = "signature"
    REVOCATION = "revocation"
    SEAL = "seal"
    DOCUMENT = "document"
    ROUTING = "routing"
    FORM_VERSION = "form_version"
    RESPONDENT = "respondent"
    VISIT = "visit"
    ANSWERS = "answers"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A response that is not exported: which check failed and why, in plain words."""

    response_id: str
    device_id: str
    patient: str
    check: Check
    reason: str


@dataclass(frozen=True, slots=True)
class _Kiosk:
    site: str
    key: Ed25519PublicKey | None
    revoked_at: datetime | None


def _public_key(text: str) -> Ed25519PublicKey | None:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error):
        return None


#: Fields the sealed document and the envelope both carry, which must be equal.
_AGREEING: Final = (
    "site",
    "device_id",
    "patient",
    "visit",
    "form_id",
    "form_version",
    "form_sha256",
    "respondent",
    "language",
)


class Verifier:
    """Checks and opens envelopes against one bundle's kiosk registry and one study key."""

    def __init__(
        self,
        *,
        kiosks: Iterable[DeviceRecord],
        catalogue: Catalogue,
        study_key: StudyPrivateKey,
    ) -> None:
        self._kiosks = {
            k.device_id: _Kiosk(k.site, _public_key(k.public_key), k.revoked_at) for k in kiosks
        }
        self._catalogue = catalogue
        self._visits = frozenset(v.code for v in catalogue.study.visits)
        self._key = study_key

    def check(self, record: ResponseRecord) -> ExportResponse | Rejected:
        """The opened, validated response, or why it is rejected."""
        try:
            return self._check(record)
        except _Refused as refused:
            return Rejected(
                record.response_id, record.device_id, record.patient, refused.check, refused.reason
            )

    def _check(self, record: ResponseRecord) -> ExportResponse:
        try:
            envelope = Envelope.model_validate_json(record.envelope)
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"]) or "envelope"
            raise _Refused(
                Check.ENVELOPE,
                f"the stored envelope is malformed ({where}: {problem_text(problem)})",
            ) from None
        response_id = str(envelope.response_id)
        submitted = utc_timestamp(envelope.submitted_at)
        _same_routing(record, envelope, response_id, submitted)
        signed = signing_bytes(envelope, response_id=response_id, submitted_at=submitted)
        if hashlib.sha256(signed).hexdigest() != envelope.sha256:
            raise _Refused(
                Check.CONTENT_HASH,
                "the envelope's sha256 does not match its content: it was changed after it was "
                "signed",
            )
        kiosk = self._kiosks.get(envelope.device_id)
        if kiosk is None:
            raise _Refused(Check.KIOSK, "its kiosk is not in the bundle's kiosk registry")
        if kiosk.site != envelope.site:
            raise _Refused(Check.KIOSK, "its site is not the site its kiosk is enrolled at")
        if kiosk.key is None:
            raise _Refused(Check.KIOSK, "its kiosk has no usable registered public key")
        try:
            kiosk.key.verify(base64.b64decode(envelope.signature), signed)
        except (InvalidSignature, ValueError):
            raise _Refused(
                Check.SIGNATURE, "the signature is not valid for the key registered for its kiosk"
            ) from None
        if kiosk.revoked_at is not None and envelope.submitted_at >= kiosk.revoked_at:
            raise _Refused(
                Check.REVOCATION,
                "submitted after its kiosk was revoked (the kiosk registry says when)",
            )
        try:
            opened = open_sealed(base64.b64decode(envelope.sealed), self._key, info=SEAL_INFO)
        except CryptoError:
            raise _Refused(
                Check.SEAL,
                "the sealed answers do not open with this study key (sealed to another study "
                "key, or altered)",
            ) from None
        document = _document(opened)
        started_at = _agrees(document, envelope, response_id)
        form = self._catalogue.by_sha256.get(envelope.form_sha256)
        if form is None or (form.id, form.version) != (envelope.form_id, envelope.form_version):
            raise _Refused(Check.FORM_VERSION, self._unknown_form(envelope))
        if envelope.respondent not in form.respondents:
            raise _Refused(
                Check.RESPONDENT,
                f"form {form.id} {form.version} has no respondent {envelope.respondent!r}",
            )
        if envelope.visit not in self._visits:
            raise _Refused(Check.VISIT, f"{envelope.visit} is not a visit of the study protocol")
        answers = document.get("answers")
        if not isinstance(answers, dict):
            raise _Refused(Check.DOCUMENT, "the sealed document holds no answers")
        try:
            valid = validate_answers(form, answers)
        except AnswerError as error:
            reasons = "; ".join(str(error).splitlines())
            raise _Refused(
                Check.ANSWERS, f"answers not valid for {form.id} {form.version}: {reasons}"
            ) from None
        reason = document.get("out_of_window_reason")
        return ExportResponse(
            response_id=response_id,
            site=envelope.site,
            device_id=envelope.device_id,
            patient=envelope.patient,
            visit=envelope.visit,
            form_id=envelope.form_id,
            form_version=envelope.form_version,
            form_sha256=envelope.form_sha256,
            respondent=envelope.respondent,
            language=envelope.language,
            started_at=started_at,
            submitted_at=envelope.submitted_at,
            received_at=record.received_at,
            receipt_id=record.receipt_id,
            out_of_window=envelope.out_of_window,
            out_of_window_reason=reason if isinstance(reason, str) else None,
            envelope_sha256=envelope.sha256,
            answers=valid,
        )

    def describe_copy(self, text: str) -> tuple[str, str]:
        """The patient a quarantined copy names, and whether its kiosk really signed it."""
        try:
            envelope = Envelope.model_validate_json(text)
        except ValidationError:
            return "", "the copy is not a well-formed envelope"
        kiosk = self._kiosks.get(envelope.device_id)
        signed = signing_bytes(envelope)
        if kiosk is None or kiosk.key is None:
            return envelope.patient, "its kiosk is not in the registry"
        try:
            kiosk.key.verify(base64.b64decode(envelope.signature), signed)
        except (InvalidSignature, ValueError):
            return envelope.patient, "not validly signed by its kiosk"
        if hashlib.sha256(signed).hexdigest() != envelope.sha256:
            return envelope.patient, "signed by its kiosk, but its sha256 does not match"
        return envelope.patient, "validly signed by its kiosk"

    def _unknown_form(self, envelope: Envelope) -> str:
        named = f"form {envelope.form_id} version {envelope.form_version}"
        if self._catalogue.form_for(envelope.form_id, envelope.form_version) is not None:
            return (
                f"{named} is known, but the file it was answered on is not that file (its "
                "SHA-256 differs); add the exact file it was answered on to forms/versions/"
            )
        if envelope.form_sha256 in self._catalogue.by_sha256:
            return f"{named} does not match the form file its SHA-256 names"
        return f"{named} is not known to this export; add its form file to forms/versions/"


def answer_misfit(response: ExportResponse, link_id: str) -> ExportError:
    """The error of a file writer meeting an answer of ``response`` that does not fit its form
    version: verification (check 10) lets no such answer through, so it should be re-run."""
    return ExportError(
        f"response {response.response_id}: the answer to {link_id} does not fit "
        f"{response.form_id} {response.form_version}; re-run the export's verification"
    )


class _Refused(Exception):
    def __init__(self, check: Check, reason: str) -> None:
        super().__init__(reason)
        self.check = check
        self.reason = reason


def _same_routing(
    record: ResponseRecord, envelope: Envelope, response_id: str, submitted: str
) -> None:
    differing = [
        name
        for name, column, own in (
            ("response id", record.response_id, response_id),
            ("kiosk", record.device_id, envelope.device_id),
            ("site", record.site, envelope.site),
            ("patient", record.patient, envelope.patient),
            ("visit", record.visit, envelope.visit),
            ("submission time", utc_timestamp(record.submitted_at), submitted),
            ("sha256", record.sha256, envelope.sha256),
        )
        if column != own
    ]
    if differing:
        raise _Refused(
            Check.BUNDLE_RECORD,
            f"the server filed it under another {', '.join(differing)} than its envelope names",
        )


def _document(opened: bytes) -> Mapping[str, Any]:
    try:
        document = json.loads(opened)
    except ValueError:
        document = None
    if not isinstance(document, dict) or document.get("schema") != DOCUMENT_SCHEMA:
        raise _Refused(
            Check.DOCUMENT,
            f"the sealed content is not an epro response document ({DOCUMENT_SCHEMA})",
        )
    return document


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def _agrees(document: Mapping[str, Any], envelope: Envelope, response_id: str) -> datetime:
    """Raise unless the sealed document names what its envelope names; its start time."""
    differing = [name for name in _AGREEING if document.get(name) != getattr(envelope, name)]
    if document.get("response_id") != response_id:
        differing.insert(0, "response_id")
    if _time(document.get("submitted_at")) != envelope.submitted_at:
        differing.append("submitted_at")
    reason = document.get("out_of_window_reason")
    if (reason is not None) != envelope.out_of_window or not isinstance(reason, str | None):
        differing.append("out_of_window")
    if differing:
        raise _Refused(
            Check.ROUTING,
            f"the sealed answers name another {', '.join(differing)} than their envelope: a "
            "forgery or a kiosk fault",
        )
    started_at = _time(document.get("started_at"))
    if started_at is None:
        raise _Refused(Check.DOCUMENT, "the sealed document has no valid start time")
    return started_at
