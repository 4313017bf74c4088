"""One typed settings object for the kiosk side of epro (``EPRO_`` environment variables).

Nothing is read at import: call :func:`load_settings` (or build :class:`EproSettings` directly in
tests with explicit values).
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "epro"


def default_data_dir() -> Path:
    """Where the kiosk keeps its database when no ``--db`` is given (per user, per platform)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


class EproSettings(BaseSettings):
    """Settings of the kiosk and the ``epro`` command."""

    model_config = SettingsConfigDict(
        env_prefix="EPRO_", extra="ignore", use_attribute_docstrings=True
    )

    db: Path = Field(default_factory=lambda: default_data_dir() / "kiosk.db")
    """The kiosk's encrypted SQLite database."""

    passphrase: SecretStr | None = None
    """The site passphrase, for unattended commands; the kiosk itself always asks for it."""

    kdf: str = "normal"
    """Argon2id cost: ``normal``, or ``fast`` for tests and demos only (never a real study)."""

    inactivity_warning_s: float = 90.0
    """Seconds without a key press or click before the kiosk warns that it will lock."""

    inactivity_lock_s: float = 30.0
    """Seconds after the warning before the kiosk locks (the draft stays encrypted)."""

    sync_interval_s: float = 300.0
    """Seconds between background syncs (a sync also runs after each Submit)."""

    server_url: str | None = None
    """The study server, once the kiosk is enrolled (stored in the database after `epro init`)."""


def load_settings() -> EproSettings:
    return EproSettings()
