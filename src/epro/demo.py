"""A demonstration kiosk database: made-up patients with history, a draft and a study key.

Everything goes through the real store and session service, so the demo exercises the same
code as a clinic would. Only made-up study codes (``DEMO-001`` …) are used. The study private
key is written next to the database so the demo can be opened end to end — a real study keeps
that key offline with its data manager.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from epro.crypto import FAST_KDF, KdfParams, generate_study_keypair
from epro.errors import AnswerError, StoreError
from epro.forms import default_forms_dir, load_forms, validate_answer
from epro.forms.model import NA, AnswerValue, Form, Item, ItemType
from epro.schedule import Study, age_at, load_study
from epro.scoring.repeat_infusion import visits_from_protocol
from epro.session import QuestionnaireSession, SessionService
from epro.store import Store, init_store
from epro.store.domain import AuditKind, Patient

DEMO_SITE = "DEMO"
DEMO_NURSE = "nurse"
DEMO_PIN = "1234"
DEMO_PASSPHRASE = "demo"


@dataclass(frozen=True, slots=True)
class DemoPatient:
    """A made-up participant: age today, and the visit that is open today."""

    code: str
    age_years: int
    open_visit: str
    #: Nudges answers up or down so the patients differ in the trend screens.
    severity: float


#: Baselines are placed so that ``open_visit`` has its target date today.
DEMO_PATIENTS = (
    DemoPatient("DEMO-001", 6, "V2", 0.55),  # below 8: the parent answers CHAQ and the VAS
    DemoPatient("DEMO-002", 10, "V3", 0.7),
    DemoPatient("DEMO-003", 15, "V4", 0.8),  # also has a CHAQ draft left half-way today
    DemoPatient("DEMO-004", 12, "V1", 0.6),  # baseline today: nothing answered at the kiosk yet
)


@dataclass(slots=True)
class DemoSummary:
    path: Path
    study_key_path: Path
    patients: list[DemoPatient] = field(default_factory=list)
    submitted: int = 0
    drafts: list[str] = field(default_factory=list)


def demo_kdf() -> KdfParams:
    """The normal Argon2id cost, or the cheap one when ``EPRO_KDF=fast`` (tests, demos)."""
    return FAST_KDF if os.environ.get("EPRO_KDF", "").strip().lower() == "fast" else KdfParams()


def study_key_path(db: Path) -> Path:
    return db.with_name(db.name + ".study-key.json")


def make_demo_database(path: Path, passphrase: str = DEMO_PASSPHRASE) -> Path:
    """Create the demo database at ``path`` (refusing to overwrite) and return its path."""
    return build_demo(path, passphrase).path


def build_demo(
    path: Path,
    passphrase: str = DEMO_PASSPHRASE,
    *,
    today: date | None = None,
    forms: Mapping[str, Form] | None = None,
    study: Study | None = None,
) -> DemoSummary:
    """Like :func:`make_demo_database`, returning what was made."""
    path = Path(path)
    key_file = study_key_path(path)
    for existing in (path, key_file):
        if existing.exists():
            raise StoreError(
                f"{existing} already exists; delete it or choose another --db for the demo"
            )
    if not path.parent.is_dir():
        raise StoreError(f"the folder {path.parent} does not exist; create it or choose another")
    forms = load_forms(default_forms_dir()) if forms is None else forms
    study = load_study() if study is None else study
    today = datetime.now(UTC).astimezone().date() if today is None else today
    # Built in a scratch folder (memory-backed where the system has one: every answer is a
    # synced commit, which a RAM disk makes cheap) and moved into place when complete, so a
    # half-made demo never sits at ``path``.
    with tempfile.TemporaryDirectory(prefix="epro-demo-", dir=_scratch_parent(path)) as scratch:
        work = Path(scratch) / path.name
        summary = _build(work, passphrase, forms, study, today)
        shutil.move(work, path)
        shutil.move(study_key_path(work), key_file)
    summary.path = path
    summary.study_key_path = key_file
    return summary


def _scratch_parent(path: Path) -> Path:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    return path.parent


def _build(
    path: Path, passphrase: str, forms: Mapping[str, Form], study: Study, today: date
) -> DemoSummary:
    kdf = demo_kdf()
    study_key = generate_study_keypair()
    store = init_store(
        path,
        passphrase=passphrase,
        site=DEMO_SITE,
        nurse_name=DEMO_NURSE,
        nurse_pin=DEMO_PIN,
        kdf=kdf,
        study_public_key=study_key.public_key(),
        allow_weak_passphrase=True,
    )
    try:
        key_file = study_key_path(path)
        key_file.write_text(study_key.to_encrypted_json(passphrase, kdf), encoding="utf-8")
        summary = DemoSummary(path=path, study_key_path=key_file)
        for person in DEMO_PATIENTS:
            _add_patient(store, study, person, today)
            summary.patients.append(person)
            summary.submitted += _history(store, forms, study, person, today)
        summary.drafts.append(_draft(store, forms, study, DEMO_PATIENTS[2], today))
    finally:
        store.close()
    return summary


def _baseline(study: Study, person: DemoPatient, today: date) -> date:
    return today - timedelta(days=7 * study.visit(person.open_visit).week)


def _birth_ym(person: DemoPatient, today: date) -> str:
    # Born a few months more than ``age_years`` ago, so the age is that number today.
    born = today.replace(day=1) - timedelta(days=365 * person.age_years + 100)
    return f"{born.year:04d}-{born.month:02d}"


def _add_patient(store: Store, study: Study, person: DemoPatient, today: date) -> None:
    patient = Patient(
        code=person.code,
        birth_ym=_birth_ym(person, today),
        baseline_date=_baseline(study, person, today),
        site=DEMO_SITE,
    )
    with store.unit_of_work() as uow:
        uow.patients.add(patient)
        uow.audit.append(AuditKind.ENROL, DEMO_NURSE, detail=person.code)
        uow.commit()


def _clock_on(day: date) -> Callable[[], datetime]:
    # 10:00 on the kiosk's own clock, so the visit day is ``day`` in every time zone.
    moment = datetime.combine(day, time(10, 0)).astimezone().astimezone(UTC)
    return lambda: moment


def _history(
    store: Store, forms: Mapping[str, Form], study: Study, person: DemoPatient, today: date
) -> int:
    """Submit every form of every visit before the open one, on that visit's target date."""
    baseline = _baseline(study, person, today)
    birth_ym = _birth_ym(person, today)
    rng = random.Random(person.code)
    count = 0
    for number, visit in enumerate(study.visits):
        if visit.code == person.open_visit:
            break
        day = baseline + timedelta(days=7 * visit.week)
        service = SessionService(store, forms, study, clock=_clock_on(day))
        # Symptoms ease over the visits, as they did in the trial the demo imitates.
        severity = max(0.1, person.severity - 0.08 * number)
        latest = study.visits[number + 1].code == person.open_visit
        for form_id in visit.forms:
            # Every answer is its own synced commit, so the long JAMAR is filled in at the
            # latest visit only: the demo still builds in seconds.
            if form_id not in forms or (form_id == "jamar" and not latest):
                continue
            for respondent in study.respondents_for(form_id, age_at(birth_ym, day)):
                session = service.start(
                    patient=person.code,
                    visit=visit.code,
                    form_id=form_id,
                    respondent=respondent,
                    language="en",
                    actor=DEMO_NURSE,
                )
                given = staff_answers(study, visit.code, rng) if form_id == "clinician" else {}
                answer_all(session, rng, severity, given=given)
                session.submit(actor=DEMO_NURSE)
                count += 1
    return count


