"""Creating and opening the encrypted store; the passphrase → key hierarchy lives here.

site passphrase → Argon2id KEK → unwraps the data key → :class:`RecordCipher` for every record.
The wrapped data key, its salt and the Argon2id cost sit in the ``meta`` row; changing the
passphrase re-wraps the data key and touches nothing else.

The data key also gives the settings key that authenticates the security settings
(``epro.store.trust``). Files made before that were wrapped under :func:`data_key_context`;
files whose settings carry MACs are wrapped under :func:`sealed_key_context`. Unlocking an
older file seals its settings and re-wraps its key in one transaction, so afterwards nobody
without the passphrase can present the file as one whose settings need no MAC.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import unicodedata
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from epro.crypto import (
    DeviceKey,
    KdfParams,
    RecordCipher,
    StudyPublicKey,
    derive_kek,
    derive_subkey,
    new_data_key,
    new_salt,
    record_aad,
    unwrap_key,
    wrap_key,
)
from epro.errors import EproError, StoreError, WrongPassphraseError
from epro.store import migrations, trust
from epro.store._time import to_text, utc_now
from epro.store.audit_keying import audit_key, seal_keying
from epro.store.connection import APPLICATION_ID, Limits, make_engine, open_raw, translate
from epro.store.domain import AuditKind
from epro.store.hot import HotPath, Transaction
from epro.store.keys import device_key_aad
from epro.store.staff import check_new_pin
from epro.store.tables import DeviceRow, MetaRow
from epro.store.unit_of_work import StoreContext, UnitOfWork
from epro.store.verify import VerifyReport, verify_store

MIN_PASSPHRASE = 8
KEY_VERSION = 1
#: The real Argon2id cost; tests and demos pass ``FAST_KDF`` explicitly.
DEFAULT_KDF = KdfParams()


def check_new_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise StoreError(
            f"the site passphrase is too short: use at least {MIN_PASSPHRASE} characters "
            "(a few unrelated words are easy to remember and hard to guess)"
        )


def _kek(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    # NFC first: the same passphrase typed on another keyboard may arrive decomposed.
    return derive_kek(unicodedata.normalize("NFC", passphrase), salt, params)


def data_key_context(device_id: str, key_version: int) -> bytes:
    """How files made before the security settings were authenticated wrap their data key."""
    return record_aad("epro-data-key", device_id, key_version)


def sealed_key_context(device_id: str, key_version: int) -> bytes:
    """How a file whose security settings carry MACs wraps its data key (see the module)."""
    return record_aad("epro-data-key", device_id, key_version, "settings-sealed")


def settings_key(data_key: bytes) -> bytes:
    return derive_subkey(data_key, trust.SETTINGS_KEY_PURPOSE)


class Store:
    """An open, unlocked kiosk database. Close it (or use ``with``) when done."""

    def __init__(self, context: StoreContext, site: str, limits: Limits) -> None:
        self._context = context
        self._limits = limits
        self.path = context.path
        self.site = site
        self.device_id = context.device_id
        self._hot = HotPath(context, limits)
        self._closed = False

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def unit_of_work(self) -> UnitOfWork:
        self._require_open()
        return UnitOfWork(self._context)

    def transaction(self) -> Transaction:
        """A plain-SQL transaction for the hot path (start, answer, submit, acknowledge)."""
        self._require_open()
        return self._hot.transaction()

    def change_passphrase(self, old: str, new: str, kdf: KdfParams | None = None) -> None:
        """Re-wrap the data key under a new passphrase; no record is re-encrypted."""
        check_new_passphrase(new)
        with self.unit_of_work() as uow:
            session = uow._require_session()
            meta = _meta(session, self.path)
            context = sealed_key_context(self.device_id, meta.key_version)
            current = KdfParams.from_dict(json.loads(meta.kdf_params))
            data_key = unwrap_key(
                _kek(old, meta.kdf_salt, current), meta.wrapped_key, context=context
            )
            params = kdf or current
            salt = new_salt()
            meta.kdf_salt = salt
            meta.kdf_params = json.dumps(params.to_dict())
            meta.wrapped_key = wrap_key(_kek(new, salt, params), data_key, context=context)
            session.add(meta)
            session.flush()
            uow.audit.append(AuditKind.PASSPHRASE_CHANGED, "site")
            uow.commit()

    def verify(self) -> VerifyReport:
        """SQLite integrity, every ciphertext, and the audit chain (names the first break)."""
        self._require_open()
        return verify_store(self._context)

    def close(self) -> None:
        """Close every connection (the WAL is checkpointed into the file); safe to repeat."""
        self._closed = True
        self._hot.close()
        self._context.engine.dispose()

    def _require_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store {self.path} is closed; open it again to continue")

    def limit_pages_for_tests(self, max_page_count: int | None) -> None:
        """Test hook: cap the file size in pages (``PRAGMA max_page_count``) to fake a full disk."""
        self._limits.max_page_count = max_page_count
        self._hot.close()
        self._context.engine.dispose()  # new connections pick the limit up


def init_store(
    path: Path,
    *,
    passphrase: str,
    site: str,
    nurse_name: str,
    nurse_pin: str,
    kdf: KdfParams = DEFAULT_KDF,
    study_public_key: StudyPublicKey | None = None,
    clock: Callable[[], datetime] = utc_now,
    allow_weak_passphrase: bool = False,
) -> Store:
    """Create a new kiosk database at ``path`` (never over an existing file), all in one go.

    ``allow_weak_passphrase`` is for the demo database only, whose passphrase is printed anyway.
    """
    if not allow_weak_passphrase:
        check_new_passphrase(passphrase)
    check_new_pin(nurse_pin)
    if not site.strip():
        raise StoreError("the site is missing; give the site code, e.g. --site DEMO")
    if not nurse_name.strip():
        raise StoreError("the first nurse needs a name; give one with --nurse NAME")
    path = Path(path)
    if not path.parent.is_dir():
        raise StoreError(f"the folder {path.parent} does not exist; create it first")
    try:
        # Exclusive create (two inits never share a file), readable by this user only.
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        raise StoreError(
            f"{path} already exists; epro init never overwrites a database. "
            "Choose another path, or open the existing one"
        ) from None
    except OSError as error:
        raise StoreError(f"cannot create {path} ({error.strerror}); check the folder") from None
    limits = Limits()
    engine = make_engine(path, limits)
    device_id = str(uuid.uuid4())
    data_key = new_data_key()
    cipher = RecordCipher(data_key, KEY_VERSION)
    chain_key = audit_key(data_key, device_id)
    context = StoreContext(
        path, engine, cipher, device_id, clock, kdf, settings_key(data_key), chain_key
    )
    try:
        with UnitOfWork(context) as uow:
            session = uow._require_session()
            raw = _sqlite(session)
            raw.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            migrations.apply(raw, 0, migrations.CURRENT_VERSION)
            seal_keying(raw, chain_key)
            salt = new_salt()
            wrapped = wrap_key(
                _kek(passphrase, salt, kdf),
                data_key,
                context=sealed_key_context(device_id, KEY_VERSION),
            )
            now = to_text(clock())
            session.add(
                MetaRow(
                    id=1,
                    kdf_salt=salt,
                    kdf_params=json.dumps(kdf.to_dict()),
                    wrapped_key=wrapped,
                    key_version=KEY_VERSION,
                    created_at=now,
                )
            )
            device_key = DeviceKey.generate()
            session.add(
                DeviceRow(
                    id=device_id,
                    site=site,
                    public_key=device_key.public_bytes(),
                    private_key_enc=cipher.encrypt(
                        device_key.private_bytes(), device_key_aad(device_id, KEY_VERSION)
                    ),
                    study_public_key=None
                    if study_public_key is None
                    else study_public_key.to_json(),
                    created_at=now,
                )
            )
            session.flush()
            trust.seal_all(_execute(session), cipher, context.settings_key)
            uow.audit.append(AuditKind.STORE_INIT, nurse_name, detail=f"site {site}")
            uow.staff.add(nurse_name, nurse_pin)
            uow.commit()
    except BaseException:
        engine.dispose()
        _remove_database_files(path)
        raise
    return Store(context, site, limits)


def open_store(path: Path, *, passphrase: str, clock: Callable[[], datetime] = utc_now) -> Store:
    """Open and unlock a kiosk database; an older schema is upgraded in place after unlocking.

    A wrong passphrase raises WrongPassphraseError and changes nothing in the file.
    """
    path = Path(path)
    version = probe(path)
    limits = Limits()
    engine = make_engine(path, limits)
    try:
        with Session(engine) as session:
            meta = _meta(session, path)
            device = session.exec(select(DeviceRow)).first()
            if device is None:
                raise StoreError(f"{path} has no device record; it is incomplete or damaged")
            params = KdfParams.from_dict(json.loads(meta.kdf_params))
            kek = _kek(passphrase, meta.kdf_salt, params)
            sealed_context = sealed_key_context(device.id, meta.key_version)
            try:
                data_key = unwrap_key(kek, meta.wrapped_key, context=sealed_context)
                sealed = True
            except WrongPassphraseError:  # a file from before settings were authenticated?
                data_key = unwrap_key(
                    kek, meta.wrapped_key, context=data_key_context(device.id, meta.key_version)
                )
                sealed = False
            chain_key = audit_key(data_key, device.id)
            if version < migrations.CURRENT_VERSION:
                migrations.apply(_sqlite(session), version, migrations.CURRENT_VERSION)
                if version < 5:  # the keyed chain starts here: authenticate where
                    seal_keying(_sqlite(session), chain_key)
            site, device_id, key_version = device.site, device.id, meta.key_version
            cipher = RecordCipher(data_key, key_version)
            if not sealed:
                _seal_older_file(
                    session, meta, kek, data_key, cipher, sealed_context, clock, chain_key
                )
            session.commit()
    except BaseException:
        engine.dispose()
        raise
    context = StoreContext(
        path, engine, cipher, device_id, clock, params, settings_key(data_key), chain_key
    )
    return Store(context, site, limits)


def _seal_older_file(
    session: Session,
    meta: MetaRow,
    kek: bytes,
    data_key: bytes,
    cipher: RecordCipher,
    context: bytes,
    clock: Callable[[], datetime],
    chain_key: bytes,
) -> None:
    """First unlock of a file made before the security settings were authenticated: give
    every one its MAC as it stands now, and re-wrap the data key under the sealed context.

    Acceptable because the file was never safer than this: until now anyone who could write
    it could change these settings unnoticed, and this step makes that stop as soon as the
    site unlocks the upgraded kiosk (at once, in practice). What it blesses is written to the
    audit log (study key fingerprint, server address) and ``epro verify`` shows it, so a
    person can compare it with what the data manager handed out. The re-wrap means the file
    cannot afterwards be passed off as an older one without its MACs by anyone lacking the
    passphrase (only a copy kept from before the upgrade could be, which is a rollback).
    """
    execute = _execute(session)
    trust.seal_all(execute, cipher, settings_key(data_key))
    meta.wrapped_key = wrap_key(kek, data_key, context=context)
    session.add(meta)
    session.flush()
    values = trust.current_values(execute, cipher)
    study = values["study_public_key"]
    try:
        fingerprint = "none" if study is None else StudyPublicKey.from_json(study).fingerprint()
    except EproError:
        fingerprint = "unreadable"
    from epro.store.audit import AuditRepository

    AuditRepository(session, str(values["device_id"]), clock, chain_key).append(
        AuditKind.STORE_INIT,
        "system",
        detail=(
            f"security settings authenticated at upgrade: study key {fingerprint}, "
            f"server {values['server_url'] or 'none'}"
        ),
    )


def _execute(session: Session) -> trust.Execute:
    def execute(sql: str, params: tuple[object, ...]) -> object:
        return session.connection().exec_driver_sql(sql, params)

    return execute


def probe(path: Path) -> int:
    """Check that ``path`` is an epro database this program can read; its schema version.

    Uses a plain connection that sets nothing, so a foreign file is never modified.
    """
    if not path.exists():
        raise StoreError(
            f"there is no database at {path}; create one with `epro init --db {path} --site SITE`"
        )
    connection = open_raw(path)
    try:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as error:
        raise translate(error, path) from None
    finally:
        connection.close()
    if application_id != APPLICATION_ID or version < 1:
        raise StoreError(
            f"{path} is not an epro kiosk database; check the --db path "
            "(make a new one with `epro init`)"
        )
    if version > migrations.CURRENT_VERSION:
        raise StoreError(
            f"{path} was written by a newer epro (schema {version}; this program reads up to "
            f"{migrations.CURRENT_VERSION}); update epro on this kiosk, nothing was changed"
        )
    return int(version)


def _meta(session: Session, path: Path) -> MetaRow:
    meta = session.get(MetaRow, 1)
    if meta is None:
        raise StoreError(f"{path} has no key record; it is incomplete or damaged")
    return meta


def _sqlite(session: Session) -> sqlite3.Connection:
    raw = session.connection().connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


def _remove_database_files(path: Path) -> None:
    """Remove a database this process just created and could not finish."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()
