"""Keys and ciphers of epro: the only module that touches cryptographic primitives.

Key hierarchy (DESIGN §6):

* site passphrase → Argon2id → key-encryption key (KEK) → unwraps the kiosk **data key**;
* the data key encrypts every answer (AES-256-GCM, fresh 96-bit nonce, associated data that
  binds the row, so ciphertexts cannot be swapped or edited unnoticed);
* a submitted response is **sealed** with HPKE (RFC 9180) to the study public key, which the
  kiosk cannot open, and **signed** with the kiosk's Ed25519 device key.

Changing the passphrase re-wraps the data key only; no answer is re-encrypted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from epro.errors import CryptoError, WrongPassphraseError

NONCE_BYTES = 12
KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost. The default follows the OWASP-style 64 MiB, 3 passes, 4 lanes."""

    memory_cost_kib: int = 65536
    iterations: int = 3
    lanes: int = 4

    def to_dict(self) -> dict[str, int]:
        return {
            "memory_cost_kib": self.memory_cost_kib,
            "iterations": self.iterations,
            "lanes": self.lanes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KdfParams:
        try:
            return cls(
                memory_cost_kib=int(data["memory_cost_kib"]),
                iterations=int(data["iterations"]),
                lanes=int(data["lanes"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CryptoError(
                f"the stored key-derivation parameters are unreadable ({error})"
            ) from None


#: A cheap cost for tests, benchmarks and the demo only — never for a real study.
FAST_KDF = KdfParams(memory_cost_kib=1024, iterations=1, lanes=1)


def new_salt() -> bytes:
    return os.urandom(16)


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def derive_kek(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    """Derive the key-encryption key from the site passphrase with Argon2id."""
    kdf = Argon2id(
        salt=salt,
        length=KEY_BYTES,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_cost_kib,
    )
    return kdf.derive(passphrase.encode("utf-8"))


def wrap_key(kek: bytes, key: bytes, *, context: bytes) -> bytes:
    """Encrypt ``key`` under ``kek``; ``context`` (e.g. the device id) is authenticated too."""
    return _seal_aead(kek, key, context)


def unwrap_key(kek: bytes, wrapped: bytes, *, context: bytes) -> bytes:
    try:
        return _open_aead(kek, wrapped, context)
    except InvalidTag:
        raise WrongPassphraseError(
            "the site passphrase is not right: the data key could not be unlocked. "
            "Check the passphrase (it is case-sensitive) and try again; nothing was changed."
        ) from None


def derive_subkey(key: bytes, purpose: bytes) -> bytes:
    """A 32-byte key for ``purpose`` only, derived from ``key`` (HKDF-SHA256): one data key
    serves several jobs without any of them revealing the key or each other."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=b"epro subkey v1\x00" + purpose,
    )
    return hkdf.derive(key)


def mac(key: bytes, data: bytes) -> str:
    """Hex HMAC-SHA256 of ``data`` under ``key``."""
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def mac_matches(key: bytes, data: bytes, expected: str) -> bool:
    """True when ``expected`` is the HMAC of ``data`` (compared in constant time)."""
    return hmac.compare_digest(mac(key, data), expected)


def record_aad(*parts: str | int) -> bytes:
    """Canonical associated data: each part length-prefixed, so ('ab','c') != ('a','bc')."""
    out = bytearray()
    for part in parts:
        raw = str(part).encode("utf-8")
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


class RecordCipher:
    """AES-256-GCM for stored records, a fresh random 96-bit nonce for every encryption."""

    def __init__(self, data_key: bytes, key_version: int) -> None:
        if len(data_key) != KEY_BYTES:
            raise CryptoError("the data key must be 32 bytes (AES-256)")
        self._aead = AESGCM(data_key)
        self.key_version = key_version

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < NONCE_BYTES + 16:
            raise CryptoError("a stored record is too short to be a ciphertext")
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            raise CryptoError(
                "a stored record does not authenticate (edited, swapped or corrupted)"
            ) from None


def _seal_aead(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open_aead(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < NONCE_BYTES + 16:
        raise InvalidTag
    return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)


# --- HPKE sealing to the study key -------------------------------------------------------------


class Suite(StrEnum):
    """HPKE suites: classic X25519, or the hybrid post-quantum ML-KEM-768 + X25519."""

    X25519 = "x25519"
    MLKEM768_X25519 = "mlkem768-x25519"


_MLKEM768_PUBLIC_BYTES = 1184


def _hpke_suite(suite: Suite) -> hpke.Suite:
    kem = hpke.KEM.X25519 if suite is Suite.X25519 else hpke.KEM.MLKEM768_X25519
    return hpke.Suite(kem, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


def _parse_suite(value: object) -> Suite:
    try:
        return Suite(str(value))
    except ValueError:
        choices = ", ".join(s.value for s in Suite)
        raise CryptoError(f"unknown HPKE suite {value!r}; use one of: {choices}") from None


def _b64decode(value: object, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except ValueError:
        raise CryptoError(f"{what} is not valid base64") from None


@dataclass(frozen=True, slots=True)
class StudyPublicKey:
    """The study's public key, as handed to kiosks (a small JSON text)."""

    suite: Suite
    raw: bytes

    def to_json(self) -> str:
        body = {"suite": self.suite.value, "public_key": base64.b64encode(self.raw).decode()}
        return json.dumps(body, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StudyPublicKey:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise CryptoError(f"the study public key is not JSON ({error.msg})") from None
        if not isinstance(data, dict) or "suite" not in data or "public_key" not in data:
            raise CryptoError(
                "the study public key file must hold {'suite': ..., 'public_key': ...}; "
                "make one with `epro keys study-keypair DIR`"
            )
        key = cls(_parse_suite(data["suite"]), _b64decode(data["public_key"], "the public key"))
        key._hpke_key()  # fail now, not at the first Submit
        return key

    def fingerprint(self) -> str:
        """A short hex id of the key, to compare by eye at enrolment."""
        return self.full_fingerprint()[:16]

    def full_fingerprint(self) -> str:
        """The whole SHA-256 (hex) of which :meth:`fingerprint` is the start: what a study
        file's ``study_key_fingerprint`` gives (at least its first 32 digits)."""
        return hashlib.sha256(self.suite.value.encode() + self.raw).hexdigest()

    def _hpke_key(self) -> x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey:
        try:
            if self.suite is Suite.X25519:
                return x25519.X25519PublicKey.from_public_bytes(self.raw)
            ml = mlkem.MLKEM768PublicKey.from_public_bytes(self.raw[:_MLKEM768_PUBLIC_BYTES])
            xk = x25519.X25519PublicKey.from_public_bytes(self.raw[_MLKEM768_PUBLIC_BYTES:])
            return hpke.MLKEM768X25519PublicKey(ml, xk)
        except ValueError:
            raise CryptoError(f"the study public key is not a valid {self.suite} key") from None


class StudyPrivateKey:
    """The study's private key: kept offline by the data manager, protected by a passphrase."""

    def __init__(self, suite: Suite, x_key: x25519.X25519PrivateKey, ml_seed: bytes | None):
        self.suite = suite
        self._x = x_key
        self._ml_seed = ml_seed

    def public_key(self) -> StudyPublicKey:
        x_pub = self._x.public_key().public_bytes_raw()
        if self.suite is Suite.X25519:
            return StudyPublicKey(self.suite, x_pub)
        ml_pub = self._ml().public_key().public_bytes_raw()
        return StudyPublicKey(self.suite, ml_pub + x_pub)

    def _ml(self) -> mlkem.MLKEM768PrivateKey:
        assert self._ml_seed is not None
        return mlkem.MLKEM768PrivateKey.from_seed_bytes(self._ml_seed)

    def _hpke_key(self) -> x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey:
        if self.suite is Suite.X25519:
            return self._x
        return hpke.MLKEM768X25519PrivateKey(self._ml(), self._x)

    def _secret_bytes(self) -> bytes:
        return self._x.private_bytes_raw() + (self._ml_seed or b"")

    def derive_key(self, purpose: bytes) -> bytes:
        """A 32-byte key for ``purpose`` only (HKDF-SHA256 of the private key): whoever holds
        the study key can make it again, nobody else can, and it reveals nothing of the key.
        The export keys its pseudonyms and date shifts with it."""
        hkdf = HKDF(
            algorithm=hashes.SHA256(),
            length=KEY_BYTES,
            salt=None,
            info=b"epro study key derivation v1\x00" + purpose,
        )
        return hkdf.derive(self._secret_bytes())

    def to_encrypted_json(self, passphrase: str, params: KdfParams = KdfParams()) -> str:
        salt = new_salt()
        kek = derive_kek(passphrase, salt, params)
        context = f"epro-study-key:{self.suite.value}".encode()
        body = {
            "format": "epro-study-private-key/1",
            "suite": self.suite.value,
            "kdf": params.to_dict(),
            "salt": base64.b64encode(salt).decode(),
            "secret": base64.b64encode(_seal_aead(kek, self._secret_bytes(), context)).decode(),
            "public_key": self.public_key().to_json(),
        }
        return json.dumps(body, indent=2, sort_keys=True)

    @classmethod
    def from_encrypted_json(cls, text: str, passphrase: str) -> StudyPrivateKey:
        try:
            data = json.loads(text)
            suite = _parse_suite(data["suite"])
            params = KdfParams.from_dict(data["kdf"])
            salt = _b64decode(data["salt"], "the key salt")
            secret = _b64decode(data["secret"], "the key")
        except (json.JSONDecodeError, KeyError, TypeError):
            raise CryptoError(
                "the study private key file is damaged or not an epro key file"
            ) from None
        kek = derive_kek(passphrase, salt, params)
        try:
            raw = _open_aead(kek, secret, f"epro-study-key:{suite.value}".encode())
        except InvalidTag:
            raise WrongPassphraseError(
                "the passphrase of the study private key is not right; nothing was opened"
            ) from None
        x_key = x25519.X25519PrivateKey.from_private_bytes(raw[:32])
        return cls(suite, x_key, raw[32:] or None)


def generate_study_keypair(suite: Suite = Suite.X25519) -> StudyPrivateKey:
    seed = os.urandom(64) if suite is Suite.MLKEM768_X25519 else None
    return StudyPrivateKey(suite, x25519.X25519PrivateKey.generate(), seed)


def seal(plaintext: bytes, public_key: StudyPublicKey, *, info: bytes) -> bytes:
    """HPKE base mode single-shot encryption (encapsulated key || ciphertext)."""
    return _hpke_suite(public_key.suite).encrypt(plaintext, public_key._hpke_key(), info=info)


def open_sealed(sealed: bytes, private_key: StudyPrivateKey, *, info: bytes) -> bytes:
    try:
        return _hpke_suite(private_key.suite).decrypt(sealed, private_key._hpke_key(), info=info)
    except (InvalidTag, ValueError):
        raise CryptoError(
            "a sealed response does not open with this study key (wrong key, or altered data)"
        ) from None


# --- Ed25519 device signatures ------------------------------------------------------------------


class DeviceKey:
    """The kiosk's Ed25519 signing key; the public half is registered with the study server."""

    def __init__(self, key: ed25519.Ed25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> DeviceKey:
        try:
            return cls(ed25519.Ed25519PrivateKey.from_private_bytes(raw))
        except ValueError:
            raise CryptoError("the stored device key is not a valid Ed25519 key") from None

    def private_bytes(self) -> bytes:
        return self._key.private_bytes_raw()

    def public_bytes(self) -> bytes:
        return self._key.public_key().public_bytes_raw()

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


def verify_signature(public_key: bytes, signature: bytes, data: bytes) -> bool:
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


# --- staff PINs ------------------------------------------------------------------------------


def hash_pin(pin: str, params: KdfParams = KdfParams()) -> str:
    """Argon2id hash of a PIN as a self-describing string: ``argon2id$m$t$p$salt$hash``."""
    salt = new_salt()
    digest = derive_kek(pin, salt, params)
    return "$".join(
        [
            "argon2id",
            str(params.memory_cost_kib),
            str(params.iterations),
            str(params.lanes),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        ]
    )


def check_pin(pin: str, stored: str) -> bool:
    try:
        scheme, memory, iterations, lanes, salt, digest = stored.split("$")
        params = KdfParams(int(memory), int(iterations), int(lanes))
        expected = base64.b64decode(digest)
        salt_bytes = base64.b64decode(salt)
    except ValueError:
        raise CryptoError(
            "a stored PIN hash is damaged; ask a colleague to reset the PIN"
        ) from None
    if scheme != "argon2id":
        raise CryptoError(f"unknown PIN hash scheme {scheme!r}")
    return hmac.compare_digest(derive_kek(pin, salt_bytes, params), expected)
