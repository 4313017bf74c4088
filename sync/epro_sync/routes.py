"""HTTP routes of protocol version 1; each one is a thin call into ``epro_sync.storage``."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from epro.protocol import (
    PROTOCOL_VERSION,
    RECEIPT_SIGNATURE_HEADER,
    REQUEST_SIGNATURE_HEADER,
    AuditHead,
    AuditHeadReply,
    BatchReply,
    Completion,
    EnrolReply,
    EnrolRequest,
    Health,
    Problem,
    Roster,
    RosterPush,
    RosterPushReply,
    ServerKey,
    StudyProtocol,
    request_signature_valid,
)
from epro_sync import kiosk_heads, limits, storage, upload
from epro_sync.config import ServerSettings
from epro_sync.db import read_session, writer_lock
from epro_sync.enrol_guard import EnrolGuard
from epro_sync.kiosk_report import read_report
from epro_sync.signing import SigningKey
from epro_sync.storage import Refusal
from epro_sync.study import StudyMaterial
from epro_sync.tables import Device

REVOKED_MESSAGE = limits.REVOKED


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Document the refusals a route can answer with (all share the Problem shape)."""
    return {code: {"model": Problem} for code in (400, *codes, 422)}


_AUTH = (401, 403)
router = APIRouter()
_bearer = HTTPBearer(auto_error=False, description="the device token received at enrolment")


def _session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


SessionDep = Annotated[Session, Depends(_session)]


CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _device(session: SessionDep, credentials: CredentialsDep) -> Device:
    device = storage.device_for_token(session, _token(credentials))
    _refuse_unless_usable(device is not None, device is not None and device.revoked_at is not None)
    assert device is not None
    return device


async def _signed_device(request: Request, device: Annotated[Device, Depends(_device)]) -> Device:
    """The kiosk of the token, once the request carries that kiosk's signature of itself:
    every kiosk route, reads included, so a stolen token alone can do nothing."""
    _check_signature(device.public_key, request, await request.body())
    return device


_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise HTTPException(401, limits.MISSING_TOKEN, headers=_CHALLENGE)
    return credentials.credentials


def _refuse_unless_usable(known: bool, revoked: bool) -> None:
    """401 for a token no kiosk holds, 403 for a revoked kiosk."""
    if not known:
        raise HTTPException(401, limits.UNKNOWN_TOKEN, headers=_CHALLENGE)
    if revoked:
        raise HTTPException(403, REVOKED_MESSAGE)


DeviceDep = Annotated[Device, Depends(_signed_device)]


@router.get("/healthz", tags=["operations"])
def healthz() -> Health:
    """Liveness: the process answers (no database round trip)."""
    return Health(status="ok", protocol=PROTOCOL_VERSION)


@router.post("/v1/enrol", tags=["kiosks"], responses=_problems(403, 409, 429))
async def enrol(body: EnrolRequest, request: Request) -> EnrolReply:
    """Register a kiosk's Ed25519 public key with a one-time code from `epro-sync enrol-code`.

    Every failure is in the server audit; failures from one address are answered ever more
    slowly, and too many lock that address out for a while (`epro_sync.enrol_guard`)."""
    guard: EnrolGuard = request.app.state.enrol_guard
    address = request.client.host if request.client else "unknown"
    now = _now(request)
    until = guard.locked_until(address, now)
    if until is not None:
        await run_in_threadpool(_record_enrol_failure, request, address, 429, "locked out")
        raise HTTPException(
            429,
            f"too many failed enrolments from this address; try again after "
            f"{until:%H:%M} UTC with a code from the data manager",
        )
    try:
        device, token = await run_in_threadpool(_enrol, request, body, now)
    except Refusal as refusal:
        wait = guard.failed(address, now)
        await run_in_threadpool(
            _record_enrol_failure, request, address, refusal.status, str(refusal)
        )
        await anyio.sleep(wait)
        raise
    material: StudyMaterial = request.app.state.material
    return EnrolReply(
        device_id=device.device_id,
        token=token,
        site=device.site,
        study_public_key=material.public_key_json,
        protocol=StudyProtocol(study_sha256=material.study_sha256, study_toml=material.study_toml),
        server_public_key=_signing_key(request).public_key_b64,
    )


def _signing_key(request: Request) -> SigningKey:
    key: SigningKey = request.app.state.signing_key
    return key


@router.get("/v1/server-key", tags=["kiosks"])
def server_key(request: Request) -> ServerKey:
    """The server's receipt-signing key (public). Kiosks get it at enrolment; one enrolled
    before receipts were signed pins it from here at its next sync."""
    return ServerKey(public_key=_signing_key(request).public_key_b64)


def _enrol(request: Request, body: EnrolRequest, now: datetime) -> tuple[Device, str]:
    with Session(request.app.state.engine) as session:
        device, token = storage.enrol(
            session, body.code, str(body.device_id), body.public_key, body.label, now
        )
        session.commit()
        session.refresh(device)
        session.expunge(device)
    return device, token


def _record_enrol_failure(request: Request, address: str, status: int, reason: str) -> None:
    with Session(request.app.state.engine) as session:
        storage.record(
            session, _now(request), "enrol_failed", address=address, status=status, reason=reason
        )
        session.commit()


_BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}}},
    }
}


async def _body(request: Request) -> bytes:
    """The raw request body: the upload route parses it itself, and signs are over its bytes."""
    return await request.body()


BodyDep = Annotated[bytes, Depends(_body)]


