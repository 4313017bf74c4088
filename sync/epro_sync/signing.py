"""The server's receipt-signing key: made once, kept readable by the server's user alone.

Kiosks pin the public half at enrolment and purge their copy of a response only on a reply
whose receipts this key signed (``epro.protocol.receipts_signing_bytes``): a fake server, or
anything else that answers in the server's place, cannot make a kiosk delete what the study
server never stored. The key is an Ed25519 private key in a PEM file (PKCS #8), created with
mode 0600 and refused when others on the machine may read it.
"""

from __future__ import annotations

import base64
import contextlib
import os
import stat
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from epro.errors import EproError
from epro.protocol import ENROLMENT_CODE_SEPARATOR, enrolment_fingerprint, receipts_signing_bytes

if TYPE_CHECKING:
    from epro_sync.config import ServerSettings


class SigningKey:
    """The loaded key: signs receipts, and gives its public half as kiosks pin it."""

    def __init__(self, key: Ed25519PrivateKey, path: Path) -> None:
        self._key = key
        self.path = path
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key_b64 = base64.b64encode(raw).decode("ascii")

    def sign_receipts(self, device_id: str, request_body: bytes, reply_body: bytes) -> str:
        """The ``Epro-Receipt-Signature`` header of this reply to this kiosk's request."""
        data = receipts_signing_bytes(device_id, request_body, reply_body)
        return base64.b64encode(self._key.sign(data)).decode("ascii")


def load_or_create(path: Path) -> tuple[SigningKey, bool]:
    """The key at ``path``, made first if there is none; (key, whether it was made now).

    Made race-free: written to a private temporary file and linked into place, so two server
    instances starting together end up with one key (the second reads the first's).
    """
    created = False
    if not path.exists():
        created = _create(path)
    return SigningKey(_read(path), path), created


def _create(path: Path) -> bool:
    if not path.parent.is_dir():
        try:
            path.parent.mkdir(mode=0o700, parents=True)
        except OSError as error:
            raise EproError(
                f"cannot create the folder of the signing key {path}: {error.strerror}; "
                "set EPRO_SYNC_SIGNING_KEY_FILE to a writable place"
            ) from None
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False  # another instance made it first: use theirs
        return True
    except OSError as error:
        raise EproError(
            f"cannot write the signing key {path}: {error.strerror}; "
            "set EPRO_SYNC_SIGNING_KEY_FILE to a writable place"
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _read(path: Path) -> Ed25519PrivateKey:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        data = path.read_bytes()
    except OSError as error:
        raise EproError(f"cannot read the signing key {path}: {error.strerror}") from None
    if mode & 0o077:
        raise EproError(
            f"the signing key {path} may be read by other users (mode {mode:04o}): run "
            f"`chmod 600 {path}`; if anyone may have copied it, make a new key and enrol the "
            "kiosks again"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise EproError(
            f"{path} is not an Ed25519 private key in PEM; make one with `epro-sync signing-key`"
        )
    return key


def code_with_fingerprint(code: str, settings: ServerSettings) -> str:
    """An enrolment code as handed to the site: the one-time code, then the fingerprint of
    the study key and this server's signing key (``epro.protocol.enrolment_fingerprint``),
    which the kiosk checks against what the server hands out at enrolment."""
    from epro.crypto import StudyPublicKey
    from epro_sync.study import read_study_public_key

    study = StudyPublicKey.from_json(read_study_public_key(settings.study_public_key_file))
    key, _created = load_or_create(settings.signing_key_path())
    fingerprint = enrolment_fingerprint(study.full_fingerprint(), key.public_key_b64)
    return f"{code}{ENROLMENT_CODE_SEPARATOR}{fingerprint}"
