"""`epro init` and `epro verify`: create the kiosk's encrypted database, and check it.

Secrets are asked for with getpass in a terminal; unattended runs read ``EPRO_PASSPHRASE`` and
``EPRO_NURSE_PIN``. ``EPRO_KDF=fast`` selects a cheap Argon2id cost for tests and demos only.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import Any

from epro.cli.prompts import secret
from epro.crypto import FAST_KDF, KdfParams, StudyPublicKey
from epro.errors import CryptoError, EproError, StoreError
from epro.store import Store, check_new_passphrase, init_store, open_store
from epro.store.staff import check_new_pin


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add `init` and `verify` to `epro`."""
    init = subparsers.add_parser(
        "init",
        help="create the kiosk's encrypted database",
        description="Create a new encrypted kiosk database (never over an existing file). "
        "Asks for the site passphrase twice and the first nurse's PIN; unattended, set "
        "EPRO_PASSPHRASE and EPRO_NURSE_PIN. EPRO_KDF=fast is for tests and demos only.",
    )
    init.add_argument("--db", type=Path, required=True, help="the database file to create")
    init.add_argument("--site", required=True, help="the site code, e.g. DEMO")
    init.add_argument("--nurse", default="nurse", help="name of the first nurse (default: nurse)")
    init.add_argument(
        "--study-key", type=Path, metavar="FILE", help="the study public key (JSON) to seal to"
    )
    init.add_argument("--server", metavar="URL", help="enrol with this study server (needs --code)")
    init.add_argument(
        "--code", metavar="CODE", help="one-time enrolment code from `epro-sync enrol-code`"
    )
    init.add_argument(
        "--label", default=None, help="a name for this kiosk on the server (default: host name)"
    )
    init.set_defaults(func=run_init)

    verify = subparsers.add_parser(
        "verify",
        help="check the database: integrity, every ciphertext, the audit chain",
        description="Check SQLite integrity, that every encrypted record authenticates and "
        "that the audit chain is whole. The passphrase comes from EPRO_PASSPHRASE or a prompt.",
    )
    verify.add_argument("--db", type=Path, required=True, help="the database file to check")
    verify.set_defaults(func=run_verify)


def run_init(args: argparse.Namespace) -> int:
    if (args.server is None) != (args.code is None):
        raise EproError("--server and --code go together: give both to enrol, or neither")
    if args.server is not None and args.study_key is not None:
        raise EproError(
            "give --study-key or --server, not both: the server hands out the study key"
        )
    if args.server is not None:
        from epro.sync_client.pinning import check_server_url

        check_server_url(args.server)  # before anything is created
    study_key = _read_study_key(args.study_key) if args.study_key else None
    passphrase = secret("EPRO_PASSPHRASE", "Site passphrase", confirm=True)
    check_new_passphrase(passphrase)
    pin = secret("EPRO_NURSE_PIN", f"PIN for {args.nurse}", confirm=True)
    check_new_pin(pin)
    store = init_store(
        args.db,
        passphrase=passphrase,
        site=args.site,
        nurse_name=args.nurse,
        nurse_pin=pin,
        kdf=_kdf(),
        study_public_key=study_key,
    )
    if args.server is not None:
        _enrol_or_discard(store, args)
    store.close()
    print(f"created {args.db}: site {store.site}, device {store.device_id}, nurse {args.nurse}")
    if study_key is not None:
        print(f"study key fingerprint: {study_key.fingerprint()}")
    print("Keep the site passphrase safe: without it nobody can read this database.")
    return 0


def _enrol_or_discard(store: Store, args: argparse.Namespace) -> None:
    """Enrol the new kiosk; if that fails, remove the empty new database so init can be rerun."""
    from epro.sync_client import enrol_kiosk

    try:
        enrolment = enrol_kiosk(
            store,
            server_url=args.server,
            code=args.code,
            label=args.label or socket.gethostname(),
            study_key_fingerprint=_study_file_fingerprint(),
        )
    except EproError as error:
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
        raise EproError(
            f"{error}. The new database was removed (it held no answers); run epro init again"
        ) from None
    print(
        f"enrolled with {args.server}: device {enrolment.device_id}, site {enrolment.site}, "
        f"study key fingerprint {enrolment.study_key_fingerprint}"
    )


def _study_file_fingerprint() -> str | None:
    """The study key fingerprint the kiosk's own study file names (None: it names none)."""
    from epro.schedule import load_study

    return load_study().study_key_fingerprint or None


def run_verify(args: argparse.Namespace) -> int:
    passphrase = secret("EPRO_PASSPHRASE", "Site passphrase")
    store = open_store(args.db, passphrase=passphrase)
    try:
        report = store.verify()
    finally:
        store.close()
    if report.ok:
        print(report.summary())
        return 0
    print(
        f"epro: {args.db} failed verification ({len(report.problems)} problem(s)):", file=sys.stderr
    )
    for problem in report.problems:
        print(f"  {problem}", file=sys.stderr)
    return 1


def _kdf() -> KdfParams:
    choice = os.environ.get("EPRO_KDF", "normal")
    if choice == "fast":
        return FAST_KDF
    if choice == "normal":
        return KdfParams()
    raise EproError(f"EPRO_KDF={choice!r} is not known; use 'normal' (or 'fast' for demos only)")


def _read_study_key(path: Path) -> StudyPublicKey:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise StoreError(f"cannot read the study key {path} ({error.strerror})") from None
    except UnicodeDecodeError:
        raise StoreError(f"{path} is not a study public key (not text)") from None
    try:
        return StudyPublicKey.from_json(text)
    except CryptoError as error:
        raise CryptoError(f"{path}: {error}") from None
