"""The ``epro-sync`` command (placeholder until the server is built)."""

from __future__ import annotations

import sys


def main() -> int:
    print("epro-sync: the study server is not built yet", file=sys.stderr)
    return 2
