"""One typed settings object for the kiosk side of epro (``EPRO_`` environment variables).

Nothing is read at import: call :func:`load_settings` (or build :class:`EproSettings` directly in
tests with explicit values).
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from epro.errors import EproError

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

    inactivity_warning_s: float = Field(90.0, gt=0)
    """Seconds without a key press or click before the kiosk warns that it will lock."""

    inactivity_lock_s: float = Field(30.0, gt=0)
    """Seconds after the warning before the kiosk locks (the draft stays encrypted)."""

    sync_interval_s: float = Field(300.0, ge=10, le=86_400)
    """Seconds between background syncs (a sync also runs after each Submit); 10 to 86400.
    ``epro kiosk --sync-interval`` overrides it."""

    def idle_times(self) -> dict[str, float]:
        """The kiosk's ``idle_warning_s`` and ``idle_lock_s``: the lock setting counts from the
        warning, the kiosk counts both from the last key press or click."""
        warning = self.inactivity_warning_s
        return {"idle_warning_s": warning, "idle_lock_s": warning + self.inactivity_lock_s}

    server_url: str | None = None
    """The study server, once the kiosk is enrolled (stored in the database after `epro init`)."""


def load_settings() -> EproSettings:
    """The settings from the environment; a value that does not fit is an :class:`EproError`
    naming the variable, never a traceback."""
    try:
        return EproSettings()
    except ValidationError as error:
        problem = error.errors()[0]
        name = "EPRO_" + "_".join(str(part) for part in problem["loc"]).upper()
        raise EproError(f"invalid setting {name}: {problem['msg']}; fix or unset it") from None
