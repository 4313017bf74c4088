"""A small trial, end to end, for the export tests: real kiosks, a real server, real bundles.

Kiosk stores (FAST_KDF) submit responses through the real ``SessionService`` (scored, sealed
to the study key with HPKE, signed with the kiosk's Ed25519 key), sync them with the real
sync client to the real study server on 127.0.0.1 (SQLite file), and the bundle is made from
that server database by ``epro_sync.bundle.write_bundle``, as ``epro-sync bundle`` does.
Forgeries are signed with a real kiosk's key and uploaded through the server's API, as an
attacker holding a kiosk would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlmodel import Session

from epro.bundle import BundleManifest
from epro.crypto import FAST_KDF, DeviceKey, StudyPrivateKey, generate_study_keypair
from epro.export.records import ExportContext, PatientRecord, WrittenFile
from epro.forms import Form, load_forms
from epro.forms.model import AnswerValue
from epro.protocol import Envelope, EnvelopeContent, sign_envelope
from epro.schedule import Study, load_study
from epro.session import SessionService
from epro.session.submission import build_envelope, response_document
from epro.store import Store, init_store
from epro.store.domain import Patient, ResponseMeta, ResponseStatus, new_response_id
from epro.sync_client import SyncClient, enrol_kiosk
from epro.sync_client.http import DeviceAuth
from epro.sync_client.status import DEVICE_TOKEN
from epro_sync.bundle import write_bundle
from epro_sync.config import ServerSettings
from epro_sync.db import make_engine
from epro_sync.storage import revoke
from epro_sync.testing import make_enrol_code

SITE = "UMCU"
KIOSK_PASSPHRASE = "correct horse battery"
STUDY_PASSPHRASE = "study key passphrase for tests"
ROOT = Path(__file__).resolve().parents[2]

CHAQ_DOMAINS = {
    "dress": "abcd",
    "arise": "ab",
    "eat": "abc",
    "walk": "ab",
    "hygiene": "abcde",
    "reach": "abcd",
    "grip": "abcde",
    "activ": "abcde",
}


def chaq(
    scores: Mapping[str, int],
    *,
    pain: int = 30,
    wellbeing: int = 60,
    devices: Sequence[str] = (),
    other: str | None = None,
) -> dict[str, AnswerValue]:
    """CHAQ answers giving each domain ``scores[domain]`` (every item of it answered so)."""
    answers: dict[str, AnswerValue] = {
        f"chaq_{domain}_{letter}": scores[domain]
        for domain, letters in CHAQ_DOMAINS.items()
        for letter in letters
    }
    answers["chaq_devices"] = list(devices)
    if other is not None:
        answers["chaq_devices_other"] = other
    answers["chaq_help"] = []
    answers["chaq_pain_vas"] = pain
    answers["chaq_wellbeing_vas"] = wellbeing
    return answers


def clinician(
    phys_global: float, active: int, active_27: int, limited: int, esr: float
) -> dict[str, AnswerValue]:
    return {
        "phys_global": phys_global,
        "active_joints": active,
        "active_joints_27": active_27,
        "limited_joints": limited,
        "esr": esr,
        "jia_course": "poly",
    }


@dataclass
class StudyKey:
    private: StudyPrivateKey
    #: The private key file, encrypted under STUDY_PASSPHRASE (cheap KDF: tests only).
    file: Path


def make_study_key(folder: Path) -> StudyKey:
    private = generate_study_keypair()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "study-private-key.json"
    path.write_text(private.to_encrypted_json(STUDY_PASSPHRASE, FAST_KDF), encoding="utf-8")
    (folder / "study-public-key.json").write_text(private.public_key().to_json(), "utf-8")
    return StudyKey(private, path)


@dataclass
class TrialKiosk:
    """A real kiosk store, enrolled with the server, whose clock the test sets per response."""

    name: str
    store: Store
    device_id: str
    forms: Mapping[str, Form]
    study: Study

    def enrol_patient(self, code: str, *, birth_ym: str, baseline: date) -> None:
        with self.store.unit_of_work() as uow:
            uow.patients.add(
                Patient(code=code, birth_ym=birth_ym, baseline_date=baseline, site=SITE)
            )
            uow.commit()

    def submit(
        self,
        patient: str,
        visit: str,
        form_id: str,
        respondent: str,
        answers: Mapping[str, AnswerValue],
        at: datetime,
    ) -> str:
        """Answer ``form_id`` with ``answers`` at ``at`` (the kiosk's clock) and submit it."""
        service = SessionService(self.store, self.forms, self.study, clock=lambda: at)
        session = service.start(
            patient=patient,
            visit=visit,
            form_id=form_id,
            respondent=respondent,
            language="en",
            actor="nurse",
            out_of_window_reason="test: visit outside its window",
        )
        for link_id, value in answers.items():
            session.answer(link_id, value)
        return session.submit(actor="nurse").response_id

    def sync(self) -> None:
        report = SyncClient(self.store).sync_once()
        assert report.error is None, report.error
        assert report.remaining == 0

    def device_key(self) -> DeviceKey:
        with self.store.unit_of_work() as uow:
            return uow.keys.device_key()

    def auth(self) -> DeviceAuth:
        with self.store.unit_of_work() as uow:
            token = uow.keys.get_setting(DEVICE_TOKEN)
            sign = uow.keys.device_key().sign
        assert token is not None
        return DeviceAuth(token, sign)

    def envelope(
        self,
        study_key: StudyPrivateKey,
        form: Form,
        *,
        patient: str,
        visit: str,
        respondent: str,
        answers: Mapping[str, AnswerValue],
        at: datetime,
        document_changes: Mapping[str, Any] | None = None,
    ) -> Envelope:
        """An envelope sealed and signed with this kiosk's real key, made outside a session —
        ``document_changes`` alter the sealed document only, as a forger would."""
        meta = ResponseMeta(
            id=new_response_id(at - timedelta(minutes=5)),
            patient=patient,
            visit=visit,
            form_id=form.id,
            form_version=form.version,
            form_sha256=form.sha256,
            respondent=respondent,
            language="en",
            status=ResponseStatus.SUBMITTED,
            started_at=at - timedelta(minutes=5),
            updated_at=at,
        )
        document = response_document(
            meta,
            site=SITE,
            device_id=self.device_id,
            answers=answers,
            scores={},
            score_notes={},
            submitted_at=at,
        )
        document.update(document_changes or {})
        return build_envelope(
            meta,
            form,
            document=document,
            site=SITE,
            device_id=self.device_id,
            study_key=study_key.public_key(),
            device_key=self.device_key(),
            submitted_at=at,
        )

    def upload(self, server_url: str, *envelopes: Envelope) -> list[dict[str, Any]]:
        """POST envelopes to the server as this kiosk (token and request signature)."""
        body = json.dumps({"envelopes": [e.model_dump(mode="json") for e in envelopes]})
        with httpx.Client(base_url=server_url, auth=self.auth()) as client:
            reply = client.post(
                "/v1/responses:batch",
                content=body.encode(),
                headers={"Content-Type": "application/json"},
            )
        assert reply.status_code == 200, reply.text
        receipts: list[dict[str, Any]] = reply.json()["receipts"]
        return receipts


@dataclass
class Trial:
    """The server database, the study key and the kiosks of one test study."""

    folder: Path
    settings: ServerSettings
    server_url: str
    key: StudyKey
    forms: dict[str, Form] = field(default_factory=load_forms)
    study: Study = field(default_factory=load_study)
    kiosks: list[TrialKiosk] = field(default_factory=list)

    def kiosk(self, name: str) -> TrialKiosk:
        store = init_store(
            self.folder / f"{name}.db",
            passphrase=KIOSK_PASSPHRASE,
            site=SITE,
            nurse_name="nurse",
            nurse_pin="1234",
            kdf=FAST_KDF,
        )
        code = make_enrol_code(self.settings, SITE)
        enrolment = enrol_kiosk(store, server_url=self.server_url, code=code, label=name)
        kiosk = TrialKiosk(name, store, enrolment.device_id, self.forms, self.study)
        self.kiosks.append(kiosk)
        return kiosk

    def sql(self, statement: str, **values: Any) -> list[Any]:
        engine = make_engine(self.settings.database_url)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(statement), values)
                return list(result.all()) if result.returns_rows else []
        finally:
            engine.dispose()

    def revoke(self, kiosk: TrialKiosk, at: datetime) -> None:
        engine = make_engine(self.settings.database_url)
        try:
            with Session(engine) as session:
                revoke(session, kiosk.device_id, at)
                session.commit()
        finally:
            engine.dispose()

    def bundle(self, out: Path, *, site: str | None = None) -> BundleManifest:
        """What `epro-sync bundle --out OUT` writes from this server's database."""
        engine = make_engine(self.settings.database_url)
        try:
            return write_bundle(
                engine,
                out,
                site=site,
                now=datetime.now(UTC),
                study_key_fingerprint=self.key.private.public_key().fingerprint(),
            )
        finally:
            engine.dispose()

    def close(self) -> None:
        for kiosk in self.kiosks:
            with contextlib.suppress(Exception):
                kiosk.store.close()


