"""Starting, navigating, timing out, resuming and stopping questionnaires (DESIGN §4–5)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from epro.crypto import StudyPrivateKey
from epro.errors import SessionError
from epro.session import SessionService
from epro.store import Store
from epro.store.domain import AuditKind, ResponseStatus
from tests.helpers.session_support import TODAY, Clock, audit_of, enrol, open_outbox, start

START_REFUSALS = [
    pytest.param({"patient": "DEMO-404"}, "no patient 'DEMO-404'", id="unknown-patient"),
    pytest.param({"form_id": "chaqq"}, "unknown form 'chaqq'", id="unknown-form"),
    pytest.param({"visit": "V9"}, "unknown visit 'V9'", id="unknown-visit"),
    pytest.param({"language": "fr"}, "no language 'fr'", id="unknown-language"),
    # study.toml: V0 is screening, clinician data only (instruments.md §1).
    pytest.param({"visit": "V0"}, "not part of visit V0", id="form-not-at-visit"),
    # instruments.md §2.1: from 8 years the child answers the CHAQ, not the parent.
    pytest.param({"respondent": "parent"}, "does not answer chaq", id="parent-at-10"),
    pytest.param(
        {"form_id": "clinician", "respondent": "child"},
        "does not answer clinician",
        id="child-on-staff-form",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), START_REFUSALS)
def test_start_refuses_what_the_protocol_does_not_allow(
    service: SessionService, store: Store, overrides: dict[str, str], message: str
) -> None:
    enrol(store, "DEMO-001", age=10)
    with pytest.raises(SessionError, match=message):
        start(service, **overrides)
    assert service.drafts() == []


def test_a_six_year_old_has_the_parent_answer_the_chaq(
    service: SessionService, store: Store
) -> None:
    # instruments.md §2.1: parent (proxy) below 8 years.
    enrol(store, "DEMO-001", age=6)
    with pytest.raises(SessionError, match="use: parent"):
        start(service)
    start(service, respondent="parent")


def test_out_of_window_needs_a_reason_which_flags_the_envelope(
    service: SessionService, store: Store, clock: Clock, study_key: StudyPrivateKey
) -> None:
    # instruments.md §1: V1 window is −7/+0 days, so the day after baseline is outside it.
    enrol(store, "DEMO-001", age=10, baseline=TODAY - timedelta(days=1))
    with pytest.raises(SessionError, match="outside the window of visit V1"):
        start(service, form_id="vas_pain")
    with pytest.raises(SessionError, match="reason"):
        start(service, form_id="vas_pain", out_of_window_reason="   ")
    session = start(service, form_id="vas_pain", out_of_window_reason="infusion postponed a day")
    session.answer("vas_pain", 10)
    session.submit(actor="nurse")
    envelope, document = open_outbox(store, session.response_id, study_key)
    assert envelope.out_of_window is True
    assert document["out_of_window_reason"] == "infusion postponed a day"
    first = audit_of(store, session.response_id)[0]
    assert first.kind is AuditKind.SESSION_START
    assert first.detail is not None
    assert "out of window" in first.detail


def test_a_reason_given_inside_the_window_is_not_recorded(
    service: SessionService, store: Store
) -> None:
    enrol(store, "DEMO-001", age=10)
    session = start(service, form_id="vas_pain", out_of_window_reason="not needed")
    assert service.drafts()[0].out_of_window_reason is None
    assert session.visit == "V1"


def test_timeout_keeps_a_draft_that_resumes_with_the_same_answers_and_position(
    service: SessionService, store: Store, clock: Clock
) -> None:
    enrol(store, "DEMO-001", age=10)
    session = start(service, form_id="jamar", respondent="parent")
    assert session.current.link_id == "jamar_jafs_01"
    session.answer("jamar_jafs_01", 2)
    session.next()
    session.answer("jamar_jafs_02", "na")
    session.next()
    session.next()  # no answer needed to move on
    session.answer("jamar_stiffness", True)
    assert session.current.link_id == "jamar_jafs_04"
    clock.advance(minutes=5)
    session.timeout()
    with pytest.raises(SessionError, match="timed out"):
        session.answer("jamar_jafs_04", 0)

    drafts = service.drafts("DEMO-001")
    assert [meta.id for meta in drafts] == [session.response_id]
    assert drafts[0].status is ResponseStatus.IN_PROGRESS
    resumed = service.resume(drafts[0].id, actor="nurse")
    assert resumed.current.link_id == "jamar_jafs_04"
    assert resumed.index == 3
    assert resumed.value("jamar_jafs_01") == 2
    assert resumed.value("jamar_jafs_02") == "na"
    assert resumed.value("jamar_stiffness") is True
    assert "jamar_stiffness_duration" in [item.link_id for item in resumed.items()]
    kinds = [e.kind for e in audit_of(store, resumed.response_id)]
    assert kinds[-2:] == [AuditKind.TIMEOUT, AuditKind.RESUME]


def test_back_next_and_go_to_move_over_enabled_items_only(
    service: SessionService, store: Store
) -> None:
    enrol(store, "DEMO-001", age=10)
    session = start(service, form_id="jamar")
    assert session.back() is None
    session.go_to("jamar_stiffness")
    moved = session.next()
    assert moved is not None
    assert moved.link_id == "jamar_activity"  # the duration item is not asked yet
    with pytest.raises(SessionError, match="not shown"):
        session.go_to("jamar_stiffness_duration")
    session.go_to("jamar_satisfied")
    assert session.next() is None
    assert session.current.link_id == "jamar_satisfied"
    back = session.back()
    assert back is not None
    assert back.link_id == "jamar_school_problems"


def test_a_second_draft_for_the_same_form_is_refused(service: SessionService, store: Store) -> None:
    enrol(store, "DEMO-001", age=10)
    start(service)
    with pytest.raises(SessionError, match="draft exists; resume it"):
        start(service)


def test_stop_ends_a_draft_for_good(service: SessionService, store: Store) -> None:
    enrol(store, "DEMO-001", age=10)
    session = start(service, form_id="vas_pain")
    response_id = session.response_id
    with pytest.raises(SessionError, match="needs a reason"):
        service.stop(response_id, actor="nurse", reason=" ")
    service.stop(response_id, actor="nurse", reason="patient left early")
    assert service.drafts() == []
    with pytest.raises(SessionError, match="stopped"):
        session.answer("vas_pain", 4)
    with pytest.raises(SessionError, match="only a draft can be resumed"):
        service.resume(response_id, actor="nurse")
    with pytest.raises(SessionError, match="no response"):
        service.resume("0000", actor="nurse")
    # A stopped response does not block a new start of the same form.
    start(service, form_id="vas_pain")


def test_a_draft_abandoned_without_timeout_resumes_where_the_last_answer_was_given(
    service: SessionService, store: Store
) -> None:
    # A crash leaves no timeout event: moves are saved with each answer, never lost answers.
    enrol(store, "DEMO-001", age=10)
    session = start(service, form_id="jamar", respondent="parent")
    session.go_to("jamar_pain")
    session.answer("jamar_pain", 4.5)
    session.next()  # moved on, then the kiosk died before the next answer
    resumed = service.resume(session.response_id, actor="nurse")
    assert resumed.current.link_id == "jamar_pain"
    assert resumed.value("jamar_pain") == 4.5
    assert resumed.progress() == (1, 36)


def test_responses_started_later_get_ids_that_sort_later(
    service: SessionService, store: Store, clock: Clock
) -> None:
    """Time-ordered ids keep a kiosk's rows together in the indexes (see new_response_id)."""
    ids = []
    for code in ("DEMO-001", "DEMO-002", "DEMO-003"):
        enrol(store, code, age=10)
        ids.append(start(service, patient=code, form_id="vas_pain").response_id)
        clock.advance(seconds=1)
    assert ids == sorted(ids)
    assert {uuid.UUID(rid).version for rid in ids} == {7}