def _draft(
    store: Store, forms: Mapping[str, Form], study: Study, person: DemoPatient, today: date
) -> str:
    """A questionnaire left half-way today, for the nurse to resume."""
    service = SessionService(store, forms, study, clock=_clock_on(today))
    respondent = study.respondents_for("chaq", age_at(_birth_ym(person, today), today))[0]
    session = service.start(
        patient=person.code,
        visit=person.open_visit,
        form_id="chaq",
        respondent=respondent,
        language="en",
        actor=DEMO_NURSE,
    )
    answer_all(session, random.Random(0), person.severity, limit=6)
    session.timeout()
    return session.response_id


def staff_answers(study: Study, visit: str, rng: random.Random) -> dict[str, AnswerValue | None]:
    """The clinician items that belong to some visits only (instruments.md §4.1), as a nurse
    would give them: the infusion at V1 and sometimes at V3 and V5, the question about other
    treatment after the first infusion; None leaves an item empty."""
    following = {code for _, code in visits_from_protocol(study.visits, study.baseline_visit)}
    codes = [v.code for v in study.visits]
    after_first = codes.index(visit) > codes.index(study.baseline_visit)
    infusion: AnswerValue | None = None
    if visit == study.baseline_visit:
        infusion = True
    elif visit in following:
        infusion = rng.random() < 0.5
    treated: AnswerValue | None = rng.random() < 0.15 if after_first else None
    return {"infusion_given": infusion, "disqualifying_treatment": treated}


