"""`epro sync`: upload the outbox now, with a progress bar, and say plainly what happened.

Exit codes: 0 everything acknowledged; 1 the server could not be reached or failed (the
responses stay queued, run it again later); 3 some responses need staff review (conflict or
rejected); 4 this kiosk has been revoked by the data manager.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from epro.cli.progress import ProgressBar
from epro.cli.prompts import secret

EXIT_FAILED = 1
EXIT_REVIEW = 3
EXIT_REVOKED = 4


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add `epro sync` to `epro`."""
    parser = subparsers.add_parser(
        "sync",
        help="send queued responses to the study server now",
        description="Upload every queued response to the study server, pull the site roster "
        "and completion, and report. The passphrase comes from EPRO_PASSPHRASE or a prompt.",
    )
    parser.add_argument("--db", type=Path, default=None, help="the kiosk database file")
    parser.add_argument(
        "--attempts", type=int, default=4, help="tries with backoff before giving up (default 4)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_sync)


def _db_path(args: argparse.Namespace) -> Path:
    if args.db is not None:
        return Path(args.db)
    from epro.config import load_settings

    return load_settings().db


def run_sync(args: argparse.Namespace) -> int:
    from epro.errors import EproError
    from epro.store import open_store
    from epro.sync_client import SyncClient

    if args.attempts < 1:
        raise EproError("--attempts must be at least 1")
    path = _db_path(args)
    if not path.exists():
        raise EproError(f"no kiosk database at {path}: give the right file with --db PATH")
    passphrase = secret("EPRO_PASSPHRASE", "Site passphrase")
    store = open_store(path, passphrase=passphrase)
    try:
        bar = ProgressBar(sys.stderr, enabled=not args.quiet and sys.stderr.isatty())
        report = SyncClient(store).sync_until_empty(max_attempts=args.attempts, progress=bar)
        bar.close()
    finally:
        store.close()
    print(
        f"sync: {report.acknowledged} acknowledged ({report.duplicates} already on the server), "
        f"{report.remaining} still queued"
        + (f", {report.held} stored on the server but kept here" if report.held else "")
    )
    if report.skew_flagged and report.skew_seconds is not None:
        print(
            f"epro: warning: this kiosk's clock is {abs(report.skew_seconds):.0f} s "
            f"{'behind' if report.skew_seconds > 0 else 'ahead of'} the server; "
            "set the clock right",
            file=sys.stderr,
        )
    if report.flagged:
        print(
            f"epro: {len(report.flagged)} response(s) need review ({report.conflicts} conflict, "
            f"{report.rejected} rejected); they are kept on this kiosk and not sent again. "
            "Tell the data manager the response ids: " + ", ".join(report.flagged[:5]),
            file=sys.stderr,
        )
    if report.error is not None:
        print(f"epro: {report.error}", file=sys.stderr)
        if report.error.revoked:
            return EXIT_REVOKED
        return EXIT_FAILED
    return EXIT_REVIEW if report.flagged else 0
