"""What the server hands every newly enrolled kiosk: the study public key and the study protocol.

Both are read once when the app is created, so a misconfigured server refuses to start with a
plain message instead of failing its first enrolment.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import importlib
import json
from dataclasses import dataclass
from pathlib import Path

from epro.errors import EproError
from epro_sync.config import ServerSettings

_SUITES = ("x25519", "mlkem768-x25519")


@dataclass(frozen=True)
class StudyMaterial:
    public_key_json: str
    study_toml: str
    study_sha256: str


def load_study_material(settings: ServerSettings) -> StudyMaterial:
    return StudyMaterial(
        public_key_json=read_study_public_key(settings.study_public_key_file),
        **_read_study(settings.study_file),
    )


def read_study_public_key(path: Path | None) -> str:
    """The key file's text after checking its shape; the server never interprets the key."""
    if path is None:
        raise EproError(
            "no study public key configured: set EPRO_SYNC_STUDY_PUBLIC_KEY_FILE to the "
            "public key file made by `epro keys study-keypair DIR`"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise EproError(f"cannot read the study public key {path.name}: {error.strerror}") from None
    try:
        data = json.loads(text)
        suite, key = data["suite"], data["public_key"]
        base64.b64decode(key, validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise EproError(
            f"{path.name} is not a study public key: expected JSON "
            '{"suite": "x25519", "public_key": "<base64>"} as made by `epro keys study-keypair`'
        ) from None
    if suite not in _SUITES:
        raise EproError(f"{path.name}: unknown suite {suite!r}; expected one of {_SUITES}")
    return text


def _read_study(path: Path) -> dict[str, str]:
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise EproError(
            f"cannot read the study protocol {path}: "
            f"{getattr(error, 'strerror', None) or error}; set EPRO_SYNC_STUDY_FILE"
        ) from None
    _validate_study(path)
    return {"study_toml": text, "study_sha256": hashlib.sha256(raw).hexdigest()}


def _validate_study(path: Path) -> None:
    """Use the kiosk's own study loader when present, so a broken protocol never ships."""
    try:
        schedule = importlib.import_module("epro.schedule")
    except ImportError:
        return
    load_study = getattr(schedule, "load_study", None)
    if callable(load_study):
        load_study(path)
