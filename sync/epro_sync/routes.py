"""HTTP routes of protocol version 1; each one is a thin call into ``epro_sync.storage``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from epro.protocol import (
    PROTOCOL_VERSION,
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
    StudyProtocol,
)
from epro_sync import storage, upload
from epro_sync.config import ServerSettings
from epro_sync.storage import Refusal
from epro_sync.study import StudyMaterial
from epro_sync.tables import Device

REVOKED_MESSAGE = (
    "this kiosk has been revoked by the data manager; keep it switched on and contact the "
    "study's data manager; its data stays on the kiosk"
)


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


def _device(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Device:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(
            401,
            "missing device token: send 'Authorization: Bearer <token>' with the token the "
            "kiosk received at enrolment",
            headers=challenge,
        )
    device = storage.device_for_token(session, credentials.credentials)
    if device is None:
        raise HTTPException(
            401, "unknown device token: enrol this kiosk again with a new code", headers=challenge
        )
    if device.revoked_at is not None:
        raise HTTPException(403, REVOKED_MESSAGE)
    return device


DeviceDep = Annotated[Device, Depends(_device)]


@router.get("/healthz", tags=["operations"])
def healthz() -> Health:
    """Liveness: the process answers (no database round trip)."""
    return Health(status="ok", protocol=PROTOCOL_VERSION)


@router.post("/v1/enrol", tags=["kiosks"], responses=_problems(403, 409))
def enrol(body: EnrolRequest, request: Request, session: SessionDep) -> EnrolReply:
    """Register a kiosk's Ed25519 public key with a one-time code from `epro-sync enrol-code`."""
    device, token = storage.enrol(
        session, body.code, str(body.device_id), body.public_key, body.label, _now(request)
    )
    session.commit()
    material: StudyMaterial = request.app.state.material
    return EnrolReply(
        device_id=device.device_id,
        token=token,
        site=device.site,
        study_public_key=material.public_key_json,
        protocol=StudyProtocol(study_sha256=material.study_sha256, study_toml=material.study_toml),
    )


_BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}}},
    }
}


@router.post(
    "/v1/responses:batch",
    tags=["responses"],
    openapi_extra=_BATCH_BODY,
    response_model=BatchReply,
    responses=_problems(*_AUTH, 413),
)
def upload_batch(
    payload: Annotated[Any, Body()], request: Request, session: SessionDep, device: DeviceDep
) -> Response:
    """Store sealed envelopes; one receipt per envelope, in order (see `epro.protocol`).

    Envelopes are checked one by one, so a malformed or badly signed envelope is `rejected`
    without holding back the others.
    """
    settings: ServerSettings = request.app.state.settings
    if not isinstance(payload, dict) or not isinstance(payload.get("envelopes"), list):
        raise Refusal(422, 'the body must be {"envelopes": [ ... ]}')
    if extra := sorted(set(payload) - {"envelopes"}):
        raise Refusal(422, f"unexpected field(s) {', '.join(map(str, extra))}; send only envelopes")
    items: list[Any] = payload["envelopes"]
    if len(items) > settings.batch_max:
        raise Refusal(
            413, f"{len(items)} envelopes in one batch; send at most {settings.batch_max}"
        )
    receipts = upload.store_batch(session, device, items, _now(request))
    session.commit()
    # Serialised here, once: returned as a model, the reply would be validated again against
    # the response model and encoded through jsonable_encoder (~20x the cost of this dump).
    body = BatchReply(receipts=receipts).model_dump_json()
    return Response(content=body, media_type="application/json")


@router.post("/v1/roster", tags=["roster"], responses=_problems(*_AUTH, 409))
def push_roster(
    body: RosterPush, request: Request, session: SessionDep, device: DeviceDep
) -> RosterPushReply:
    """Add patients enrolled on the kiosk; re-sending the same patients changes nothing."""
    results = storage.push_roster(session, device, body.patients, _now(request))
    session.commit()
    return RosterPushReply(patients=results)


@router.get("/v1/roster", tags=["roster"], responses=_problems(*_AUTH))
def get_roster(session: SessionDep, device: DeviceDep) -> Roster:
    """Every patient of the kiosk's site, from whichever kiosk enrolled them."""
    return Roster(site=device.site, patients=storage.roster(session, device.site))


@router.get(
    "/v1/completion", tags=["roster"], response_model=Completion, responses=_problems(*_AUTH)
)
def get_completion(session: SessionDep, device: DeviceDep) -> Response:
    """Every response stored for the kiosk's site, across kiosks (metadata only)."""
    # Grows with the whole site; serialised once here rather than validated again on return.
    reply = Completion(site=device.site, entries=storage.completion(session, device.site))
    return Response(content=reply.model_dump_json(), media_type="application/json")


@router.post("/v1/audit-head", tags=["kiosks"], responses=_problems(*_AUTH, 409))
def post_audit_head(
    body: AuditHead, request: Request, session: SessionDep, device: DeviceDep
) -> AuditHeadReply:
    """Record the head of the kiosk's hash-chained audit log (append-only, per kiosk)."""
    try:
        status = storage.record_audit_head(session, device, body, _now(request))
    except Refusal:
        session.commit()  # keep the mismatch in the server audit log
        raise
    session.commit()
    return AuditHeadReply(status="stored" if status == "stored" else "unchanged")