def answer_all(
    session: QuestionnaireSession,
    rng: random.Random,
    severity: float,
    limit: int | None = None,
    *,
    given: Mapping[str, AnswerValue | None] | None = None,
) -> int:
    """Answer enabled, unanswered items in order (optional texts left empty); returns count.

    ``given`` fixes the answer of some items; an item given None is left empty.
    """
    fixed = {} if given is None else given
    count = 0
    while pending := _pending(session, fixed):
        if limit is not None and count >= limit:
            session.go_to(pending[0].link_id)  # where a resumed draft should carry on
            break
        item = pending[0]
        value = fixed.get(item.link_id)
        if value is None:
            value = demo_answer(item, rng, severity)
        if value == NA:
            session.not_applicable(item.link_id)
        else:
            session.answer(item.link_id, value)
        count += 1
    return count


def _pending(session: QuestionnaireSession, given: Mapping[str, AnswerValue | None]) -> list[Item]:
    return [
        line.item
        for line in session.review()
        if line.value is None
        and (line.item.required or line.item.type is not ItemType.TEXT)
        and not (line.item.link_id in given and given[line.item.link_id] is None)
    ]


def demo_answer(item: Item, rng: random.Random, severity: float) -> AnswerValue:
    """A plausible, valid answer: higher ``severity`` (0–1) gives worse answers."""
    level = min(1.0, max(0.0, severity * rng.uniform(0.6, 1.3)))
    if item.na_option and rng.random() < 0.04:
        return NA
    kind = item.type
    if kind is ItemType.CHOICE:
        # Option order runs from best to worst in our forms; a mild answer is the likely one.
        index = min(len(item.options) - 1, int(level * len(item.options) * 0.8))
        return validate_answer(item, item.options[index].code)
    if kind is ItemType.CHECKLIST:
        ticked = [o.code for o in item.options if rng.random() < level * 0.25]
        return _valid(item, ticked, [])
    if kind is ItemType.BOOLEAN:
        return rng.random() < level
    if kind is ItemType.VAS:
        return round(level * 90)
    if kind is ItemType.CIRCLES21:
        return round(level * 18) / 2
    if kind in (ItemType.INTEGER, ItemType.DECIMAL):
        low = item.min if item.min is not None else 0.0
        high = item.max if item.max is not None else low + 100
        span = min(high - low, 20.0)  # joint counts and ESR in a plausible range
        step = item.step or (1.0 if kind is ItemType.INTEGER else 0.5)
        number = low + round(level * span / step) * step
        return validate_answer(item, int(number) if kind is ItemType.INTEGER else number)
    if kind is ItemType.DATE:
        return date.today().isoformat()
    return "none"


def connect_demo_kiosk(
    store: Store,
    server_url: str,
    make_code: Callable[[], str],
    *,
    label: str,
    enrol_again: bool = False,
) -> None:
    """Point the demo kiosk at the demo server at ``server_url``: enrol it with a fresh code
    the first time (or when the server's database is new), else only note the server's new
    address (the demo server takes a free port at each start)."""
    from epro.sync_client import enrol_kiosk
    from epro.sync_client.status import DEVICE_TOKEN, SERVER_URL

    with store.unit_of_work() as uow:
        enrolled = uow.keys.get_setting(DEVICE_TOKEN) is not None
    if enrol_again or not enrolled:
        enrol_kiosk(store, server_url=server_url, code=make_code(), label=label)
        return
    with store.unit_of_work() as uow:
        uow.keys.set_setting(SERVER_URL, server_url)
        uow.commit()


def study_public_key_json(store: Store) -> str:
    """The study public key the demo kiosk seals to, as the server hands it out."""
    with store.unit_of_work() as uow:
        key = uow.keys.study_public_key()
    if key is None:
        raise StoreError(f"the demo database {store.path} has no study key; delete it and rerun")
    return key.to_json()


def _valid(item: Item, value: object, fallback: object) -> AnswerValue:
    try:
        return validate_answer(item, value)
    except AnswerError:
        return validate_answer(item, fallback)
