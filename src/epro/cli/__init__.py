"""The ``epro`` command: one subcommand module per concern, errors translated at this edge."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from epro import __version__
from epro.errors import EproError

#: Each module has ``register(subparsers)``; a subcommand sets ``func(args) -> int``.
COMMAND_MODULES = (
    "epro.cli.forms_cmd",
    "epro.cli.score_cmd",
    "epro.cli.schedule_cmd",
    "epro.cli.store_cmd",
    "epro.cli.keys_cmd",
    "epro.cli.demo_cmd",
    "epro.cli.kiosk_cmd",
    "epro.cli.sync_cmd",
    "epro.cli.export_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="epro",
        description="epro: patient-reported outcomes for paediatric rheumatology trials.",
    )
    parser.add_argument("--version", action="version", version=f"epro {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        code: int = args.func(args)
    except EproError as error:
        print(f"epro: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("epro: interrupted; nothing half-written was kept.", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
