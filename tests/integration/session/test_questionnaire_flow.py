"""A questionnaire from start to a sealed, signed outbox entry, on a real encrypted SQLite store."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

import pytest

from epro.crypto import StudyPrivateKey
from epro.errors import AnswerError, SessionError
from epro.forms.model import NA, SKIPPED, AnswerValue, Form
from epro.schedule import Study
from epro.scoring import score_form
from epro.session import SessionService
from epro.store import Store
from epro.store.domain import AuditKind, ResponseStatus
from tests.helpers.session_support import (
    Clock,
    audit_of,
    enrol,
    meta_of,
    new_store,
    open_outbox,
    start,
    stored_answers,
    submitted_pain,
)

# instruments.md §2.1: 30 CHAQ items, devices, help, two VAS. Domain maxima below:
# dress 2, arise 1, eat 1, walk 2, hygiene 1, reach 1 (reach_a skipped), grip 1, activ 2.
CHAQ_ANSWERS: dict[str, AnswerValue] = {
    "chaq_dress_a": 1,
    "chaq_dress_b": 2,
    "chaq_dress_c": 0,
    "chaq_arise_a": 0,
    "chaq_arise_b": 1,
    "chaq_eat_a": 0,
    "chaq_eat_b": 0,
    "chaq_eat_c": 1,
    "chaq_walk_a": 2,
    "chaq_walk_b": 1,
    "chaq_hygiene_a": 0,
    "chaq_hygiene_b": 1,
    "chaq_hygiene_c": 0,
    "chaq_hygiene_d": 0,
    "chaq_hygiene_e": 0,
    "chaq_reach_b": 1,
    "chaq_reach_c": 0,
    "chaq_reach_d": 0,
    "chaq_grip_a": 0,
    "chaq_grip_b": 0,
    "chaq_grip_c": 1,
    "chaq_grip_d": 0,
    "chaq_grip_e": 0,
    "chaq_activ_a": 1,
    "chaq_activ_b": 1,
    "chaq_activ_c": 0,
    "chaq_activ_d": 0,
    "chaq_activ_e": 2,
    "chaq_devices": ["walking_aid", "other"],
    "chaq_devices_other": "ZQXMARKER cushion",
    "chaq_help": ["arise"],
    "chaq_pain_vas": 35,
    "chaq_wellbeing_vas": 40,
}


def test_chaq_session_seals_exactly_the_entered_answers_and_the_chaq_di(
    service: SessionService, store: Store, study_key: StudyPrivateKey
) -> None:
    enrol(store, "DEMO-001", age=10)
    session = start(service)
    for link_id, value in CHAQ_ANSWERS.items():
        session.answer(link_id, value)
    session.not_applicable("chaq_dress_d")
    with pytest.raises(SessionError, match="confirmation"):
        session.skip("chaq_reach_a", confirmed=False)
    assert session.value("chaq_reach_a") is None
    session.skip("chaq_reach_a", confirmed=True)

    assert all(not line.missing_required for line in session.review())
    assert session.can_submit()
    result = session.submit(actor="nurse")

    entered = {**CHAQ_ANSWERS, "chaq_dress_d": NA, "chaq_reach_a": SKIPPED}
    envelope, document = open_outbox(store, session.response_id, study_key)
    assert document["answers"] == entered
    expected = score_form("chaq", entered).scores["chaq_di"]
    # instruments.md §2.1 aids/help rule: walking aid keeps walk at 2, help raises arise 1 → 2;
    # domains 2,2,1,2,1,1,1,2 → 12/8.
    assert expected == pytest.approx(1.5)
    assert document["scores"]["chaq_di"] == expected == result.scores.scores["chaq_di"]
    assert str(envelope.response_id) == session.response_id
    assert (envelope.patient, envelope.visit, envelope.form_id) == ("DEMO-001", "V1", "chaq")
    assert envelope.out_of_window is False
    assert envelope.sha256 == result.envelope_sha256
    meta = meta_of(store, session.response_id)
    assert meta.status is ResponseStatus.SUBMITTED
    assert meta.submitted_at is not None


def test_every_answer_is_audited_without_its_value(
    service: SessionService, store: Store, db_path: Path
) -> None:
    enrol(store, "DEMO-001", age=10)
    session = start(service)
    session.answer("chaq_devices", ["other"])
    session.answer("chaq_devices_other", "ZQXMARKER cushion")
    session.answer("chaq_pain_vas", 35)
    session.answer("chaq_pain_vas", 36)
    session.skip("chaq_grip_a", confirmed=True)
    kinds = [(event.kind, event.link_id) for event in audit_of(store, session.response_id)]
    assert kinds == [
        (AuditKind.SESSION_START, None),
        (AuditKind.ANSWERED, "chaq_devices"),
        (AuditKind.ANSWERED, "chaq_devices_other"),
        (AuditKind.ANSWERED, "chaq_pain_vas"),
        (AuditKind.CHANGED, "chaq_pain_vas"),
        (AuditKind.SKIPPED, "chaq_grip_a"),
    ]
    # The answer text is neither in the audit nor anywhere in the database bytes.
    raw = b"".join(p.read_bytes() for p in db_path.parent.glob("kiosk.db*"))
    assert b"ZQXMARKER" not in raw


def test_an_invalid_answer_is_refused_and_nothing_is_stored(
    service: SessionService, store: Store
) -> None:
    enrol(store, "DEMO-001", age=10)
    session = start(service, form_id="vas_pain")
    with pytest.raises(AnswerError, match="vas_pain"):
        session.answer("vas_pain", 101)
    with pytest.raises(SessionError, match="use skip"):
        session.answer("vas_pain", SKIPPED)
    with pytest.raises(SessionError, match="no 'not applicable'"):
        session.not_applicable("vas_pain")
    with pytest.raises(SessionError, match="no item 'vas_pian'"):
        session.answer("vas_pian", 3)
    assert session.value("vas_pain") is None
    assert stored_answers(store, session.response_id) == {}


def test_submit_is_refused_while_a_required_item_has_no_answer(
    service: SessionService, store: Store
) -> None:
    enrol(store, "DEMO-001", age=10)
    session = start(service, form_id="jamar", language="nl")
    session.answer("jamar_jafs_01", 1)
    missing = [line.item.link_id for line in session.review() if line.missing_required]
    assert "jamar_jafs_02" in missing
    assert "jamar_jafs_01" not in missing
    assert not session.can_submit()
    with pytest.raises(SessionError, match="required question"):
        session.submit(actor="nurse")
    with store.unit_of_work() as uow:
        assert uow.outbox.get(session.response_id) is None
    assert meta_of(store, session.response_id).status is ResponseStatus.IN_PROGRESS


def test_a_submitted_response_can_no_longer_change(service: SessionService, store: Store) -> None:
    enrol(store, "DEMO-001", age=10)
    session = start(service, form_id="vas_pain")
    session.answer("vas_pain", 20)
    session.submit(actor="nurse")
    with pytest.raises(SessionError, match="submitted"):
        session.answer("vas_pain", 30)
    with pytest.raises(SessionError, match="only a draft"):
        service.resume(session.response_id, actor="nurse")
    with pytest.raises(SessionError, match="already submitted"):
        start(service, form_id="vas_pain")


def test_progress_counts_answers_na_and_skips_over_enabled_items(
    service: SessionService, store: Store
) -> None:
    enrol(store, "DEMO-001", age=10)
    session = start(service)
    # chaq_devices_other is asked only when "other" is ticked (enable_when).
    assert session.progress() == (0, 34)
    session.answer("chaq_dress_a", 0)
    session.not_applicable("chaq_dress_b")
    session.skip("chaq_dress_c", confirmed=True)
    assert session.progress() == (3, 34)
    session.answer("chaq_devices", ["other"])
    assert session.progress() == (4, 35)


def test_a_session_without_study_key_cannot_submit_and_keeps_the_draft(
    forms: Mapping[str, Form], study: Study, tmp_path: Path
) -> None:
    bare = new_store(tmp_path / "bare.db")
    try:
        enrol(bare, "DEMO-001", age=10)
        service = SessionService(bare, forms, study, clock=Clock())
        session = start(service, form_id="vas_pain")
        session.answer("vas_pain", 20)
        with pytest.raises(SessionError, match="study public key"):
            session.submit(actor="nurse")
        assert [meta.id for meta in service.drafts()] == [session.response_id]
    finally:
        bare.close()


def test_acknowledge_purges_the_answer_ciphertext_but_keeps_metadata_and_hash(
    service: SessionService, store: Store, db_path: Path, clock: Clock
) -> None:
    enrol(store, "DEMO-001", age=10)
    response_id = submitted_pain(service, pain=20)
    before = stored_answers(store, response_id)
    service.acknowledge(response_id, receipt_id="r-1", at=clock())
    service.acknowledge(response_id, receipt_id="r-1", at=clock())  # repeat

    meta = meta_of(store, response_id)
    with store.unit_of_work() as uow:
        entry = uow.outbox.get(response_id)
    assert stored_answers(store, response_id) == {}
    assert before == {"vas_pain": 20}
    assert meta.status is ResponseStatus.ACKNOWLEDGED
    assert meta.purged
    assert meta.answers_sha256 is not None
    assert len(meta.answers_sha256) == 64
    assert entry is not None
    assert entry.receipt_id == "r-1"
    with sqlite3.connect(db_path) as raw:
        rows = raw.execute(
            "SELECT count(*) FROM answers WHERE response_id = ?", (response_id,)
        ).fetchone()
    assert rows == (0,)
    purges = [e for e in audit_of(store, response_id) if e.kind is AuditKind.PURGE]
    assert len(purges) == 1
    assert store.verify().ok


CLINICIAN_CORE: dict[str, AnswerValue] = {
    "phys_global": 4.5,
    "active_joints": 6,
    "active_joints_27": 5,
    "limited_joints": 3,
    "esr": 30,
    "jia_course": "poly",
}

CLINICIAN_CASES = [
    pytest.param({}, id="visit-bound items left empty"),
    pytest.param(
        {"infusion_given": True, "disqualifying_treatment": False}, id="visit-bound items given"
    ),
]


@pytest.mark.parametrize("extra", CLINICIAN_CASES)
def test_clinician_form_1_1_0_submits_with_or_without_the_repeat_infusion_items(
    service: SessionService,
    store: Store,
    study_key: StudyPrivateKey,
    forms: Mapping[str, Form],
    extra: dict[str, AnswerValue],
) -> None:
    """instruments.md §4.1: the new clinician version's infusion_given and
    disqualifying_treatment are optional (the form cannot see the visit), and are sealed with
    the form's version when given."""
    enrol(store, "DEMO-001", age=10)
    session = start(service, form_id="clinician", respondent="staff")
    for link_id, value in {**CLINICIAN_CORE, **extra}.items():
        session.answer(link_id, value)
    session.submit(actor="nurse")
    envelope, document = open_outbox(store, session.response_id, study_key)
    assert envelope.form_version == document["form_version"] == "1.1.0"
    assert envelope.form_sha256 == forms["clinician"].sha256
    assert document["answers"] == {**CLINICIAN_CORE, **extra}
    assert stored_answers(store, session.response_id) == {**CLINICIAN_CORE, **extra}
