"""`epro export BUNDLE --study-key FILE --out DIR`: the data manager's offline export.

Exit codes: 0 every response checked out and was exported; 1 the export was written but
``problems.csv`` lists responses or patients to look at; 2 the export was refused and nothing
was written (the folder is not empty, the bundle is damaged, the key or passphrase is wrong).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from epro.cli.progress import ProgressBar
from epro.cli.prompts import secret
from epro.errors import CryptoError, ExportError, FormError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add `epro export` to `epro`."""
    parser = subparsers.add_parser(
        "export",
        help="check, open, score and export a study bundle (offline, with the study key)",
        description=(
            "Checks every envelope of BUNDLE (made on the server with `epro-sync bundle`), "
            "opens it with the study private key, scores every patient and visit and writes "
            "the export into DIR, which must be new or empty. Responses that fail a check are "
            "listed in DIR/problems.csv and everything else is exported. The key's passphrase "
            "comes from EPRO_STUDY_KEY_PASSPHRASE or is asked."
        ),
    )
    parser.add_argument("bundle", type=Path, metavar="BUNDLE", help="the bundle file")
    parser.add_argument(
        "--study-key", required=True, type=Path, metavar="FILE", help="the study private key"
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="a new folder")
    parser.add_argument(
        "--deidentify",
        action="store_true",
        help="keyed pseudonyms for patient codes, dates shifted per patient, no free text",
    )
    parser.add_argument(
        "--max-shift-days",
        type=int,
        default=None,
        metavar="N",
        help="with --deidentify: dates move by at most N days either way (default 180)",
    )
    parser.add_argument(
        "--forms",
        type=Path,
        default=None,
        metavar="DIR",
        help="the forms folder (default: built in)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes that check envelopes (default: one per core; 0: none)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_export_command)


def run_export_command(args: argparse.Namespace) -> int:
    from epro.crypto import StudyPrivateKey
    from epro.export.catalogue import load_catalogue
    from epro.export.deidentify import DEFAULT_MAX_SHIFT_DAYS
    from epro.export.pipeline import ExportOptions, check_target, run_export

    if args.max_shift_days is not None and not args.deidentify:
        raise ExportError("--max-shift-days goes with --deidentify; nothing was written")
    shift = DEFAULT_MAX_SHIFT_DAYS if args.max_shift_days is None else args.max_shift_days
    if shift < 1:
        raise ExportError("--max-shift-days must be at least 1; nothing was written")
    if args.workers is not None and args.workers < 0:
        raise ExportError("--workers must be 0 or more; nothing was written")
    out: Path = args.out
    check_target(out)
    if not Path(args.bundle).is_file():
        raise ExportError(f"no bundle file at {args.bundle}; nothing was written")
    try:
        key_text = Path(args.study_key).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "it is not a text file"
        raise ExportError(f"cannot read the study key {args.study_key}: {reason}") from None
    try:
        catalogue = load_catalogue(args.forms)
    except FormError as error:
        raise ExportError(f"the forms cannot be used: {error}\nnothing was written") from None
    passphrase = secret("EPRO_STUDY_KEY_PASSPHRASE", "Study key passphrase")
    try:
        study_key = StudyPrivateKey.from_encrypted_json(key_text, passphrase)
    except CryptoError as error:
        raise ExportError(f"{error}; nothing was written") from None
    options = ExportOptions(deidentify=args.deidentify, max_shift_days=shift, workers=args.workers)
    bar = ProgressBar(sys.stderr, enabled=not args.quiet and sys.stderr.isatty(), label="checking")
    try:
        report = run_export(
            args.bundle, study_key, out, options=options, catalogue=catalogue, progress=bar
        )
    finally:
        bar.close()
    print(
        f"exported {report.exported} of {report.responses_in_bundle} responses "
        f"({report.patients} patients) to {out}"
        + (
            f"; {report.entered_in_error} marked entered in error (kept in long.csv, not scored)"
            if report.entered_in_error
            else ""
        )
    )
    if report.problems:
        print(
            f"epro: {report.problems} problem(s) to look at ({report.rejected} rejected, "
            f"{report.superseded} superseded, {report.conflicts} quarantined conflicts): "
            f"see {out / 'problems.csv'}",
            file=sys.stderr,
        )
    return report.exit_status
