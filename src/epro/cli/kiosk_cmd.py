"""``epro kiosk``: run the Textual kiosk on a local store (Textual is imported only here, late)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from epro.config import EproSettings, load_settings
from epro.errors import EproError, StoreError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``kiosk`` to ``epro``."""
    parser = subparsers.add_parser(
        "kiosk",
        help="run the patient kiosk and nurse station on a local store",
        description=(
            "Run the kiosk on the store DB. It starts locked; a nurse unlocks it with the site "
            "passphrase and then a personal PIN. Needs a terminal of at least 80×24."
        ),
    )
    parser.add_argument(
        "--db", type=Path, help="the kiosk database (default: EPRO_DB or epro's data folder)"
    )
    parser.add_argument(
        "--language", choices=("en", "nl"), default="en", help="language of the locked screen"
    )
    parser.add_argument(
        "--high-contrast", action="store_true", help="white and yellow on black, for low vision"
    )
    parser.add_argument(
        "--sync-interval",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="seconds between background syncs when enrolled with a study server "
        "(default: EPRO_SYNC_INTERVAL_S, or 300)",
    )
    parser.set_defaults(func=run_kiosk)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 10 <= value <= 86_400:
        raise argparse.ArgumentTypeError("give between 10 and 86400 seconds, e.g. 300")
    return value


def kiosk_options(args: argparse.Namespace, settings: EproSettings) -> dict[str, Any]:
    """What the kiosk is started with: the command line over the ``EPRO_*`` settings."""
    return {
        "language": args.language,
        "high_contrast": args.high_contrast,
        **settings.idle_times(),
        "sync_interval_s": (
            settings.sync_interval_s if args.sync_interval is None else args.sync_interval
        ),
    }


def run_kiosk(args: argparse.Namespace) -> int:
    settings = load_settings()  # EPRO_DB, EPRO_INACTIVITY_*_S, EPRO_SYNC_INTERVAL_S
    db: Path = args.db if args.db is not None else settings.db
    if not db.is_file():
        raise StoreError(
            f"no kiosk database at {db}; create one with 'epro init' (or try 'epro demo'), "
            "or point to it with --db PATH"
        )
    try:
        from epro.kiosk.app import make_kiosk
    except ModuleNotFoundError as missing:
        raise EproError(
            f"the kiosk needs its terminal UI ({missing.name} is not installed); "
            "install it with: pip install 'epro[kiosk]'"
        ) from None

    app = make_kiosk(db, **kiosk_options(args, settings))
    app.run()
    return 0
