"""Fixtures of the export tests: one trial on a live server, its clean and damaged bundles."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from epro_sync.config import ServerSettings
from epro_sync.testing import running_server
from tests.helpers.export_support import Built, Trial, add_damage, build_clean, make_study_key


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    folder = tmp_path_factory.mktemp("trial")
    key = make_study_key(folder / "keys")
    settings = ServerSettings(
        database_url=f"sqlite:///{folder / 'server.sqlite3'}",
        study_public_key_file=folder / "keys" / "study-public-key.json",
    )
    with running_server(settings) as server:
        trial = Trial(folder, settings, server.url, key)
        try:
            ids = build_clean(trial)
            clean = folder / "clean.bundle"
            trial.bundle(clean)
            add_damage(trial, ids)
            damaged = folder / "damaged.bundle"
            trial.bundle(damaged)
            yield Built(trial, ids, clean, damaged)
        finally:
            trial.close()
