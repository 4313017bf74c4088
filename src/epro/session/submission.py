"""What a submitted response becomes: the response document, sealed and signed in an envelope.

The document (answers + scores + metadata) is canonical JSON, sealed with HPKE to the study
public key so that the kiosk itself can no longer read it, then wrapped in a protocol
``Envelope`` signed with the device key. Pure apart from the randomness of sealing.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final
from uuid import UUID

from epro import protocol
from epro.crypto import DeviceKey, StudyPublicKey, Suite, seal
from epro.forms.model import AnswerValue, Form
from epro.protocol import DOCUMENT_SCHEMA as DOCUMENT_SCHEMA  # the seal's names, shared
from epro.protocol import SEAL_INFO as SEAL_INFO  # with the export, which opens it
from epro.protocol import Envelope, EnvelopeContent, sign_envelope
from epro.store.domain import ResponseMeta

_WIRE_SUITES: Final[dict[Suite, protocol.Suite]] = {
    Suite.X25519: "x25519",
    Suite.MLKEM768_X25519: "mlkem768-x25519",
}


def jsonable(value: object) -> Any:
    """Scores may be exact numbers or small records; JSON gets plain numbers and objects."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal | Fraction):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return str(value)


def canonical_json(document: object) -> bytes:
    """Sorted keys, compact separators, UTF-8: the same document always gives the same bytes."""
    return json.dumps(
        jsonable(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def response_document(
    meta: ResponseMeta,
    *,
    site: str,
    device_id: str,
    answers: Mapping[str, AnswerValue],
    scores: object,
    score_notes: object,
    submitted_at: datetime,
) -> dict[str, Any]:
    """Everything the study needs about one response, ready to be sealed."""
    return {
        "schema": DOCUMENT_SCHEMA,
        "response_id": meta.id,
        "site": site,
        "device_id": device_id,
        "patient": meta.patient,
        "visit": meta.visit,
        "form_id": meta.form_id,
        "form_version": meta.form_version,
        "form_sha256": meta.form_sha256,
        "respondent": meta.respondent,
        "language": meta.language,
        "started_at": meta.started_at.isoformat(),
        "submitted_at": submitted_at.isoformat(),
        "out_of_window_reason": meta.out_of_window_reason,
        "answers": dict(answers),
        "scores": jsonable(scores),
        "score_notes": jsonable(score_notes),
    }


def build_envelope(
    meta: ResponseMeta,
    form: Form,
    *,
    document: Mapping[str, Any],
    site: str,
    device_id: str,
    study_key: StudyPublicKey,
    device_key: DeviceKey,
    submitted_at: datetime,
) -> Envelope:
    """Seal ``document`` to the study and sign the envelope with the device key."""
    sealed = seal(canonical_json(document), study_key, info=SEAL_INFO)
    content = EnvelopeContent(
        response_id=UUID(meta.id),
        device_id=device_id,
        site=site,
        patient=meta.patient,
        visit=meta.visit,
        form_id=form.id,
        form_version=form.version,
        form_sha256=form.sha256,
        respondent=meta.respondent,
        language=meta.language,
        submitted_at=submitted_at,
        out_of_window=meta.out_of_window_reason is not None,
        suite=_WIRE_SUITES[study_key.suite],
        sealed=base64.b64encode(sealed).decode("ascii"),
    )
    return sign_envelope(content, device_key.sign)