def signed_target(request: Request) -> str:
    """The request target as the client sent it (raw path and query): what it signed."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    target = bytes(raw).decode("latin-1")
    return f"{target}?{bytes(query).decode('latin-1')}" if query else target


def _check_signature(public_key: str, request: Request, body: bytes) -> None:
    """401 unless the request carries the kiosk's Ed25519 signature of this very request."""
    header = request.headers.get(REQUEST_SIGNATURE_HEADER)
    if not header:
        raise HTTPException(
            401,
            f"missing request signature: every kiosk request carries an "
            f"{REQUEST_SIGNATURE_HEADER} header signed with the kiosk's device key; update "
            "the kiosk software",
        )
    key = base64.b64decode(public_key)
    if not request_signature_valid(key, header, request.method, signed_target(request), body):
        raise HTTPException(
            401,
            "the request signature does not match the key registered for this kiosk: enrol "
            "this kiosk again with a new code",
        )


@router.post(
    "/v1/responses:batch",
    tags=["responses"],
    openapi_extra=_BATCH_BODY,
    response_model=BatchReply,
    responses=_problems(*_AUTH, 413),
)
def upload_batch(request: Request, body: BodyDep, credentials: CredentialsDep) -> Response:
    """Store sealed envelopes; one receipt per envelope, in order (see `epro.protocol`).

    The request must carry the kiosk's `Epro-Signature` over method, path and body. Envelopes
    are checked one by one, so a malformed one is `rejected` without holding back the others.
    The reply carries the server's `Epro-Receipt-Signature` over the kiosk, request and reply.
    """
    # One worker-thread call for the whole upload. Everything that needs no lock comes first:
    # who sends (a read), their signature, and each envelope's checks and row. Only storing
    # runs in the write transaction, so concurrent uploads hold the lock for that part alone.
    engine = request.app.state.engine
    settings: ServerSettings = request.app.state.settings
    now = _now(request)
    token = _token(credentials)
    with read_session(engine) as session:
        sender = storage.sender_for_token(session, token)
    _refuse_unless_usable(sender is not None, sender is not None and sender.revoked)
    assert sender is not None
    kiosk, public_key = storage.Kiosk(sender.device_id, sender.site), sender.public_key
    _check_signature(public_key, request, body)
    parsed = upload.parse_batch(body, settings.batch_max)
    batch = upload.check_batch(parsed, kiosk.device_id, kiosk.site, engine.dialect, now)
    with writer_lock(engine), Session(engine) as session:
        report = read_report(request.headers, now)
        if not storage.touch_device(session, kiosk.device_id, now, report):  # revoked just now
            raise HTTPException(403, REVOKED_MESSAGE)
        receipts = upload.store_batch(session, kiosk, batch, now)
        session.commit()
    # Serialised here, once, from plain values: a validated model per receipt, or FastAPI's
    # response-model encoding, would cost more than storing the batch. Signed as sent: the
    # kiosk acts on these receipts only when the signature verifies.
    content = upload.reply_json(receipts)
    signature = _signing_key(request).sign_receipts(kiosk.device_id, body, content)
    return Response(
        content=content,
        media_type="application/json",
        headers={RECEIPT_SIGNATURE_HEADER: signature},
    )


@router.post("/v1/roster", tags=["roster"], responses=_problems(*_AUTH, 409))
def push_roster(
    body: RosterPush, request: Request, session: SessionDep, device: DeviceDep
) -> RosterPushReply:
    """Add patients enrolled on the kiosk; re-sending the same patients changes nothing."""
    results = storage.push_roster(session, device, body.patients, _now(request))
    session.commit()
    return RosterPushReply(patients=results)


@router.get("/v1/roster", tags=["roster"], responses=_problems(*_AUTH))
def get_roster(
    session: SessionDep,
    device: DeviceDep,
    after: Annotated[
        str | None, Query(max_length=64, description="continue after this code")
    ] = None,
) -> Roster:
    """The patients of the kiosk's site, from whichever kiosk enrolled them, one page at a
    time in code order (`next_after` names where the next page starts)."""
    patients, next_after = storage.roster(session, device.site, after=after)
    return Roster(site=device.site, patients=patients, next_after=next_after)


@router.get(
    "/v1/completion", tags=["roster"], response_model=Completion, responses=_problems(*_AUTH)
)
def get_completion(session: SessionDep, device: DeviceDep) -> Response:
    """Each patient, visit, form and respondent of the kiosk's site with a stored response,
    from any kiosk: how many, and when the latest was submitted (metadata only)."""
    # Serialised once here rather than validated again on return.
    reply = Completion(site=device.site, entries=storage.completion(session, device.site))
    return Response(content=reply.model_dump_json(), media_type="application/json")


@router.post("/v1/audit-head", tags=["kiosks"], responses=_problems(*_AUTH))
def post_audit_head(
    body: AuditHead, request: Request, session: SessionDep, device: DeviceDep
) -> AuditHeadReply:
    """Record the head of the kiosk's keyed, hash-chained audit log once it **extends** the
    head held for the kiosk (`epro_sync.kiosk_heads`); a rolled-back or forked log flags the
    kiosk until a person resolves it (`epro-sync resolve-chain`).

    Every sync ends with this call, so it also records the kiosk as seen, with the app
    version and clock it reported (`X-Epro-App-Version`, `X-Epro-Kiosk-Time`)."""
    now = _now(request)
    storage.touch_device(session, device.device_id, now, read_report(request.headers, now))
    reply = kiosk_heads.record_head(session, device, body, now)
    session.commit()
    return reply
