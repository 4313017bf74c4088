"""Security settings authenticated under a key only an unlocked kiosk has.

What the kiosk seals to (the study public key), where it sends (the server URL), who it is
(device id, site, the server's device id and token) and whose receipts it believes (the
server's signing key) decide where answers go. Each sits in a plain row of the kiosk file,
so anyone who can write the file could change it; each therefore carries an HMAC-SHA256
under the **settings key**, derived from the data key that only the site passphrase unwraps
(``epro.crypto.derive_subkey``). Without the passphrase nobody can make a valid MAC.

The MACs live together in one settings row, ``security_macs``: a JSON object naming every
protected setting, each with the MAC of its value *or of its absence* — so deleting a row is
found as surely as editing it, and removing an entry from the object is found too. A setting
whose MAC fails is never used: reading it raises :class:`TrustError`, naming the setting and
what to do (restore the file from a backup, or set the kiosk up again and re-enrol it), and
``epro verify`` lists every one.

Works on any ``execute(sql, params)`` that returns a DB-API cursor: the ORM session's
connection, the hot path's ``sqlite3`` connection and ``verify`` all use it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from epro.crypto import RecordCipher, mac, mac_matches, record_aad
from epro.errors import CryptoError, StoreError

#: The settings row holding the MACs (plain JSON: MACs are not secret).
MACS_SETTING = "security_macs"
#: Purpose of the settings key derived from the data key.
SETTINGS_KEY_PURPOSE = b"epro settings mac"

#: Protected names that are columns of the device row.
DEVICE_FIELDS = ("device_id", "site", "study_public_key")
#: Protected names that are rows of the settings table (names as ``sync_client.status`` has
#: them; the token row is secret, its MAC is of the decrypted token).
SETTING_ROWS = ("server_url", "server_device_id", "device_token", "server_public_key")
PROTECTED = DEVICE_FIELDS + SETTING_ROWS

#: How the nurse or data manager would call each, for messages.
DESCRIPTIONS = {
    "device_id": "device id",
    "site": "site",
    "study_public_key": "study public key (what answers are sealed to)",
    "server_url": "study server address",
    "server_device_id": "device id at the study server",
    "device_token": "device token",
    "server_public_key": "study server's signing key (what receipts are checked with)",
}

Execute = Callable[[str, tuple[Any, ...]], Any]


class TrustError(StoreError):
    """A protected setting does not authenticate: it was changed outside epro."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"the kiosk's {DESCRIPTIONS[name]} does not authenticate: it was changed outside "
            "epro, so this kiosk will not use it (nothing was sent or sealed). Restore the "
            "kiosk file from a backup, or set the kiosk up again and re-enrol it with a new "
            "code; `epro verify` lists every problem"
        )
        self.name = name


def setting_mac(key: bytes, name: str, value: str | None) -> str:
    """The MAC of one protected setting: its name, whether it is set, and its value."""
    return mac(key, _mac_input(name, value))


def current_values(execute: Execute, cipher: RecordCipher) -> dict[str, str | None]:
    """Every protected setting's value as stored now (None: not set).

    A secret row that does not decrypt reads as its ciphertext's hex: its MAC then fails, and
    the caller reports the setting rather than a decryption error.
    """
    values: dict[str, str | None] = dict.fromkeys(PROTECTED)
    device = execute("SELECT id, site, study_public_key FROM device", ()).fetchall()
    if len(device) == 1:
        values["device_id"], values["site"], values["study_public_key"] = device[0]
    marks = ", ".join("?" * len(SETTING_ROWS))
    rows = execute(
        f"SELECT name, value, ciphertext, secret FROM settings WHERE name IN ({marks})",
        SETTING_ROWS,
    ).fetchall()
    from epro.store.keys import setting_aad  # keys imports this module

    for name, value, ciphertext, secret in rows:
        if not secret:
            values[name] = value
            continue
        try:
            values[name] = cipher.decrypt(
                ciphertext or b"", setting_aad(name, cipher.key_version)
            ).decode()
        except (CryptoError, UnicodeDecodeError):
            values[name] = "undecryptable:" + bytes(ciphertext or b"").hex()
    return values


def stored_macs(execute: Execute) -> dict[str, str]:
    """The MAC record as stored (empty when missing or unreadable: every check then fails)."""
    row = execute("SELECT value FROM settings WHERE name = ?", (MACS_SETTING,)).fetchone()
    if row is None or row[0] is None:
        return {}
    try:
        data = json.loads(row[0])
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


def failing(
    execute: Execute, cipher: RecordCipher, key: bytes, names: Iterable[str] = PROTECTED
) -> list[str]:
    """The protected settings among ``names`` whose MAC does not match, in order."""
    values = current_values(execute, cipher)
    macs = stored_macs(execute)
    bad = []
    for name in names:
        expected = macs.get(name)
        if expected is None or not mac_matches(
            key, _mac_input(name, values[name]), expected.lower()
        ):
            bad.append(name)
    return bad


def check(
    execute: Execute, cipher: RecordCipher, key: bytes, names: Iterable[str] = PROTECTED
) -> dict[str, str | None]:
    """The values of ``names`` once each authenticates; :class:`TrustError` on the first
    that does not."""
    names = tuple(names)
    bad = failing(execute, cipher, key, names)
    if bad:
        raise TrustError(bad[0])
    values = current_values(execute, cipher)
    return {name: values[name] for name in names}


def seal_all(execute: Execute, cipher: RecordCipher, key: bytes) -> None:
    """(Re)write the MAC of every protected setting from what is stored now.

    Used when a kiosk file is created and, once, when a file made before settings were
    authenticated is first unlocked (see ``epro.store.store.open_store``).
    """
    values = current_values(execute, cipher)
    _write(execute, {name: setting_mac(key, name, values[name]) for name in PROTECTED})


def reseal(execute: Execute, key: bytes, name: str, value: str | None) -> None:
    """Record the MAC of ``name``'s new value (the caller has just written it)."""
    if name not in PROTECTED:
        raise ValueError(f"{name} is not a protected setting")
    macs = stored_macs(execute)
    macs[name] = setting_mac(key, name, value)
    _write(execute, macs)


def _mac_input(name: str, value: str | None) -> bytes:
    present = 0 if value is None else 1
    return record_aad("epro setting mac v1", name, present, value or "")


def _write(execute: Execute, macs: dict[str, str]) -> None:
    execute(
        "INSERT INTO settings (name, value, ciphertext, secret) VALUES (?, ?, NULL, 0) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value, ciphertext = NULL, secret = 0",
        (MACS_SETTING, json.dumps(macs, sort_keys=True)),
    )
