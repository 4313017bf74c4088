"""Typed server settings, read from ``EPRO_SYNC_*`` environment variables (or passed in tests)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from epro.protocol import DEFAULT_BATCH_MAX


def default_database_url() -> str:
    """A SQLite file in the user's data directory (computed on use, never at import)."""
    return f"sqlite:///{Path(platformdirs.user_data_dir('epro-sync')) / 'epro-sync.sqlite3'}"


def default_study_file() -> Path:
    """The study protocol shipped with epro: ``forms/study.toml`` (``epro/_forms`` if installed)."""
    import epro

    installed = Path(epro.__file__).resolve().parent / "_forms" / "study.toml"
    if installed.exists():
        return installed
    return Path(__file__).resolve().parents[2] / "forms" / "study.toml"


class ServerSettings(BaseSettings):
    """Everything the study server needs; one object, passed to ``create_app``."""

    model_config = SettingsConfigDict(
        env_prefix="EPRO_SYNC_", extra="forbid", use_attribute_docstrings=True
    )

    database_url: str = Field(default_factory=default_database_url)
    """SQLAlchemy URL: ``sqlite:///path`` (default, in the user data dir) or
    ``postgresql+psycopg://user@host/db`` for a multi-site production server."""

    study_public_key_file: Path | None = None
    """The study public key JSON made by ``epro keys study-keypair DIR``; handed to kiosks at
    enrolment. Needed to serve enrolments; the private key never comes near the server."""

    study_file: Path = Field(default_factory=default_study_file)
    """The study protocol (visit schedule) sent to kiosks at enrolment."""

    batch_max: int = Field(default=DEFAULT_BATCH_MAX, ge=1, le=10_000)
    """Most envelopes accepted in one ``POST /v1/responses:batch``."""

    body_max_bytes: int = Field(default=32 << 20, ge=1 << 20, le=1 << 30)
    """Largest upload body accepted, in bytes (a full batch of real envelopes is a few
    megabytes); larger bodies are refused with 413 before or while they are read."""

    code_expiry_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    """How long a one-time enrolment code stays valid."""

    host: str = "127.0.0.1"
    """Interface ``epro-sync serve`` listens on; keep 127.0.0.1 behind a TLS reverse proxy."""

    port: int = Field(default=8750, ge=0, le=65535)
    """TCP port ``epro-sync serve`` listens on."""

    enrol_failure_delay_s: float = Field(default=0.25, ge=0, le=10)
    """A failed enrolment is answered after this delay, doubled for each further failure from
    the same address within 15 minutes (at most 8 s)."""

    enrol_lockout_failures: int = Field(default=20, ge=1, le=10_000)
    """After this many failed enrolments from one address within 15 minutes, that address is
    refused enrolment (429) until 15 minutes after its last failure."""

    console_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    """A console session unused for this many minutes ends; the next request asks for a login."""

    console_session_hours: int = Field(default=12, ge=1, le=7 * 24)
    """However active, a console session ends this many hours after its login."""

    console_cookie_secure: bool | None = None
    """Mark the console's cookies ``Secure`` (sent over HTTPS only). Unset: secure whenever the
    request arrived over HTTPS (directly, or as the TLS proxy in front says). Set ``true``
    behind a proxy that does not say so."""

    console_failure_delay_s: float = Field(default=0.25, ge=0, le=10)
    """A failed console login is answered after this delay, doubled for each further failure
    from the same address within 15 minutes (at most 8 s)."""

    console_lockout_failures: int = Field(default=5, ge=1, le=1000)
    """After this many failed logins in a row, the account is locked for 15 minutes (and the
    lockout is in the server audit); 4 times as many from one address lock that address out."""

    console_reset_hours: int = Field(default=72, ge=1, le=30 * 24)
    """How long a one-time code from ``epro-sync user add`` or ``user reset`` stays valid."""

    console_password_memory_kib: int = Field(default=65536, ge=1024, le=1 << 21)
    """Argon2id memory cost of new console passwords, in KiB (3 passes, 4 lanes). Lower it only
    for tests and the demo; each stored hash keeps the cost it was made with."""

    console_secret: str | None = Field(default=None, min_length=32, repr=False)
    """Key that signs the login forms' CSRF tokens before anyone is logged in. Unset: a random
    key per server process, which is right for one process; set the same value (32 or more
    random characters) on every instance behind one load balancer."""

    console_kiosk_quiet_days: int = Field(default=7, ge=1, le=365)
    """The console's overview flags a kiosk not seen by the server for this many days."""

    console_clock_skew_minutes: int = Field(default=5, ge=1, le=24 * 60)
    """The console flags a kiosk whose clock runs ahead of the server's by more than this."""

    def ensure_database_dir(self) -> None:
        """Prepare a SQLite database file (only when actually used): its folder is made
        private to the server's user (0700) when created here, and the file is created, or
        tightened, to 0600 — SQLite gives its journal files the same mode. The database holds
        the roster and who sent what when: nobody else on the machine may read it."""
        prefix = "sqlite:///"
        if not self.database_url.startswith(prefix) or self.database_url == prefix + ":memory:":
            return
        path = Path(self.database_url[len(prefix) :].split("?", 1)[0])
        if not path.parent.is_dir():
            path.parent.mkdir(mode=0o700, parents=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        for file in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
            if file.exists() and file.stat().st_mode & 0o077:
                file.chmod(0o600)
