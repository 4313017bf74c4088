"""The wire format between kiosks and the study server (version 1), shared by both sides.

Every request and reply body of the study server is one of the pydantic models below; the
server's OpenAPI document (``/openapi.json``) is generated from them.

Envelopes
    A submitted questionnaire travels as an :class:`Envelope`: clear routing metadata (who, which
    visit and form) plus ``sealed``, the HPKE ciphertext of answers and scores that only the
    holder of the study private key can open. The kiosk signs the envelope with its Ed25519
    device key. What is signed is :func:`signing_bytes`: the canonical JSON of every field except
    ``signature`` and ``sha256`` — keys sorted, separators ``,`` and ``:``, UTF-8, no escaping
    of non-ASCII, ``submitted_at`` rendered as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always UTC,
    always microseconds), UUIDs lower-case with hyphens. ``sha256`` is the hex SHA-256 of those
    same bytes; it identifies the content for duplicate detection.

Upload semantics (``POST /v1/responses:batch``)
    The request carries, besides the bearer token, an ``Epro-Signature`` header: the kiosk's
    Ed25519 signature of :func:`request_signing_bytes` (method, path, SHA-256 of the body). The
    server checks that one signature per request; it authenticates every envelope in the body.
    Receipts come back in the order of the envelopes, one per envelope. ``stored``: new, kept.
    ``duplicate``: the same ``response_id`` with the same ``sha256`` was stored before; the
    receipt repeats the original ``receipt_id`` and ``received_at``. ``conflict``: the same
    ``response_id`` arrived with different content; the new bytes are quarantined for review and
    the original is never overwritten. ``rejected``: the envelope is malformed, names another
    kiosk or site, or its ``sha256`` does not match its content; ``message`` says which. A kiosk
    may mark an envelope as sent on ``stored`` and ``duplicate`` (and keep ``conflict``/
    ``rejected`` ones for staff to look at); a retry of the same batch is always safe.
    The reply carries an ``Epro-Receipt-Signature`` header: the server's Ed25519 signature of
    :func:`receipts_signing_bytes` (kiosk, request body, reply body). A kiosk acts on the
    receipts only when it verifies with the server key it pinned at enrolment.

Two signatures, two jobs
    The request signature proves, at upload, that the registered kiosk sent these bytes. Each
    envelope's own signature, made offline at Submit, travels with it and is stored: it lets
    anyone holding the kiosk's public key check a response end to end, long after upload and
    without trusting the server (``epro-sync verify`` does so for every stored response).

This module has no I/O and imports neither textual nor an HTTP client.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final, Literal
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
)

from epro.errors import SyncError

#: Bumped only for incompatible changes; the server's routes carry it as ``/v1``.
PROTOCOL_VERSION = 1

#: HPKE ``info`` of a sealed response (``Envelope.sealed``): the kiosk seals with it, the
#: data manager's export opens with it. Here, not with the kiosk's session code, so that
#: opening a response needs nothing of the kiosk.
SEAL_INFO: Final = b"epro response v1"
#: Version of the response document layout inside the seal.
DOCUMENT_SCHEMA: Final = "epro.response/1"

#: The largest batch a server accepts unless configured otherwise.
DEFAULT_BATCH_MAX = 500

Suite = Literal["x25519", "mlkem768-x25519"]
ReceiptStatus = Literal["stored", "duplicate", "conflict", "rejected"]
RosterStatus = Literal["created", "unchanged", "updated"]

#: Characters that are not what they seem on a screen: controls (tabs, new lines, NUL),
#: invisible formatting (bidi overrides and isolates, zero-width characters) and line or
#: paragraph separators. A label holding one can print as something else than it is.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def hidden_characters(value: str) -> list[str]:
    """The characters of ``value`` that a screen would not show as themselves."""
    return [ch for ch in value if unicodedata.category(ch) in _HIDDEN_CATEGORIES]


def shown_safely(value: str) -> str:
    """``value`` for a terminal or log: every hidden character as a visible ``\\u`` escape."""
    return "".join(
        f"\\u{ord(ch):04x}" if unicodedata.category(ch) in _HIDDEN_CATEGORIES else ch
        for ch in value
    )


def _plain_text(value: str) -> str:
    """Refuse hidden characters and unpaired surrogates (databases cannot store those)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    if hidden_characters(value):
        raise ValueError(
            "must not contain control or invisible formatting characters "
            "(tabs, new lines, NUL, bidi overrides, zero-width characters)"
        )
    return value


