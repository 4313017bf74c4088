"""Roster and completion: the server is the source of truth across a site's kiosks (DESIGN §7)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session

from epro_sync.annotations import mark_entered_in_error
from epro_sync.testing import ScriptedKiosk


def _patient(code: str = "DEMO-001", site: str = "UMCU", **changes: Any) -> dict[str, Any]:
    patient = {
        "code": code,
        "site": site,
        "birth_ym": "2015-07",
        "baseline_date": "2026-03-02",
        "language": "nl",
    }
    return patient | changes


def _push(kiosk: ScriptedKiosk, *patients: dict[str, Any]) -> Any:
    return kiosk.post_json("/v1/roster", {"patients": patients})


def test_pushed_patients_are_pulled_by_another_kiosk_of_the_site(
    new_kiosk: Callable[..., ScriptedKiosk],
) -> None:
    pushing, pulling, elsewhere = new_kiosk("UMCU"), new_kiosk("UMCU"), new_kiosk("EMC")
    reply = _push(pushing, _patient("DEMO-002"), _patient("DEMO-001"))
    assert reply.status_code == 200
    assert [p["status"] for p in reply.json()["patients"]] == ["created", "created"]
    roster = pulling.get("/v1/roster").json()
    assert roster["site"] == "UMCU"
    assert roster["patients"] == [_patient("DEMO-001"), _patient("DEMO-002")]
    other = elsewhere.get("/v1/roster").json()
    assert other == {"site": "EMC", "patients": [], "next_after": None}


def test_pushing_the_same_patient_again_changes_nothing(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine
) -> None:
    kiosk = new_kiosk()
    _push(kiosk, _patient())
    again = _push(kiosk, _patient())
    assert again.json()["patients"] == [{"code": "DEMO-001", "status": "unchanged"}]
    language = _push(kiosk, _patient(language="en"))
    assert language.json()["patients"] == [{"code": "DEMO-001", "status": "updated"}]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM patients")).scalar() == 1


def test_conflicting_birth_month_is_a_409_and_nothing_is_stored(
    new_kiosk: Callable[..., ScriptedKiosk],
) -> None:
    first, second = new_kiosk(), new_kiosk()
    _push(first, _patient())
    reply = _push(second, _patient("DEMO-003"), _patient(birth_ym="2014-07"))
    assert reply.status_code == 409
    assert "DEMO-001" in reply.json()["detail"]
    assert "different birth month or baseline date" in reply.json()["detail"]
    roster = second.get("/v1/roster").json()
    assert roster["patients"] == [_patient()]


def test_patient_of_another_site_is_refused(new_kiosk: Callable[..., ScriptedKiosk]) -> None:
    kiosk = new_kiosk("UMCU")
    reply = _push(kiosk, _patient(site="EMC"))
    assert reply.status_code == 403
    assert "enrolled at site UMCU" in reply.json()["detail"]


def test_impossible_birth_month_names_the_field(new_kiosk: Callable[..., ScriptedKiosk]) -> None:
    kiosk = new_kiosk()
    reply = _push(kiosk, _patient(birth_ym="2015-13"))
    assert reply.status_code == 422
    assert reply.json()["detail"].startswith("patients.0.birth_ym: month must be 01–12")


def test_completion_counts_each_cell_of_the_site_across_kiosks(
    new_kiosk: Callable[..., ScriptedKiosk],
) -> None:
    a, b, elsewhere = new_kiosk("UMCU"), new_kiosk("UMCU"), new_kiosk("EMC")
    early = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    a.upload(a.envelope(patient="DEMO-001", visit="V1", form_id="chaq", submitted_at=early))
    # the same cell again, from the other kiosk and later: one entry, two responses
    b.upload(
        b.envelope(
            patient="DEMO-001", visit="V1", form_id="chaq", submitted_at=early + timedelta(hours=2)
        )
    )
    b.upload(b.envelope(patient="DEMO-002", visit="V2", form_id="jamar", respondent="parent"))
    elsewhere.upload(elsewhere.envelope(patient="DEMO-050"))
    completion = a.get("/v1/completion").json()
    assert completion["site"] == "UMCU"
    assert completion["entries"] == [
        {
            "patient": "DEMO-001",
            "visit": "V1",
            "form_id": "chaq",
            "respondent": "child",
            "responses": 2,
            "last_submitted_at": "2026-03-02T11:30:00Z",
        },
        {
            "patient": "DEMO-002",
            "visit": "V2",
            "form_id": "jamar",
            "respondent": "parent",
            "responses": 1,
            "last_submitted_at": "2026-03-02T09:30:00Z",
        },
    ]


def test_completion_leaves_out_responses_marked_entered_in_error(
    new_kiosk: Callable[..., ScriptedKiosk], engine: Engine
) -> None:
    """The kiosks' site grid and the console's grid agree: a response a data manager marked
    entered in error no longer counts, and a cell whose only response is marked is missing
    again (the visit is still to be done)."""
    kiosk, elsewhere = new_kiosk("UMCU"), new_kiosk("EMC")
    early = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    kept = kiosk.envelope(patient="DEMO-001", visit="V1", form_id="chaq", submitted_at=early)
    wrong_later = kiosk.envelope(
        patient="DEMO-001", visit="V1", form_id="chaq", submitted_at=early + timedelta(hours=2)
    )
    wrong_only = kiosk.envelope(patient="DEMO-002", visit="V2", form_id="jamar")
    other_site = elsewhere.envelope(patient="DEMO-050", submitted_at=early)
    assert kiosk.upload(kept, wrong_later, wrong_only).status_code == 200
    assert elsewhere.upload(other_site).status_code == 200
    before = kiosk.get("/v1/completion").json()["entries"]
    assert [(e["patient"], e["responses"]) for e in before] == [("DEMO-001", 2), ("DEMO-002", 1)]

    now = datetime.now(UTC)
    with Session(engine) as session:
        for envelope in (wrong_later, wrong_only, other_site):
            mark_entered_in_error(
                session,
                str(envelope.response_id),
                "session opened for the wrong patient",
                actor="dm@example.org",
                sites=None,
                now=now,
            )
        session.commit()

    after = kiosk.get("/v1/completion").json()["entries"]
    assert after == [
        {
            "patient": "DEMO-001",
            "visit": "V1",
            "form_id": "chaq",
            "respondent": "child",
            "responses": 1,
            "last_submitted_at": "2026-03-02T09:30:00Z",
        }
    ]
    # The other site's only response was marked too: its grid is empty, not an error.
    assert elsewhere.get("/v1/completion").json() == {
        "site": "EMC",
        "entries": [],
    }
