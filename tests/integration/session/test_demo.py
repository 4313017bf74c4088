"""The demo database and `epro demo --no-ui`: made-up patients with open visits today, real
submitted responses that open with the demo study key, one draft, clinician data."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from epro.cli import main
from epro.crypto import StudyPrivateKey, open_sealed
from epro.demo import DEMO_PATIENTS, build_demo, make_demo_database, study_key_path
from epro.errors import StoreError
from epro.forms import Form
from epro.protocol import Envelope
from epro.schedule import Study, age_at, open_visit
from epro.session.submission import SEAL_INFO
from epro.store import open_store
from epro.store.domain import ResponseStatus

PASSPHRASE = "demo passphrase"


@pytest.fixture(autouse=True)
def fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EPRO_KDF", "fast")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    os.environ["EPRO_KDF"] = "fast"  # module-scoped fixtures run before monkeypatch
    try:
        return make_demo_database(tmp_path_factory.mktemp("demo") / "demo.db", PASSPHRASE)
    finally:
        del os.environ["EPRO_KDF"]


def test_every_demo_patient_has_a_visit_open_today(demo_db: Path, study: Study) -> None:
    today = datetime.now(UTC).astimezone().date()
    with open_store(demo_db, passphrase=PASSPHRASE) as store, store.unit_of_work() as uow:
        patients = {patient.code: patient for patient in uow.patients.list()}
    assert sorted(patients) == [person.code for person in DEMO_PATIENTS]
    for person in DEMO_PATIENTS:
        patient = patients[person.code]
        visit = open_visit(study, patient.baseline_date, today)
        assert visit is not None
        assert visit.code == person.open_visit
        assert int(age_at(patient.birth_ym, today)) == person.age_years


def test_submitted_demo_responses_open_with_the_demo_study_key(
    demo_db: Path, forms: Mapping[str, Form]
) -> None:
    key = StudyPrivateKey.from_encrypted_json(
        study_key_path(demo_db).read_text(encoding="utf-8"), PASSPHRASE
    )
    with open_store(demo_db, passphrase=PASSPHRASE) as store:
        assert store.verify().ok
        with store.unit_of_work() as uow:
            submitted = uow.responses.list(statuses=[ResponseStatus.SUBMITTED])
            drafts = uow.responses.list(statuses=[ResponseStatus.IN_PROGRESS])
            entries = {meta.id: uow.outbox.get(meta.id) for meta in submitted}
            draft_answers = uow.answers.load(drafts[0])
    assert len(drafts) == 1
    assert 0 < len(draft_answers) < len(forms["chaq"].items)
    assert {meta.form_id for meta in submitted} == set(forms)
    # instruments.md §2.1: below 8 years the parent answers the CHAQ; clinician data by staff.
    chaq_respondents = {(m.patient, m.respondent) for m in submitted if m.form_id == "chaq"}
    assert ("DEMO-001", "parent") in chaq_respondents
    assert ("DEMO-003", "child") in chaq_respondents
    assert {m.respondent for m in submitted if m.form_id == "clinician"} == {"staff"}
    for meta in submitted:
        entry = entries[meta.id]
        assert entry is not None
        envelope = Envelope.model_validate_json(entry.envelope_json)
        document = json.loads(open_sealed(base64.b64decode(envelope.sealed), key, info=SEAL_INFO))
        assert document["patient"] == meta.patient
        assert set(document["answers"]) <= set(forms[meta.form_id].link_ids)
        if meta.form_id == "chaq":
            assert document["scores"]["chaq_di"] is not None


def test_demo_clinician_data_answer_the_visit_bound_items_only_where_they_belong(
    demo_db: Path,
) -> None:
    """instruments.md §4.1: infusion_given at the infusion visits (V1 yes; V3, V5 either way),
    disqualifying_treatment after the first infusion; both left empty elsewhere."""
    with open_store(demo_db, passphrase=PASSPHRASE) as store, store.unit_of_work() as uow:
        clinician = [
            (meta.visit, uow.answers.load(meta))
            for meta in uow.responses.list(statuses=[ResponseStatus.SUBMITTED])
            if meta.form_id == "clinician"
        ]
    seen = {visit for visit, _ in clinician}
    assert {"V0", "V1", "V2", "V3"} <= seen
    for visit, answers in clinician:
        if visit == "V1":
            assert answers["infusion_given"] is True
        elif visit in ("V3", "V5"):
            assert isinstance(answers["infusion_given"], bool)
        else:
            assert "infusion_given" not in answers
        if visit in ("V0", "V1"):
            assert "disqualifying_treatment" not in answers
        else:
            assert isinstance(answers["disqualifying_treatment"], bool)


def test_the_demo_refuses_to_overwrite_an_existing_database(demo_db: Path) -> None:
    before = demo_db.read_bytes()
    with pytest.raises(StoreError, match="already exists"):
        build_demo(demo_db, PASSPHRASE)
    assert demo_db.read_bytes() == before


def test_demo_no_ui_prints_codes_and_the_passphrase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EPRO_PASSPHRASE", PASSPHRASE)
    db = tmp_path / "cli.db"
    assert main(["demo", "--no-ui", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"passphrase: {PASSPHRASE}" in out
    for person in DEMO_PATIENTS:
        assert person.code in out
    assert "drafts: 1" in out
    assert db.exists()
    assert study_key_path(db).exists()


def test_demo_no_ui_on_an_existing_file_says_so_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "taken.db"
    db.write_bytes(b"not a demo")
    assert main(["demo", "--no-ui", "--db", str(db)]) != 0
    err = capsys.readouterr().err
    assert err.startswith("epro: ")
    assert "already exists" in err
    assert db.read_bytes() == b"not a demo"


def test_epro_demo_no_ui_runs_as_a_real_process_with_the_default_passphrase(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "EPRO_PASSPHRASE"}
    env["EPRO_KDF"] = "fast"
    db = tmp_path / "process.db"
    done = subprocess.run(
        [sys.executable, "-m", "epro", "demo", "--no-ui", "--db", str(db)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "passphrase: demo" in done.stdout
    assert "Traceback" not in done.stderr
    with open_store(db, passphrase="demo") as store:
        assert store.verify().ok


def test_epro_demo_without_a_folder_fails_plainly_in_a_real_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "epro", "demo", "--no-ui", "--db", str(tmp_path / "no" / "x.db")],
        capture_output=True,
        text=True,
        env={**os.environ, "EPRO_KDF": "fast", "EPRO_PASSPHRASE": PASSPHRASE},
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    assert done.stderr.startswith("epro: ")
    assert "does not exist" in done.stderr
    assert "Traceback" not in done.stderr