def on_day(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


class RecordsWriter:
    """A format writer that keeps each patient record as one JSON line (``records.jsonl``):
    the tests read back exactly what every format adapter is given."""

    def begin(self, out: Path, context: ExportContext) -> None:
        self.context = context
        self.path = out / "records.jsonl"
        self._handle = self.path.open("w", encoding="utf-8")
        self.rows = 0

    def add_patient(self, patient: PatientRecord) -> None:
        self._handle.write(json.dumps(dataclasses.asdict(patient), default=str) + "\n")
        self.rows += 1

    def finish(self) -> list[WrittenFile]:
        self._handle.close()
        return [WrittenFile(Path("records.jsonl"), self.rows)]


def read_records(folder: Path) -> dict[str, dict[str, Any]]:
    """``records.jsonl`` of an export folder, by patient code."""
    lines = (folder / "records.jsonl").read_text(encoding="utf-8").splitlines()
    return {record["code"]: record for record in map(json.loads, lines)}


def read_problems(folder: Path) -> list[dict[str, str]]:
    import csv

    with (folder / "problems.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def files_of(folder: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield path.relative_to(folder).as_posix(), path.read_bytes()


def birth_ym(age_years: int, on: date) -> str:
    """A birth month that makes a patient ``age_years`` (and about three months) on ``on``."""
    month, year = on.month - 3, on.year - age_years
    if month < 1:
        month, year = month + 12, year - 1
    return f"{year:04d}-{month:02d}"


@dataclass
class Ids:
    """Response ids of the trial, by what the tests expect of them."""

    baseline: date
    good: dict[str, list[str]] = field(default_factory=dict)
    damaged: dict[str, str] = field(default_factory=dict)
    superseded: str = ""
    superseding: str = ""
    free_text: str = "a frame my uncle welded"


@dataclass
class Built:
    """A trial with its clean bundle (made first) and its damaged one (made after)."""

    trial: Trial
    ids: Ids
    clean: Path
    damaged: Path


def build_clean(trial: Trial) -> Ids:
    """Two kiosks, three patients, every response good: the bundle of this exports cleanly.

    DEMO-001 (10 years) has the core set of instruments.md §4's worked check at V1 and V2:
    (phys_global, wb, chaq_di, active_joints, limited_joints, esr) = (6, 7, 1.5, 10, 8, 40)
    then (3, 4, 1.25, 5, 8, 42).
    """
    today = datetime.now(UTC).date()
    ids = Ids(baseline=today - timedelta(days=42))
    v1, v2 = on_day(ids.baseline), on_day(ids.baseline + timedelta(days=28))
    a, b = trial.kiosk("kiosk-a"), trial.kiosk("kiosk-b")
    for kiosk in (a, b):
        kiosk.enrol_patient("DEMO-001", birth_ym=birth_ym(10, ids.baseline), baseline=ids.baseline)
    b.enrol_patient("DEMO-002", birth_ym=birth_ym(6, ids.baseline), baseline=ids.baseline)
    b.enrol_patient("DEMO-003", birth_ym=birth_ym(12, ids.baseline), baseline=ids.baseline)
    worse = {"dress": 2, "arise": 2, "eat": 2, "walk": 2, "hygiene": 1, "reach": 1, "grip": 1}
    better = {**worse, "eat": 1, "walk": 1}
    ids.good["DEMO-001"] = [
        a.submit("DEMO-001", "V1", "chaq", "child", chaq({**worse, "activ": 1}), v1),
        a.submit("DEMO-001", "V1", "vas_pain", "child", {"vas_pain": 30}, v1),
        a.submit("DEMO-001", "V1", "vas_wellbeing", "child", {"vas_wellbeing": 70}, v1),
        a.submit("DEMO-001", "V1", "clinician", "staff", clinician(6, 10, 8, 8, 40), v1),
        a.submit("DEMO-001", "V2", "chaq", "child", chaq({**better, "activ": 1}), v2),
        a.submit("DEMO-001", "V2", "vas_wellbeing", "child", {"vas_wellbeing": 40}, v2),
        a.submit("DEMO-001", "V2", "clinician", "staff", clinician(3, 5, 4, 8, 42), v2),
        a.submit("DEMO-001", "V2", "vas_pain", "child", {"vas_pain": 50}, v2),
    ]
    ids.superseded = ids.good["DEMO-001"][-1]
    other = chaq(dict.fromkeys(CHAQ_DOMAINS, 1), devices=["other"], other=ids.free_text)
    ids.good["DEMO-002"] = [
        b.submit("DEMO-002", "V1", "chaq", "parent", other, v1),
        b.submit("DEMO-002", "V1", "vas_pain", "parent", {"vas_pain": 10}, v1),
    ]
    ids.good["DEMO-003"] = [b.submit("DEMO-003", "V1", "vas_pain", "child", {"vas_pain": 25}, v1)]
    ids.damaged["content_hash"] = b.submit(
        "DEMO-003", "V1", "vas_wellbeing", "child", {"vas_wellbeing": 35}, v1
    )
    ids.damaged["signature"] = b.submit(
        "DEMO-003", "V1", "chaq", "child", chaq(dict.fromkeys(CHAQ_DOMAINS, 0)), v1
    )
    a.sync()
    b.sync()
    return ids


def add_damage(trial: Trial, ids: Ids) -> None:
    """Everything that can be wrong with a bundle's responses, next to the good ones."""
    a, b = trial.kiosks[0], trial.kiosks[1]
    key = trial.key.private
    v2 = on_day(ids.baseline + timedelta(days=28))
    # The same form again at the same visit, on the other kiosk, an hour later.
    ids.superseding = b.submit(
        "DEMO-001", "V2", "vas_pain", "child", {"vas_pain": 20}, v2 + timedelta(hours=1)
    )
    b.sync()
    ids.good["DEMO-001"].append(ids.superseding)
    # One byte of a stored envelope changed in the server database.
    (stored,) = trial.sql(
        "SELECT envelope FROM responses WHERE response_id = :rid", rid=ids.damaged["content_hash"]
    )
    envelope = stored[0]
    place = envelope.index('"sealed":"') + 40
    flipped = envelope[:place] + ("A" if envelope[place] != "A" else "B") + envelope[place + 1 :]
    trial.sql(
        "UPDATE responses SET envelope = :e WHERE response_id = :rid",
        e=flipped,
        rid=ids.damaged["content_hash"],
    )
    # A stored envelope re-signed with another kiosk's key (its own kiosk id kept).
    (stored,) = trial.sql(
        "SELECT envelope FROM responses WHERE response_id = :rid", rid=ids.damaged["signature"]
    )
    original = Envelope.model_validate_json(stored[0])
    content = EnvelopeContent(**original.model_dump(exclude={"signature", "sha256"}))
    resigned = sign_envelope(content, a.device_key().sign)
    trial.sql(
        "UPDATE responses SET envelope = :e WHERE response_id = :rid",
        e=resigned.model_dump_json(),
        rid=ids.damaged["signature"],
    )
    # Signed by a real kiosk, but the sealed answers are another patient's.
    forged = a.envelope(
        key,
        trial.forms["vas_pain"],
        patient="DEMO-003",
        visit="V2",
        respondent="child",
        answers={"vas_pain": 5},
        at=v2,
        document_changes={"patient": "DEMO-002"},
    )
    # A form version this export does not know.
    unknown = a.envelope(
        key,
        dataclasses.replace(trial.forms["vas_pain"], version="1.1.0", sha256="ab" * 32),
        patient="DEMO-003",
        visit="V3",
        respondent="child",
        answers={"vas_pain": 7},
        at=v2,
    )
    # An answer outside the form's scale.
    invalid = a.envelope(
        key,
        trial.forms["vas_wellbeing"],
        patient="DEMO-003",
        visit="V2",
        respondent="child",
        answers={"vas_wellbeing": 150},
        at=v2,
    )
    # Good in every way, but for a patient the server roster does not have.
    stray = a.envelope(
        key,
        trial.forms["vas_pain"],
        patient="DEMO-099",
        visit="V1",
        respondent="child",
        answers={"vas_pain": 44},
        at=v2,
    )
    receipts = a.upload(trial.server_url, forged, unknown, invalid, stray)
    assert [r["status"] for r in receipts] == ["stored"] * 4
    ids.damaged["routing"] = str(forged.response_id)
    ids.damaged["form_version"] = str(unknown.response_id)
    ids.damaged["answers"] = str(invalid.response_id)
    ids.good["DEMO-099"] = [str(stray.response_id)]
    # Another copy of a stored response id, with different content: quarantined.
    (stored,) = trial.sql(
        "SELECT envelope FROM responses WHERE response_id = :rid", rid=ids.good["DEMO-003"][0]
    )
    first = Envelope.model_validate_json(stored[0])
    copy = sign_envelope(
        EnvelopeContent(**first.model_dump(exclude={"signature", "sha256"}) | {"language": "nl"}),
        b.device_key().sign,
    )
    assert [r["status"] for r in b.upload(trial.server_url, copy)] == ["conflict"]
    ids.damaged["conflict"] = ids.good["DEMO-003"][0]
    # A kiosk whose clock ran a day ahead: its response was submitted (by that clock) after
    # the kiosk was revoked.
    c = trial.kiosk("kiosk-c")
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    c.enrol_patient("DEMO-004", birth_ym=birth_ym(12, tomorrow), baseline=tomorrow)
    ids.damaged["revocation"] = c.submit(
        "DEMO-004", "V1", "vas_pain", "child", {"vas_pain": 60}, on_day(tomorrow, 23, 30)
    )
    c.sync()
    trial.revoke(c, datetime.now(UTC))
