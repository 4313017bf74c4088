"""The demo's own study server: the real app on a free loopback port, beside the demo kiosk.

``epro demo`` runs it in a thread of the kiosk's process, so it ends when the kiosk does
(however the kiosk ends), and binds port 0 on 127.0.0.1, so two demos never clash and nothing
outside the machine can reach it. Its files sit next to the demo database, named after it:

- ``demo.db.server.sqlite3``: the server database (devices, envelopes, roster, audit);
- ``demo.db.study-public.json``: the demo study public key (the private half is the demo's
  ``demo.db.study-key.json``, kept there so ``epro export`` can be tried on the demo's bundle);
- ``demo.db.server.log``: the server's warnings (the terminal belongs to the kiosk).

Made-up site and accounts only; a real study server is ``epro-sync serve`` behind TLS.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from epro_sync import storage
from epro_sync.app import create_app
from epro_sync.config import ServerSettings
from epro_sync.db import make_engine
from epro_sync.migrations import migrate
from epro_sync.testing import LiveServer

#: The label the demo kiosk enrols with (the console's kiosk list shows it).
DEMO_LABEL = "Demo kiosk"


@dataclass(frozen=True, slots=True)
class DemoFiles:
    """Where the demo server keeps its files, next to the demo kiosk database ``db``."""

    db: Path

    @property
    def database(self) -> Path:
        return self.db.with_name(self.db.name + ".server.sqlite3")

    @property
    def study_public_key(self) -> Path:
        return self.db.with_name(self.db.name + ".study-public.json")

    @property
    def log(self) -> Path:
        return self.db.with_name(self.db.name + ".server.log")

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database}"


def demo_settings(files: DemoFiles) -> ServerSettings:
    """The demo server's settings: its own SQLite file and the demo study public key."""
    return ServerSettings(
        database_url=files.database_url,
        study_public_key_file=files.study_public_key,
        host="127.0.0.1",
    )


@dataclass(frozen=True, slots=True)
class DemoServer:
    """A running demo server: where it listens, and whether its database was new."""

    url: str
    files: DemoFiles
    settings: ServerSettings
    #: True when this start made the server database: the kiosk must enrol (again).
    fresh: bool

    @property
    def console_url(self) -> str:
        return f"{self.url}/console/"

    def enrol_code(self, site: str) -> str:
        """A one-time enrolment code, as `epro-sync enrol-code --site SITE` makes."""
        engine = make_engine(self.settings.database_url)
        try:
            with Session(engine) as session:
                code, _expires = storage.create_enrol_code(
                    session, site, datetime.now(UTC), timedelta(minutes=15)
                )
                session.commit()
        finally:
            engine.dispose()
        return code


@contextmanager
def demo_server(db: Path, study_public_key_json: str) -> Iterator[DemoServer]:
    """Start the demo server for the demo database ``db``; it stops at the end of the block."""
    files = DemoFiles(Path(db))
    files.study_public_key.write_text(study_public_key_json, encoding="utf-8")
    settings = demo_settings(files)
    fresh = not files.database.exists()
    settings.ensure_database_dir()
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    with LiveServer(create_app(settings), log_file=files.log) as live:
        yield DemoServer(url=live.url, files=files, settings=settings, fresh=fresh)
