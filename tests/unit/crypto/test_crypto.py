"""epro.crypto: key hierarchy, AEAD records, HPKE sealing, device signatures, PIN hashes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from epro.cli import main
from epro.crypto import (
    FAST_KDF,
    DeviceKey,
    RecordCipher,
    StudyPrivateKey,
    StudyPublicKey,
    Suite,
    check_pin,
    derive_kek,
    generate_study_keypair,
    hash_pin,
    new_data_key,
    new_salt,
    open_sealed,
    record_aad,
    seal,
    unwrap_key,
    verify_signature,
    wrap_key,
)
from epro.errors import CryptoError, WrongPassphraseError


def test_data_key_unwraps_with_the_right_passphrase_only() -> None:
    salt, data_key = new_salt(), new_data_key()
    wrapped = wrap_key(derive_kek("correct horse", salt, FAST_KDF), data_key, context=b"dev-1")
    assert unwrap_key(derive_kek("correct horse", salt, FAST_KDF), wrapped, context=b"dev-1") == (
        data_key
    )
    with pytest.raises(WrongPassphraseError, match="passphrase is not right"):
        unwrap_key(derive_kek("wrong horse", salt, FAST_KDF), wrapped, context=b"dev-1")


def test_wrapped_key_is_bound_to_its_context() -> None:
    salt, data_key = new_salt(), new_data_key()
    kek = derive_kek("pass phrase", salt, FAST_KDF)
    wrapped = wrap_key(kek, data_key, context=b"dev-1")
    with pytest.raises(WrongPassphraseError):
        unwrap_key(kek, wrapped, context=b"dev-2")


def test_record_uses_a_fresh_nonce_each_time() -> None:
    cipher = RecordCipher(new_data_key(), key_version=1)
    aad = record_aad("resp-1", "DEMO-001", "chaq", "1.0.0", 1, "chaq_dress_a")
    first, second = cipher.encrypt(b"1", aad), cipher.encrypt(b"1", aad)
    assert first[:12] != second[:12]
    assert cipher.decrypt(first, aad) == cipher.decrypt(second, aad) == b"1"


@pytest.mark.parametrize("position", [0, 5, 11, 12, 20, -1])
def test_flipping_any_byte_of_a_record_fails_authentication(position: int) -> None:
    cipher = RecordCipher(new_data_key(), key_version=1)
    aad = record_aad("resp-1", "chaq_dress_a")
    blob = bytearray(cipher.encrypt(b'"answer"', aad))
    blob[position] ^= 0x01
    with pytest.raises(CryptoError, match="does not authenticate"):
        cipher.decrypt(bytes(blob), aad)


def test_record_moved_to_another_row_fails_authentication() -> None:
    cipher = RecordCipher(new_data_key(), key_version=1)
    blob = cipher.encrypt(b"2", record_aad("resp-1", "chaq_dress_a"))
    with pytest.raises(CryptoError):
        cipher.decrypt(blob, record_aad("resp-1", "chaq_dress_b"))


def test_associated_data_parts_cannot_be_shifted() -> None:
    assert record_aad("ab", "c") != record_aad("a", "bc")


@pytest.mark.parametrize("suite", list(Suite))
def test_sealed_response_opens_with_the_study_private_key_only(suite: Suite) -> None:
    private = generate_study_keypair(suite)
    public = StudyPublicKey.from_json(private.public_key().to_json())
    sealed = seal(b'{"chaq_dress_a": 1}', public, info=b"resp-1")
    assert open_sealed(sealed, private, info=b"resp-1") == b'{"chaq_dress_a": 1}'
    with pytest.raises(CryptoError):
        open_sealed(sealed, generate_study_keypair(suite), info=b"resp-1")
    with pytest.raises(CryptoError):
        open_sealed(sealed, private, info=b"resp-2")


@pytest.mark.parametrize("suite", list(Suite))
def test_study_private_key_round_trips_under_its_passphrase(suite: Suite) -> None:
    private = generate_study_keypair(suite)
    text = private.to_encrypted_json("a long study passphrase", FAST_KDF)
    assert "a long study passphrase" not in text
    again = StudyPrivateKey.from_encrypted_json(text, "a long study passphrase")
    assert again.public_key() == private.public_key()
    with pytest.raises(WrongPassphraseError):
        StudyPrivateKey.from_encrypted_json(text, "not the passphrase")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"suite": "x25519"}', "must hold"),
        ('{"suite": "rsa", "public_key": "AAAA"}', "unknown HPKE suite"),
        ('{"suite": "x25519", "public_key": "%%%"}', "not valid base64"),
        ('{"suite": "x25519", "public_key": "AAAA"}', "not a valid x25519 key"),
    ],
)
def test_bad_study_public_key_gives_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(CryptoError, match=message):
        StudyPublicKey.from_json(text)


def test_device_signature_verifies_and_detects_changes() -> None:
    key = DeviceKey.from_private_bytes(DeviceKey.generate().private_bytes())
    signature = key.sign(b"envelope")
    assert verify_signature(key.public_bytes(), signature, b"envelope")
    assert not verify_signature(key.public_bytes(), signature, b"envelopf")
    assert not verify_signature(DeviceKey.generate().public_bytes(), signature, b"envelope")


def test_pin_hash_checks_the_pin_and_never_holds_it() -> None:
    stored = hash_pin("4821", FAST_KDF)
    assert "4821" not in stored
    assert check_pin("4821", stored)
    assert not check_pin("4822", stored)


def test_study_keypair_command_writes_a_protected_private_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EPRO_STUDY_KEY_PASSPHRASE", "study passphrase 2026")
    assert main(["keys", "study-keypair", str(tmp_path / "keys")]) == 0
    public = StudyPublicKey.from_json((tmp_path / "keys" / "study-public-key.json").read_text())
    private_path = tmp_path / "keys" / "study-private-key.json"
    assert private_path.stat().st_mode & 0o077 == 0
    private = StudyPrivateKey.from_encrypted_json(private_path.read_text(), "study passphrase 2026")
    assert private.public_key() == public
    assert json.loads(private_path.read_text())["format"] == "epro-study-private-key/1"


def test_study_keypair_command_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "study-public-key.json").write_text("{}")
    env = {**os.environ, "EPRO_STUDY_KEY_PASSPHRASE": "study passphrase 2026"}
    done = subprocess.run(
        [sys.executable, "-m", "epro.cli", "keys", "study-keypair", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "exists already" in done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "study-public-key.json").read_text() == "{}"
