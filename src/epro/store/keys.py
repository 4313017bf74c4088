"""The device key, the study public key and small settings (secrets encrypted).

The device's Ed25519 private key and secret settings (the device token) are AES-GCM records
under the data key, bound to their name; the study public key and plain settings are public.
The security settings (study key, server URL and key, device id, token, site) are also
authenticated: reading one checks its MAC and writing one renews it (``epro.store.trust``).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from epro.crypto import DeviceKey, RecordCipher, StudyPublicKey, record_aad
from epro.errors import CryptoError, StoreError
from epro.store import trust
from epro.store.tables import DeviceRow, SettingRow


def device_key_aad(device_id: str, key_version: int) -> bytes:
    return record_aad("epro-device-key", device_id, key_version)


def setting_aad(name: str, key_version: int) -> bytes:
    return record_aad("epro-setting", name, key_version)


class KeyRepository:
    def __init__(self, session: Session, cipher: RecordCipher, settings_key: bytes) -> None:
        self._session = session
        self._cipher = cipher
        self._settings_key = settings_key

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
        """The key answers are sealed to; TrustError when it does not authenticate."""
        self._session.flush()
        text = self.check_trusted("study_public_key")["study_public_key"]
        return None if text is None else StudyPublicKey.from_json(text)

    def set_study_public_key(self, key: StudyPublicKey) -> None:
        row = self._device()
        row.study_public_key = key.to_json()
        self._session.add(row)
        self._session.flush()
        trust.reseal(self._execute, self._settings_key, "study_public_key", row.study_public_key)

    def check_trusted(self, *names: str) -> dict[str, str | None]:
        """The protected settings ``names`` (all when none is named) once each authenticates;
        :class:`epro.store.trust.TrustError` naming the first that does not."""
        self._session.flush()
        return trust.check(
            self._execute, self._cipher, self._settings_key, names or trust.PROTECTED
        )

    def has_setting(self, name: str) -> bool:
        """Whether ``name`` is set, without reading or checking it (for status displays)."""
        return self._session.get(SettingRow, name) is not None

    def get_setting(self, name: str) -> str | None:
        if name in trust.SETTING_ROWS:
            return self.check_trusted(name)[name]
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
        if name in trust.SETTING_ROWS:
            trust.reseal(self._execute, self._settings_key, name, value)

    def _execute(self, sql: str, params: tuple[object, ...]) -> Any:
        return self._session.connection().exec_driver_sql(sql, params)

    def _device(self) -> DeviceRow:
        row = self._session.exec(select(DeviceRow)).first()
        if row is None:
            raise StoreError("the database has no device record; it was not made by `epro init`")
        return row