#: Standard base64 with padding, checked by pydantic's compiled regex: envelopes carry
#: kilobytes of it, and decoding it in Python only to validate it was a large share of an upload.
_BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def problem_text(problem: Mapping[str, Any]) -> str:
    """What one of pydantic's error entries says, in the words a sender can act on.

    A base64 field that does not match says what base64 is instead of quoting the regular
    expression (done here rather than in a validator on the field: envelopes carry two such
    fields, and a Python validator per field was a measurable share of reading an upload).
    """
    context = problem.get("ctx") or {}
    if problem.get("type") == "string_pattern_mismatch" and context.get("pattern") == (
        _BASE64_PATTERN
    ):
        return "must be standard base64 (A–Z, a–z, 0–9, +, /, = padding)"
    return str(problem.get("msg", "is invalid")).removeprefix("Value error, ")


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a time zone, e.g. 2026-03-01T09:30:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the supported range of dates") from None


def _year_month(value: str) -> str:
    if not 1 <= int(value[5:7]) <= 12:
        raise ValueError("month must be 01–12, as in 2015-07")
    return value


#: A short identifier: letters, digits, ``-``, ``_`` and ``.``, starting with a letter or digit.
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
#: Free text on one line (labels, messages).
PlainText = Annotated[str, Field(max_length=200), AfterValidator(_plain_text)]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="lower-case hex SHA-256")]
#: The largest ``sealed`` accepted: a response document is a few kilobytes (the longest free
#: text an answer may hold is 2,000 characters), sealed and base64'd well under this; the cap
#: keeps one envelope from costing the server more than a real one can.
SEALED_MAX_CHARS = 65_536
Base64 = Annotated[
    str,
    Field(min_length=4, max_length=SEALED_MAX_CHARS, pattern=_BASE64_PATTERN),
]
#: An Ed25519 signature (64 bytes: 88 characters of base64), with room to spare; whether it
#: is one is for the signature check to say.
SignatureB64 = Annotated[str, Field(min_length=4, max_length=128, pattern=_BASE64_PATTERN)]
#: A raw Ed25519 public key (32 bytes: 44 characters of base64), with room to spare; whether it
#: is one is for enrolment to say.
PublicKeyB64 = Annotated[str, Field(min_length=4, max_length=64, pattern=_BASE64_PATTERN)]
UtcDateTime = Annotated[datetime, AfterValidator(_utc)]
#: A UUID as the protocol writes it: lower-case, with hyphens (what ``str(uuid)`` gives).
UuidText = Annotated[
    str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]
