"""The device key, the study public key and small settings (secrets encrypted).

The device's Ed25519 private key and secret settings (the device token) are AES-GCM records
under the data key, bound to their name; the study public key and plain settings are public.
"""

from __future__ import annotations

from sqlmodel import Session, select

from epro.crypto import DeviceKey, RecordCipher, StudyPublicKey, record_aad
from epro.errors import CryptoError, StoreError
from epro.store.tables import DeviceRow, SettingRow


def device_key_aad(device_id: str, key_version: int) -> bytes:
    return record_aad("epro-device-key", device_id, key_version)


def setting_aad(name: str, key_version: int) -> bytes:
    return record_aad("epro-setting", name, key_version)


class KeyRepository:
    def __init__(self, session: Session, cipher: RecordCipher) -> None:
        self._session = session
        self._cipher = cipher

    def device_key(self) -> DeviceKey:
        """The kiosk's signing key (the only key material that leaves the store, for signing)."""
        row = self._device()
        try:
            raw = self._cipher.decrypt(
                row.private_key_enc, device_key_aad(row.id, self._cipher.key_version)
            )
        except CryptoError:
            raise StoreError(
                "the device key does not authenticate (the database was altered); "
                "run `epro verify` and report it"
            ) from None
        return DeviceKey.from_private_bytes(raw)

    def study_public_key(self) -> StudyPublicKey | None:
        text = self._device().study_public_key
        return None if text is None else StudyPublicKey.from_json(text)

    def set_study_public_key(self, key: StudyPublicKey) -> None:
        row = self._device()
        row.study_public_key = key.to_json()
        self._session.add(row)
        self._session.flush()

    def get_setting(self, name: str) -> str | None:
        row = self._session.get(SettingRow, name)
        if row is None:
            return None
        if not row.secret:
            return row.value
        assert row.ciphertext is not None  # a secret row always has ciphertext
        try:
            return self._cipher.decrypt(
                row.ciphertext, setting_aad(name, self._cipher.key_version)
            ).decode()
        except CryptoError:
            raise StoreError(
                f"the stored setting {name} does not authenticate; set it again "
                "(e.g. re-enrol the kiosk) and run `epro verify`"
            ) from None

    def set_setting(self, name: str, value: str, *, secret: bool = False) -> None:
        if secret:
            ciphertext = self._cipher.encrypt(
                value.encode(), setting_aad(name, self._cipher.key_version)
            )
            row = SettingRow(name=name, value=None, ciphertext=ciphertext, secret=True)
        else:
            row = SettingRow(name=name, value=value, ciphertext=None, secret=False)
        self._session.merge(row)
        self._session.flush()

    def _device(self) -> DeviceRow:
        row = self._session.exec(select(DeviceRow)).first()
        if row is None:
            raise StoreError("the database has no device record; it was not made by `epro init`")
        return row
