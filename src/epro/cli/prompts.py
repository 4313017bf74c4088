"""Secrets at the CLI edge: from an environment variable, or asked twice without echo."""

from __future__ import annotations

import getpass
import os
import sys

from epro.errors import EproError


def secret(env: str, prompt: str, *, confirm: bool = False, min_length: int = 1) -> str:
    """Read a secret from ``env`` or, on a terminal, ask for it (twice when ``confirm``)."""
    value = os.environ.get(env)
    if value is None:
        if not sys.stdin.isatty():
            raise EproError(f"{prompt} is needed: set {env} or run this command in a terminal")
        value = getpass.getpass(f"{prompt}: ")
        if confirm and getpass.getpass(f"{prompt} again: ") != value:
            raise EproError(f"the two entries of the {prompt.lower()} differ; nothing was done")
    if len(value) < min_length:
        raise EproError(f"the {prompt.lower()} is too short: use at least {min_length} characters")
    return value