#: A time as it is signed (:func:`utc_timestamp`): ``YYYY-MM-DDTHH:MM:SS.ffffffZ``. The pattern
#: alone does not make it a valid date; ``datetime.fromisoformat`` decides that.
SignedTime = Annotated[
    str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")
]
YearMonth = Annotated[
    str, Field(pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2015-07"]), AfterValidator(_year_month)
]
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", examples=["nl"])]
Version = Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$", examples=["1.0.0"])]


def utc_timestamp(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC: the one rendering of times that are signed.

    Same as ``strftime("%Y-%m-%dT%H:%M:%S.%fZ")`` of the UTC time (years padded to four
    digits), formatted by hand because strftime was a measurable share of checking an upload.
    """
    t = value if value.tzinfo is UTC else value.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031 (the fastest form here)
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        t.microsecond,
    )


class _Model(BaseModel):
    """Wire models refuse unknown fields, so a typo is an error instead of silently lost data."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------- envelopes


class EnvelopeContent(_Model):
    """Everything the kiosk signs: routing metadata in clear plus the sealed answers."""

    response_id: UUID = Field(description="made by the kiosk when the session started; never new")
    device_id: Code = Field(description="the kiosk, as assigned by the server at enrolment")
    site: Code = Field(description="the site the kiosk is enrolled at")
    patient: Code = Field(description="pseudonymous study code, e.g. DEMO-001 (never a name)")
    visit: Code = Field(examples=["V1"])
    form_id: Code = Field(examples=["chaq"])
    form_version: Version
    form_sha256: Sha256Hex = Field(description="SHA-256 of the form file the answers were given on")
    respondent: Annotated[str, Field(pattern=r"^[a-z][a-z_]{0,31}$")] = Field(
        description="child, parent or staff", examples=["child"]
    )
    language: Language
    submitted_at: UtcDateTime
    out_of_window: bool = Field(description="started outside the visit window by staff override")
    suite: Suite = Field(description="HPKE suite of `sealed`")
    sealed: Base64 = Field(description="HPKE ciphertext of answers and scores; opaque to servers")

    @field_serializer("submitted_at")
    def _render_time(self, value: datetime) -> str:
        # One fixed rendering, so every implementation signs the same bytes.
        return utc_timestamp(value)


class Envelope(EnvelopeContent):
    """A signed envelope as uploaded; build one with :func:`sign_envelope`."""

    signature: SignatureB64 = Field(description="Ed25519 signature over signing_bytes, base64")
    sha256: Sha256Hex = Field(description="SHA-256 of signing_bytes, hex")


def canonical_json(data: Any) -> bytes:
    """Sorted keys, compact separators, UTF-8: the one byte form that is signed and hashed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


#: The signed fields in canonical (sorted) order; checked against the model at import.
_SIGNED_FIELDS = (
    "device_id",
    "form_id",
    "form_sha256",
    "form_version",
    "language",
    "out_of_window",
    "patient",
    "respondent",
    "response_id",
    "sealed",
    "site",
    "submitted_at",
    "suite",
    "visit",
)
if tuple(sorted(EnvelopeContent.model_fields)) != _SIGNED_FIELDS:  # pragma: no cover
    raise RuntimeError("epro.protocol: _SIGNED_FIELDS must list EnvelopeContent's fields, sorted")


def signing_bytes(
    envelope: EnvelopeContent,
    *,
    response_id: str | None = None,
    submitted_at: str | None = None,
) -> bytes:
    """The canonical JSON of every envelope field except ``signature`` and ``sha256``.

    Exactly ``canonical_json`` of those fields (a test holds the two equal); see
    :func:`wire_signing_bytes`. A caller that already holds ``str(envelope.response_id)`` or
    ``utc_timestamp(envelope.submitted_at)`` passes it.
    """
    fields = dict(envelope)
    fields["response_id"] = str(envelope.response_id) if response_id is None else response_id
    fields["submitted_at"] = (
        utc_timestamp(envelope.submitted_at) if submitted_at is None else submitted_at
    )
    return wire_signing_bytes(fields)


def wire_signing_bytes(e: Mapping[str, Any]) -> bytes:
    """:func:`signing_bytes` of an envelope given as its field values as they travel: the id
    as its canonical text (:data:`UuidText`) and the time as its signed rendering
    (:data:`SignedTime`); other fields as the model holds them.

    Written out directly rather than through ``canonical_json``: every field is validated to
    characters JSON never escapes (codes, hex, base64, a fixed date format), so no escaping
    pass is needed — on kilobytes of ``sealed`` base64 that pass was the largest cost of
    checking an upload.
    """
    return (
        f'{{"device_id":"{e["device_id"]}","form_id":"{e["form_id"]}",'
        f'"form_sha256":"{e["form_sha256"]}","form_version":"{e["form_version"]}",'
        f'"language":"{e["language"]}","out_of_window":{"true" if e["out_of_window"] else "false"},'
        f'"patient":"{e["patient"]}","respondent":"{e["respondent"]}",'
        f'"response_id":"{e["response_id"]}","sealed":"{e["sealed"]}","site":"{e["site"]}",'
        f'"submitted_at":"{e["submitted_at"]}","suite":"{e["suite"]}","visit":"{e["visit"]}"}}'
    ).encode("ascii")


def reference_signing_bytes(envelope: EnvelopeContent) -> bytes:
    """:func:`signing_bytes` by the general rule (``canonical_json`` of the dumped fields)."""
    fields = set(EnvelopeContent.model_fields)
    return canonical_json(envelope.model_dump(mode="json", include=fields))


def content_sha256(envelope: EnvelopeContent) -> str:
    """Hex SHA-256 of :func:`signing_bytes` — what ``Envelope.sha256`` must equal."""
    return hashlib.sha256(signing_bytes(envelope)).hexdigest()


def sign_envelope(content: EnvelopeContent, sign: Callable[[bytes], bytes]) -> Envelope:
    """Seal the metadata: ``sign`` is the device key's Ed25519 signing function."""
    data = signing_bytes(content)
    return Envelope(
        **content.model_dump(),
        signature=base64.b64encode(sign(data)).decode("ascii"),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def verify_envelope(envelope: Envelope, device_public_key: bytes) -> None:
    """Check ``sha256`` and the Ed25519 signature; raise :class:`SyncError` saying which failed."""
    if content_sha256(envelope) != envelope.sha256:
        raise SyncError(
            f"envelope {envelope.response_id}: sha256 does not match its content; "
            "it was changed after it was signed"
        )
    try:
        key = Ed25519PublicKey.from_public_bytes(device_public_key)
        key.verify(base64.b64decode(envelope.signature), signing_bytes(envelope))
    except (InvalidSignature, ValueError):
        raise SyncError(
            f"envelope {envelope.response_id}: the signature is not valid for the key "
            f"registered for kiosk {envelope.device_id}"
        ) from None


# ---------------------------------------------------------------------- request signatures

#: The header carrying the kiosk's Ed25519 signature of a request (every kiosk route).
REQUEST_SIGNATURE_HEADER = "Epro-Signature"

#: Headers a kiosk adds to every request so the console can show what runs where: its app
#: version, and its own clock when it sent the request (ISO 8601 with offset). Informational:
#: the server stores them on the kiosk's row and never trusts them for anything else.
APP_VERSION_HEADER = "X-Epro-App-Version"
KIOSK_TIME_HEADER = "X-Epro-Kiosk-Time"


def request_signing_bytes(method: str, path: str, body: bytes) -> bytes:
    """What a kiosk signs for one request: method, path and the SHA-256 of the exact body.

    ``path`` is the request target as sent, query string included (``/v1/roster?after=X``),
    so a signature for one page of a read cannot be replayed for another.

    One signature per request authenticates every envelope in it, because the body holds each
    envelope's bytes, signature included. A replayed upload is harmless (the receipts say
    ``duplicate``), so no timestamp or nonce is signed.
    """
    digest = hashlib.sha256(body).hexdigest()
    return f"epro request v{PROTOCOL_VERSION}\n{method.upper()}\n{path}\n{digest}".encode()


def sign_request(method: str, path: str, body: bytes, sign: Callable[[bytes], bytes]) -> str:
    """The ``Epro-Signature`` header value: base64 Ed25519 signature of the request."""
    return base64.b64encode(sign(request_signing_bytes(method, path, body))).decode("ascii")


def request_signature_valid(
    device_public_key: bytes, header: str, method: str, path: str, body: bytes
) -> bool:
    """True when ``header`` is the registered key's signature of this very request."""
    try:
        signature = base64.b64decode(header, validate=True)
        key = Ed25519PublicKey.from_public_bytes(device_public_key)
        key.verify(signature, request_signing_bytes(method, path, body))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


# ---------------------------------------------------------------------- signed receipts

#: The header carrying the server's Ed25519 signature of an upload's receipts.
RECEIPT_SIGNATURE_HEADER = "Epro-Receipt-Signature"


def receipts_signing_bytes(device_id: str, request_body: bytes, reply_body: bytes) -> bytes:
    """What the server signs for one upload: the kiosk it answers, the SHA-256 of the exact
    request body and of the exact reply body (the receipts, ``BatchReply``).

    One signature per reply covers every receipt in it. Bound to the request, a reply cannot
    be presented as the answer to another upload; bound to the kiosk, not to another kiosk.
    A kiosk marks an envelope sent, and purges its copy, only from a reply whose signature
    verifies with the server key it pinned at enrolment.
    """
    request = hashlib.sha256(request_body).hexdigest()
    reply = hashlib.sha256(reply_body).hexdigest()
    return f"epro receipts v{PROTOCOL_VERSION}\n{device_id}\n{request}\n{reply}".encode()


def receipts_signature_valid(
    server_public_key: bytes, header: str, device_id: str, request_body: bytes, reply_body: bytes
) -> bool:
    """True when ``header`` is the server key's signature of this reply to this request."""
    try:
        signature = base64.b64decode(header, validate=True)
        key = Ed25519PublicKey.from_public_bytes(server_public_key)
        key.verify(signature, receipts_signing_bytes(device_id, request_body, reply_body))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


#: Hex digits of the enrolment fingerprint an enrolment code carries (128 bits).
ENROLMENT_FINGERPRINT_DIGITS = 32
#: Between the one-time code and the fingerprint in an enrolment code as handed out.
ENROLMENT_CODE_SEPARATOR = "+"


def enrolment_fingerprint(study_key_fingerprint: str, server_public_key: str) -> str:
    """The fingerprint an enrolment code carries: of the study key (its full fingerprint,
    ``StudyPublicKey.full_fingerprint``) and the server's signing key (base64) together,
    32 hex digits in groups of four. The kiosk compares it with what the server hands out,
    so neither key is taken on trust from whoever answers the enrolment."""
    digest = hashlib.sha256(
        f"epro enrolment v{PROTOCOL_VERSION}\n{study_key_fingerprint}\n{server_public_key}".encode()
    ).hexdigest()[:ENROLMENT_FINGERPRINT_DIGITS]
    return "-".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def split_enrolment_code(code: str) -> tuple[str, str | None]:
    """(the one-time code, the fingerprint it carries or None), as people type them: the
    fingerprint's dashes, spaces and case do not matter."""
    secret, separator, fingerprint = code.strip().partition(ENROLMENT_CODE_SEPARATOR)
    if not separator:
        return secret.strip(), None
    return secret.strip(), "".join(fingerprint.split()).replace("-", "").lower()


class BatchRequest(_Model):
    """``POST /v1/responses:batch``: up to the server's batch maximum of envelopes."""

    envelopes: list[Envelope] = Field(max_length=DEFAULT_BATCH_MAX)


class Receipt(_Model):
    """The server's answer for one envelope (see the module docstring for the statuses)."""

    response_id: UUID | None = Field(description="null only when the envelope had no valid id")
    status: ReceiptStatus
    receipt_id: UUID | None = Field(description="set for stored, duplicate and conflict")
    received_at: datetime | None = Field(description="when the server first stored this id")
    sha256: str | None = Field(description="the sha256 the server computed for these bytes")
    message: str = Field(description="plain words for staff; empty when stored")


class BatchReply(_Model):
    """Receipts in the order of the uploaded envelopes."""

    receipts: list[Receipt]


# ---------------------------------------------------------------------------------- enrolment


class EnrolRequest(_Model):
    """``POST /v1/enrol``: a kiosk registers its public key with a one-time code."""

    code: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="the one-time code from `epro-sync enrol-code` (dashes and case ignored)"
    )
    device_id: UUID = Field(
        description="the kiosk's own device id, made when its database was created; the server "
        "adopts it, so envelopes sealed before enrolment carry the right id"
    )
    public_key: PublicKeyB64 = Field(description="raw 32-byte Ed25519 public key, base64")
    label: PlainText = Field(description="a name for the kiosk, e.g. 'outpatient clinic 2'")


class StudyProtocol(_Model):
    """The study protocol text the kiosk runs its visit schedule from."""

    study_sha256: Sha256Hex
    study_toml: str


class EnrolReply(_Model):
    """What a newly enrolled kiosk keeps: its identity, token, and the study's keys and plan."""

    device_id: str
    token: str = Field(description="bearer token for every later request; shown only once")
    site: str
    study_public_key: str = Field(description='JSON text {"suite": ..., "public_key": base64}')
    protocol: StudyProtocol
    server_public_key: PublicKeyB64 | None = Field(
        default=None,
        description="the server's Ed25519 receipt-signing key (raw, base64); the kiosk pins it "
        "and purges only on receipts it signed (absent from servers that do not sign)",
    )


class ServerKey(_Model):
    """``GET /v1/server-key``: the server's receipt-signing key, for a kiosk enrolled before
    receipts were signed to pin at its next sync."""

    public_key: PublicKeyB64 = Field(description="raw 32-byte Ed25519 public key, base64")


# ---------------------------------------------------------------------- roster and completion


class RosterPatient(_Model):
    """A patient as enrolled on a kiosk: pseudonymous code and the dates the schedule needs."""

    code: Code = Field(examples=["DEMO-001"])
    site: Code
    birth_ym: YearMonth
    baseline_date: date
    language: Language


#: Most patients in one roster push or one page of ``GET /v1/roster``.
ROSTER_PAGE_MAX = 500
#: Most patients a kiosk takes from its site's roster: far more than a site enrols in a
#: trial, so a larger roster is a mistake or an attack, and the kiosk says so instead of
#: building an ever larger push.
ROSTER_MAX_PATIENTS = 10_000


class RosterPush(_Model):
    """``POST /v1/roster``: patients enrolled locally, at most :data:`ROSTER_PAGE_MAX` per push
    (a kiosk with more pushes several); pushing the same data again is harmless."""

    patients: list[RosterPatient] = Field(max_length=ROSTER_PAGE_MAX)


class RosterResult(_Model):
    code: str
    status: RosterStatus


class RosterPushReply(_Model):
    patients: list[RosterResult]


class Roster(_Model):
    """``GET /v1/roster[?after=CODE]``: one page of the kiosk's site roster, ordered by code."""

    site: str
    patients: list[RosterPatient] = Field(max_length=ROSTER_PAGE_MAX)
    next_after: str | None = Field(
        default=None,
        description="when more patients follow: the code to pass as ?after= for the next page",
    )


class CompletionEntry(_Model):
    """One cell of the completion grid: a patient's visit, form and respondent, across kiosks."""

    patient: str
    visit: str
    form_id: str
    respondent: str
    responses: int = Field(ge=1, description="responses stored for this cell, from any kiosk")
    last_submitted_at: datetime = Field(description="when the latest of them was submitted")


class Completion(_Model):
    """``GET /v1/completion``: every cell of the kiosk's site that holds a stored response.

    One entry per patient, visit, form and respondent (not per response), so the reply grows
    with the grid the nurse station shows, not with every response the site ever uploaded.
    """

    site: str
    entries: list[CompletionEntry]


# ---------------------------------------------------------------------------------- audit head


#: Most link hashes in one audit-head post (67 bytes each in the body: 12,000 stay well under
#: the server's cap on small bodies); a kiosk with more since the last head the server holds
#: sends several posts, each extending the one before.
AUDIT_LINKS_MAX = 12_000


def audit_head_json(
    *,
    seq: int,
    hash: str,
    at: str,
    from_seq: int | None,
    links: list[str],
    keyed_from: int | None,
    acknowledged: int | None,
) -> bytes:
    """The body of an :class:`AuditHead` written straight from the kiosk's own stored values
    (``at`` as stored, ISO-8601 with its offset): building the model validated every link hash
    once more on the kiosk, most of the cost of a post after a large sync. A test holds it
    equal to the model's own JSON."""
    fields: dict[str, Any] = {"seq": seq, "hash": hash, "at": at}
    if from_seq is not None:
        fields["from_seq"] = from_seq
        fields["links"] = links
    if keyed_from is not None:
        fields["keyed_from"] = keyed_from
    if acknowledged is not None:
        fields["acknowledged"] = acknowledged
    return json.dumps(fields, separators=(",", ":")).encode()


HeadStatus = Literal["stored", "unchanged", "resend", "flagged"]


class AuditHead(_Model):
    """``POST /v1/audit-head``: the head of the kiosk's keyed, hash-chained audit log, with
    the link hashes since the head the server acknowledged last.

    The server checks that the new head **extends** the one it holds: ``links`` are the hashes
    of events ``from_seq`` … ``seq`` in order (the last is ``hash``), so the link at the
    server's head must be among them and equal to it. A kiosk file restored from an older copy,
    or a log rewritten since, cannot show that link, and the kiosk is flagged (see
    :class:`AuditHeadReply`).
    """

    seq: int = Field(ge=0, le=2**62, description="sequence number of the last audit event")
    hash: Sha256Hex
    at: UtcDateTime
    from_seq: int | None = Field(
        default=None, ge=1, le=2**62, description="sequence number of the first of `links`"
    )
    links: list[Sha256Hex] = Field(
        default_factory=list,
        max_length=AUDIT_LINKS_MAX,
        description="hashes of the events from_seq … seq, in order",
    )
    keyed_from: int | None = Field(
        default=None, ge=1, le=2**62, description="first event of the kiosk's keyed chain"
    )
    acknowledged: int | None = Field(
        default=None, ge=0, le=2**62, description="responses the kiosk holds receipts for"
    )


class AuditHeadReply(_Model):
    """``stored``/``unchanged``: the head extends the one the server held. ``resend``: the
    links do not reach back to the server's head (``held_seq``); send them from there.
    ``flagged``: the kiosk's log does not extend what the server holds (rolled back or
    forked); ``message`` says how, and the kiosk purges nothing until a person resolves it
    on the server (``epro-sync resolve-chain``)."""

    status: HeadStatus
    held_seq: int | None = None
    message: str = ""


class Problem(_Model):
    """Every refusal (4xx): one plain sentence saying what is wrong and how to fix it."""

    detail: str


class Health(_Model):
    status: Literal["ok"]
    protocol: int
