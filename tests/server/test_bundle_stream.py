"""The bundle as a stream of chunks (the console's download) and its annotations section.

On SQLite and PostgreSQL, after real uploads over HTTP: the streamed bytes are exactly what
``epro-sync bundle`` writes for the same moment (its ``_stream``, the reference), a site's
bundle carries
only that site's marks, and every download is audited — complete, or abandoned part-way.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from epro.bundle import BundleHeader, open_bundle
from epro_sync import bundle as server_bundle
from epro_sync.annotations import mark_entered_in_error
from epro_sync.bundle import stream_bundle
from epro_sync.migrations import current_version
from epro_sync.testing import ScriptedKiosk

NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)


def _uploaded(new_kiosk: Callable[..., ScriptedKiosk]) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for site, patient in (("UMCU", "DEMO-001"), ("EMC", "EMC-001")):
        kiosk = new_kiosk(site)
        envelopes = [
            kiosk.envelope(patient=patient, visit=visit, form_id=form_id)
            for visit in ("V1", "V2")
            for form_id in ("chaq", "vas_pain")
        ]
        assert kiosk.upload(*envelopes).status_code == 200
        ids[site] = [str(e.response_id) for e in envelopes]
    return ids


def _mark(engine: Engine, response_id: str, reason: str) -> None:
    with Session(engine) as session:
        mark_entered_in_error(session, response_id, reason, actor="dm", sites=None, now=NOW)
        session.commit()


def test_the_stream_is_byte_for_byte_the_file_of_the_same_moment(
    new_kiosk: Callable[..., ScriptedKiosk],
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = _uploaded(new_kiosk)
    _mark(engine, ids["UMCU"][0], "session opened for the wrong patient")
    _mark(engine, ids["EMC"][1], "kiosk handed to the wrong family")
    monkeypatch.setattr(server_bundle, "CHUNK_BYTES", 512)  # many chunks, even for a few rows
    for site in (None, "UMCU"):
        # What `epro-sync bundle` writes, before any download is audited (an audit event
        # would be in the next bundle's audit section).
        reference = io.BytesIO()
        header = BundleHeader(NOW, current_version(engine), site, "f" * 16)
        server_bundle._stream(engine, reference, header)
        chunks = list(
            stream_bundle(engine, site=site, now=NOW, actor="dm", study_key_fingerprint="f" * 16)
        )
        assert len(chunks) > 3
        assert b"".join(chunks) == reference.getvalue()
        (tmp_path / f"{site}.bundle").write_bytes(reference.getvalue())
    whole = open_bundle(tmp_path / "None.bundle")
    umcu = open_bundle(tmp_path / "UMCU.bundle")
    assert whole.counts["annotation"] == 2
    assert [(m.response_id, m.site, m.patient) for m in umcu.annotations()] == [
        (ids["UMCU"][0], "UMCU", "DEMO-001")
    ]


def test_every_download_is_audited_complete_or_abandoned(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _uploaded(new_kiosk)
    monkeypatch.setattr(server_bundle, "CHUNK_BYTES", 512)
    complete = b"".join(stream_bundle(engine, site="UMCU", now=NOW, actor="dm@example.org"))
    abandoned = stream_bundle(engine, site=None, now=NOW, actor="other@example.org")
    next(abandoned)
    abandoned.close()  # the browser went away after the first chunk
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT event, site, detail FROM audit WHERE event LIKE 'bundle%' ORDER BY id")
        ).all()
    assert [(row.event, row.site) for row in rows] == [
        ("bundle", "UMCU"),
        ("bundle_incomplete", None),
    ]
    done = json.loads(rows[0].detail)
    assert done["actor"] == "dm@example.org"
    assert done["via"] == "console"
    assert done["sha256"] == json.loads(complete.splitlines()[-1])["sha256"]
    assert done["counts"]["response"] == 4
    assert json.loads(rows[1].detail)["actor"] == "other@example.org"
