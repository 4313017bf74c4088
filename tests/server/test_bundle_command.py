"""`epro-sync bundle`: the sealed bundle the data manager exports from (DESIGN §9, step 1).

Run against the real server on SQLite and PostgreSQL: envelopes uploaded by kiosks over HTTP
come out of the bundle byte for byte as the database stores them, the file appears only when
complete (mode 0600, never over an existing file), the run is audited, and rows are streamed
(memory does not grow with the number of responses).
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from epro.bundle import open_bundle
from epro.crypto import StudyPublicKey
from epro_sync import cli
from epro_sync.config import ServerSettings
from epro_sync.testing import ScriptedKiosk

ROOT = Path(__file__).resolve().parents[2]

#: Codes whose order differs between byte order and a natural-language collation (which
#: ignores punctuation and case): the bundle must use byte order on every database.
CODES = ("DEMO-001", "DEMO_002", "DEMO-1", "demo-003", "DEMO.004")


@pytest.fixture
def env(settings: ServerSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPRO_SYNC_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("EPRO_SYNC_STUDY_FILE", str(settings.study_file))
    monkeypatch.setenv("EPRO_SYNC_STUDY_PUBLIC_KEY_FILE", str(settings.study_public_key_file))


def _push(kiosk: ScriptedKiosk, *codes: str) -> None:
    patients = [
        {
            "code": code,
            "site": kiosk.site,
            "birth_ym": "2015-07",
            "baseline_date": "2026-03-02",
            "language": "nl",
        }
        for code in codes
    ]
    reply = kiosk.post_json("/v1/roster", {"patients": patients})
    assert reply.status_code == 200, reply.text


def _study(new_kiosk: Callable[..., ScriptedKiosk]) -> tuple[ScriptedKiosk, ScriptedKiosk]:
    """Two kiosks at two sites, responses in a shuffled order, a conflict and a revocation."""
    umcu, other = new_kiosk("UMCU", "clinic"), new_kiosk("EMC", "ward 3")
    _push(umcu, *CODES)
    _push(other, "EMC-001")
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    envelopes = [
        umcu.envelope(patient=code, visit=visit, submitted_at=start + timedelta(minutes=minute))
        for minute, (code, visit) in enumerate(
            [(c, v) for c in reversed(CODES) for v in ("V2", "V1")]
        )
    ]
    # Two responses at the very same time: the response id decides their order.
    envelopes += [umcu.envelope(patient="DEMO-001", visit="V1", submitted_at=start)]
    envelopes += [umcu.envelope(patient="DEMO-001", visit="V1", submitted_at=start)]
    reply = umcu.upload(*envelopes)
    assert reply.status_code == 200, reply.text
    first = envelopes[0]
    changed = umcu.envelope(
        response_id=first.response_id, patient=first.patient, visit=first.visit, language="nl"
    )
    conflict = umcu.upload(changed)
    assert conflict.json()["receipts"][0]["status"] == "conflict"
    assert other.upload(other.envelope(patient="EMC-001")).status_code == 200
    assert cli.main(["revoke", other.device_id]) == 0
    return umcu, other


def _stored(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT response_id, envelope FROM responses")).all()
    return {str(rid): str(envelope) for rid, envelope in rows}


def test_the_bundle_holds_every_stored_envelope_exactly_as_the_database_stores_it(
    env: None,
    new_kiosk: Callable[..., ScriptedKiosk],
    engine: Engine,
    settings: ServerSettings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    umcu, other = _study(new_kiosk)
    out = tmp_path / "study.bundle"

    assert cli.main(["bundle", "--out", str(out)]) == 0

    bundle = open_bundle(out)
    stored = _stored(engine)
    responses = list(bundle.responses())
    assert {r.response_id: r.envelope for r in responses} == stored
    assert len(responses) == len(stored) == 13
    keys = [(r.site, r.patient, r.visit, r.submitted_at, r.response_id) for r in responses]
    assert keys == sorted(keys)  # byte order, whatever the database's collation
    assert [g.patient for g in bundle.groups] == ["EMC-001", *sorted(CODES)]
    devices = {d.device_id: d for d in bundle.devices()}
    assert devices[umcu.device_id].public_key == umcu.public_key_b64
    assert devices[umcu.device_id].revoked_at is None
    assert devices[other.device_id].revoked_at is not None
    assert sorted(p.code for p in bundle.patients()) == sorted([*CODES, "EMC-001"])
    (quarantined,) = bundle.quarantine()
    assert json.loads(quarantined.envelope)["language"] == "nl"
    assert json.loads(stored[quarantined.response_id])["language"] == "en"
    assert "revoke" in [event.event for event in bundle.audit()]
    assert settings.study_public_key_file is not None
    public = StudyPublicKey.from_json(settings.study_public_key_file.read_text())
    assert bundle.header.study_key_fingerprint == public.fingerprint()
    assert bundle.header.site is None
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert f"sha256 {bundle.manifest.sha256}" in capsys.readouterr().out


def test_making_a_bundle_is_audited_with_its_site_counts_and_hash(
    env: None, new_kiosk: Callable[..., ScriptedKiosk], engine: Engine, tmp_path: Path
) -> None:
    _study(new_kiosk)
    out = tmp_path / "umcu.bundle"
    assert cli.main(["bundle", "--out", str(out), "--site", "UMCU"]) == 0
    with engine.connect() as conn:
        site, detail = conn.execute(
            text("SELECT site, detail FROM audit WHERE event = 'bundle'")
        ).one()
    bundle = open_bundle(out)
    assert site == "UMCU"
    assert json.loads(detail) == {
        "counts": dict(bundle.counts),
        "sha256": bundle.manifest.sha256,
    }


def test_a_bundle_of_one_site_holds_only_that_site(
    env: None, new_kiosk: Callable[..., ScriptedKiosk], tmp_path: Path
) -> None:
    _umcu, other = _study(new_kiosk)
    out = tmp_path / "emc.bundle"
    assert cli.main(["bundle", "--out", str(out), "--site", "EMC"]) == 0
    bundle = open_bundle(out)
    assert bundle.header.site == "EMC"
    assert [d.device_id for d in bundle.devices()] == [other.device_id]
    assert [p.code for p in bundle.patients()] == ["EMC-001"]
    assert [r.patient for r in bundle.responses()] == ["EMC-001"]
    assert list(bundle.quarantine()) == []  # the conflict was UMCU's
    assert {event.site for event in bundle.audit()} <= {"EMC", None}


def test_an_unknown_site_is_refused_and_nothing_is_written(
    env: None,
    new_kiosk: Callable[..., ScriptedKiosk],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _study(new_kiosk)
    folder = tmp_path / "usb"
    folder.mkdir()
    assert cli.main(["bundle", "--out", str(folder / "x.bundle"), "--site", "NOWHERE"]) == 1
    assert "no kiosk or patient is registered at site 'NOWHERE'" in capsys.readouterr().err
    assert list(folder.iterdir()) == []


def test_an_existing_file_is_never_replaced(
    env: None,
    new_kiosk: Callable[..., ScriptedKiosk],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _study(new_kiosk)
    folder = tmp_path / "usb"
    folder.mkdir()
    out = folder / "study.bundle"
    out.write_text("last week's bundle", encoding="utf-8")
    assert cli.main(["bundle", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "exists already; choose a new file name (nothing was written)" in err
    assert "Traceback" not in err
    assert out.read_text(encoding="utf-8") == "last week's bundle"
    assert sorted(p.name for p in folder.iterdir()) == ["study.bundle"]


def _fill(engine: Engine, count: int, envelope_bytes: int) -> None:
    """``count`` stored responses with envelopes of ``envelope_bytes`` characters, written
    straight into the table (the bundle copies envelopes; it does not read them)."""
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    filler = base64.b64encode(os.urandom(envelope_bytes * 3 // 4)).decode()
    rows = [
        {
            "response_id": f"00000000-0000-7000-8000-{number:012d}",
            "receipt_id": f"00000000-0000-7000-9000-{number:012d}",
            "device_id": "kiosk",
            "site": "UMCU",
            "patient": f"DEMO-{number // 10:05d}",
            "visit": "V1",
            "form_id": "chaq",
            "form_version": "1.0.0",
            "respondent": "child",
            "submitted_at": now + timedelta(seconds=number),
            "out_of_window": False,
            "sha256": "0" * 64,
            "envelope": f'{{"n":{number},"sealed":"{filler}"}}',
            "received_at": now,
        }
        for number in range(count)
    ]
    columns = ", ".join(rows[0])
    values = ", ".join(f":{name}" for name in rows[0])
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO responses ({columns}) VALUES ({values})"), rows)


def _peak_rss_kib(out: Path) -> int:
    """Peak RSS of a fresh `epro-sync bundle --out OUT` process, from its own VmHWM (Linux):
    ``ru_maxrss`` would also count the test process, whose peak the child inherits at fork."""
    code = (
        "import re, sys\n"
        "from epro_sync.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "with open('/proc/self/status') as f:\n"
        "    print(re.search(r'VmHWM:\\s+(\\d+) kB', f.read()).group(1))\n"
        "sys.exit(status)\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "sync")])
    done = subprocess.run(
        [sys.executable, "-c", code, "bundle", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM (Linux)")
def test_rows_are_streamed_so_memory_does_not_grow_with_the_responses(
    env: None, new_kiosk: Callable[..., ScriptedKiosk], engine: Engine, tmp_path: Path
) -> None:
    new_kiosk("UMCU")  # migrates the database
    envelope_bytes = 16_000
    _fill(engine, 1_000, envelope_bytes)
    small = _peak_rss_kib(tmp_path / "small.bundle")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM responses"))
    _fill(engine, 4_000, envelope_bytes)
    large = _peak_rss_kib(tmp_path / "large.bundle")

    assert open_bundle(tmp_path / "large.bundle").counts["response"] == 4_000
    # Holding the rows would take 3,000 × 16 kB = 48 MB more; streamed, the peak stays put.
    extra_data_kib = 3_000 * envelope_bytes // 1024
    assert large - small < extra_data_kib / 3, (small, large)
