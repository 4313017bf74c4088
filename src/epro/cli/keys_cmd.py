"""`epro keys study-keypair DIR`: the data manager's study key pair."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from epro.cli.prompts import secret
from epro.crypto import KdfParams, Suite, generate_study_keypair
from epro.errors import EproError

PUBLIC_NAME = "study-public-key.json"
PRIVATE_NAME = "study-private-key.json"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    keys = subparsers.add_parser("keys", help="study key management")
    sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    pair = sub.add_parser(
        "study-keypair",
        help="create the study key pair (private key protected by a passphrase)",
        description=(
            f"Writes DIR/{PUBLIC_NAME} (give it to the study server and kiosks) and "
            f"DIR/{PRIVATE_NAME} (keep it offline; it opens every response). The passphrase "
            "comes from EPRO_STUDY_KEY_PASSPHRASE or is asked twice."
        ),
    )
    pair.add_argument("dir", type=Path, metavar="DIR")
    pair.add_argument(
        "--suite",
        choices=[s.value for s in Suite],
        default=Suite.X25519.value,
        help="HPKE suite (default x25519; mlkem768-x25519 is the hybrid post-quantum one)",
    )
    pair.set_defaults(func=_study_keypair)


def _study_keypair(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    public_path, private_path = directory / PUBLIC_NAME, directory / PRIVATE_NAME
    for path in (public_path, private_path):
        if path.exists():
            raise EproError(f"{path} exists already; choose an empty directory (nothing written)")
    passphrase = secret(
        "EPRO_STUDY_KEY_PASSPHRASE", "Study key passphrase", confirm=True, min_length=12
    )
    private = generate_study_keypair(Suite(args.suite))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(private.to_encrypted_json(passphrase, KdfParams()))
        public_path.write_text(private.public_key().to_json() + "\n", encoding="utf-8")
    except OSError as error:
        raise EproError(f"cannot write the key files in {directory}: {error.strerror}") from None
    public = private.public_key()
    print(f"wrote {public_path} (fingerprint {public.fingerprint()})")
    print(
        "for forms/study.toml, [study] section (kiosks then enrol only with this key):\n"
        f'study_key_fingerprint = "{public.full_fingerprint()}"'
    )
    print(
        f"wrote {private_path} — keep it offline; without it and its passphrase no response opens"
    )
    return 0
