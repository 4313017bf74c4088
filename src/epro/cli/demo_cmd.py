"""``epro demo``: a demonstration database with made-up patients (``--no-ui``), or the kiosk on it.

The passphrase comes from ``EPRO_PASSPHRASE`` (default ``demo``) and is printed, because the
demo is meant to be opened by anyone trying epro. Output names study codes only.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from epro.config import load_settings
from epro.errors import EproError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``demo`` to ``epro``."""
    parser = subparsers.add_parser(
        "demo",
        help="make a demonstration database (made-up patients) and open the kiosk on it",
        description=(
            "Make a demonstration kiosk database with made-up patients DEMO-001…, submitted "
            "responses, a draft and a demo study key, and open the kiosk on it, enrolled with "
            "a demo study server started beside it on a free port of 127.0.0.1 (it stops when "
            "the kiosk closes; its console accounts are on the lock screen). "
            "Passphrase: EPRO_PASSPHRASE (default "
            "'demo'); nurse 'nurse', PIN 1234. EPRO_KDF=fast makes the key derivation cheap "
            "(tests and demos only)."
        ),
    )
    parser.add_argument(
        "--no-ui", action="store_true", help="only make the database and say what is in it"
    )
    parser.add_argument("--db", type=Path, help="database file (default: epro's data folder)")
    parser.add_argument(
        "--totp",
        action="store_true",
        help="print the demo console's authenticator code of now, and nothing else",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="run the kiosk without the demo study server beside it (nothing syncs)",
    )
    parser.set_defaults(func=run_demo)


def default_demo_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("epro") / "demo.db"


def run_demo(args: argparse.Namespace) -> int:
    from epro.demo import DEMO_NURSE, DEMO_PASSPHRASE, DEMO_PIN, build_demo

    if args.totp:
        try:
            from epro_sync.demo import demo_totp_now
        except ImportError:
            raise EproError("the study server is not installed here, so no demo console") from None
        print(demo_totp_now())
        return 0
    passphrase = os.environ.get("EPRO_PASSPHRASE") or DEMO_PASSPHRASE
    db: Path = args.db if args.db is not None else default_demo_path()
    if args.no_ui or not db.exists():
        if not db.parent.is_dir():
            if args.db is not None:
                raise EproError(
                    f"folder {db.parent} does not exist; create it or choose another --db"
                )
            db.parent.mkdir(parents=True)
        summary = build_demo(db, passphrase)
        print(f"demo database: {summary.path}")
        print(f"study private key (demo only, same passphrase): {summary.study_key_path}")
        print(f"passphrase: {passphrase}   nurse: {DEMO_NURSE}   PIN: {DEMO_PIN}")
        for person in summary.patients:
            print(
                f"  {person.code}: {person.age_years} years, visit {person.open_visit} open today"
            )
        print(f"submitted responses: {summary.submitted}; drafts: {len(summary.drafts)}")
    if args.no_ui:
        return 0
    if args.offline:
        return _run_kiosk(db, None)
    with _demo_server(db, passphrase) as console:
        return _run_kiosk(db, console)


@contextmanager
def _demo_server(db: Path, passphrase: str) -> Iterator[str | None]:
    """The demo study server for the whole life of the kiosk, the kiosk enrolled with it;
    yields what the lock screen says about it (None: no server packages, an offline demo)."""
    try:
        from epro_sync.demo import DEMO_LABEL, demo_server
    except ImportError:
        print("the study server is not installed here: the demo kiosk runs offline")
        yield None
        return
    from epro.demo import DEMO_SITE, connect_demo_kiosk, study_key_path, study_public_key_json
    from epro.store import open_store

    with ExitStack() as running:
        with open_store(db, passphrase=passphrase) as store:
            server = running.enter_context(demo_server(db, study_public_key_json(store)))
            connect_demo_kiosk(
                store,
                server.url,
                lambda: server.enrol_code(DEMO_SITE),
                label=DEMO_LABEL,
                enrol_again=server.fresh,
            )
        print(f"demo study server: {server.url} (it stops when the kiosk closes)")
        print(server.terminal_text)
        print(f"server database: {server.files.database}")
        print("after the kiosk closes, the demo's sealed bundle and its export:")
        print(
            f"  EPRO_SYNC_DATABASE_URL={server.files.database_url} "
            "epro-sync bundle --out demo.bundle"
        )
        print(
            f"  EPRO_STUDY_KEY_PASSPHRASE={passphrase} epro export demo.bundle "
            f"--study-key {study_key_path(db)} --out demo-export/"
        )
        yield server.lock_screen_text


def _run_kiosk(db: Path, console: str | None) -> int:
    idle = load_settings().idle_times()  # EPRO_INACTIVITY_*_S, as for `epro kiosk`
    try:
        from epro.kiosk.app import run_demo_kiosk  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        raise EproError(
            "the kiosk is not available in this installation; use 'epro demo --no-ui'"
        ) from None
    code: int = run_demo_kiosk(db, demo_console=console, **idle)
    return code
