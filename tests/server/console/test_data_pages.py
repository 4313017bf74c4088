"""The console's data pages over real HTTP (SQLite and PostgreSQL): overview, completion grid
and its CSV, patient page, entered-in-error marks and the bundle download — each seen by a
coordinator of UMCU, who never sees anything of the other site (EMC).

Kiosks enrol, push their roster and upload over the kiosk API; the calendar is relative to
the server's today: DEMO-001's baseline was 28 days ago (V1 over, V2's target is today), and
its V1 CHAQ has arrived.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from epro.bundle import open_bundle
from epro_sync.console.testing import Console, csrf_of
from epro_sync.testing import ScriptedKiosk, make_enrol_code

HOSTILE_LABEL = '<b>clinic</b> "A"'


def _kiosk(console: Console, site: str, label: str) -> ScriptedKiosk:
    kiosk = ScriptedKiosk(console.browser())
    assert kiosk.enrol(make_enrol_code(console.settings, site), label).status_code == 200
    return kiosk


def _push(kiosk: ScriptedKiosk, code: str, baseline: str) -> None:
    patient = {
        "code": code,
        "site": kiosk.site,
        "birth_ym": "2015-07",
        "baseline_date": baseline,
        "language": "en",
    }
    reply = kiosk.client.post("/v1/roster", json={"patients": [patient]}, headers=kiosk.headers)
    assert reply.status_code == 200, reply.text


@pytest.fixture
def study(console: Console) -> dict[str, Any]:
    today = console.clock().date()
    baseline = today - timedelta(days=28)
    umcu = _kiosk(console, "UMCU", HOSTILE_LABEL)
    emc = _kiosk(console, "EMC", "emc-ward-kiosk")
    _push(umcu, "DEMO-001", baseline.isoformat())
    _push(emc, "EMC-001", baseline.isoformat())
    at = datetime.combine(baseline, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    chaq = umcu.envelope(patient="DEMO-001", visit="V1", form_id="chaq", submitted_at=at)
    other = emc.envelope(patient="EMC-001", visit="V1", form_id="chaq", submitted_at=at)
    assert umcu.upload(chaq).status_code == 200
    assert emc.upload(other).status_code == 200
    return {"today": today, "chaq": str(chaq.response_id), "other": str(other.response_id)}


def _coordinator(console: Console) -> httpx.Client:
    return console.ready("nurse@example.org", "coordinator", "UMCU")[1]


def _data_manager(console: Console, *sites: str) -> httpx.Client:
    return console.ready(f"dm{len(sites)}@example.org", "data-manager", *sites)[1]


def _accessible(page: str) -> None:
    """Plain checks every data page passes: language, labels, header scopes, no inline code."""
    assert '<html lang="en">' in page
    assert "<script" not in page
    assert " style=" not in page
    for control in re.findall(r"<(?:select|input|textarea)\b[^>]*>", page):
        if 'type="hidden"' in control:
            continue
        found = re.search(r'id="([^"]+)"', control)
        assert found, control
        assert f'<label for="{found.group(1)}"' in page, control
    for header in re.findall(r"<th\b[^>]*>", page):
        assert 'scope="' in header, header


def test_the_overview_shows_only_the_coordinator_s_site(
    console: Console, study: dict[str, Any]
) -> None:
    page = _coordinator(console).get("/console/overview")
    assert page.status_code == 200
    _accessible(page.text)
    assert '<th scope="row">UMCU</th>' in page.text
    assert "EMC" not in page.text
    assert "emc-ward-kiosk" not in page.text
    row = page.text.split('<th scope="row">UMCU</th>')[1].split("</tr>")[0]
    cells = re.findall(r"<td>(\d+)</td>", row)
    assert cells[:1] == ["1"]  # one patient
    # V1 of DEMO-001 is missed (only the CHAQ came); V2's target is today: due this week.
    links = re.findall(r">(\d+)<span class=\"visually-hidden\">", row)
    assert links == ["1", "0", "1"]


def test_the_grid_shows_symbol_and_word_and_keeps_its_filters_in_the_url(
    console: Console, study: dict[str, Any]
) -> None:
    browser = _coordinator(console)
    page = browser.get("/console/grid")
    assert page.status_code == 200
    _accessible(page.text)
    assert "DEMO-001" in page.text
    assert "EMC" not in page.text
    assert '<span aria-hidden="true">✔</span> received' in page.text
    assert '<span aria-hidden="true">✖</span> missed' in page.text
    assert '<span aria-hidden="true">○</span> due' in page.text
    filtered = browser.get("/console/grid", params={"visit": "V1", "status": "received"})
    assert filtered.status_code == 200
    assert filtered.text.count('<td class="st st-received">') == 1
    assert "st-missed" not in filtered.text.split("<table")[1]
    assert '<option value="V1" selected>' in filtered.text
    assert '<option value="received" selected>' in filtered.text
    assert 'href="/console/grid.csv?visit=V1&amp;status=received"' in filtered.text


def test_grid_filters_outside_the_choices_or_the_scope_are_refused_plainly(
    console: Console, study: dict[str, Any]
) -> None:
    browser = _coordinator(console)
    wrong = browser.get("/console/grid", params={"status": "lost"})
    assert wrong.status_code == 422
    assert "there is no status" in wrong.text
    assert "received" in wrong.text
    elsewhere = browser.get("/console/grid", params={"site": "EMC"})
    assert elsewhere.status_code == 404
    assert "EMC-001" not in elsewhere.text
    assert browser.get("/console/grid.csv", params={"site": "EMC"}).status_code == 404


def test_the_grid_csv_has_one_row_per_cell_with_the_same_filters(
    console: Console, study: dict[str, Any]
) -> None:
    browser = _coordinator(console)
    reply = browser.get("/console/grid.csv", params={"visit": "V1"})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    # A ten-year-old at V1: CHAQ, VAS pain and well-being by the child, JAMAR by both, and
    # the clinician form: six cells.
    assert len(rows) == 6
    assert {row["patient"] for row in rows} == {"DEMO-001"}
    assert {row["site"] for row in rows} == {"UMCU"}
    by_form = {(row["form_id"], row["respondent"]): row for row in rows}
    assert by_form[("chaq", "child")]["status"] == "received"
    assert by_form[("chaq", "child")]["responses"] == "1"
    assert by_form[("jamar", "parent")]["status"] == "missed"
    assert by_form[("chaq", "child")]["target"] == (study["today"] - timedelta(days=28)).isoformat()
    everything = browser.get("/console/grid.csv").text
    assert "EMC" not in everything


def test_the_patient_page_shows_the_calendar_and_what_arrived_from_which_kiosk(
    console: Console, study: dict[str, Any]
) -> None:
    browser = _coordinator(console)
    page = browser.get("/console/patients/DEMO-001")
    assert page.status_code == 200
    _accessible(page.text)
    today = study["today"]
    v2 = today.isoformat()
    assert f"<td>{v2}</td>" in page.text  # V2's target date
    window = (
        f"{(today - timedelta(days=3)).isoformat()} to {(today + timedelta(days=3)).isoformat()}"
    )
    assert window in page.text
    assert page.text.count('<th scope="row">V') == 9
    arrivals = page.text.split("What arrived")[1]
    assert "chaq 1.0.0" in arrivals
    # The kiosk label (markup and quotes) is shown as text.
    assert "&lt;b&gt;clinic&lt;/b&gt; &#34;A&#34;" in arrivals
    assert "<b>clinic</b>" not in page.text
    assert "Mark entered in error" not in page.text  # a coordinator cannot mark
    hidden = browser.get("/console/patients/EMC-001")
    assert hidden.status_code == 404
    missing = browser.get("/console/patients/NOBODY-1")
    assert missing.status_code == 404
    assert hidden.text.replace("EMC-001", "X") == missing.text.replace("NOBODY-1", "X")


def test_a_data_manager_marks_a_response_entered_in_error(
    console: Console, study: dict[str, Any]
) -> None:
    browser = _data_manager(console)
    patient = browser.get("/console/patients/DEMO-001")
    link = f"/console/responses/{study['chaq']}/entered-in-error"
    assert f'href="{link}"' in patient.text
    form = browser.get(link)
    assert form.status_code == 200
    _accessible(form.text)
    token = csrf_of(form)
    without = browser.post(link, data={"reason": "wrong patient"})
    assert without.status_code == 403
    done = browser.post(
        link, data={"csrf": token, "reason": "session opened for the wrong patient"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/console/patients/DEMO-001?done=marked"
    after = browser.get(done.headers["location"])
    assert "The response is marked entered in error." in after.text
    assert "session opened for the wrong patient" in after.text
    again = browser.post(link, data={"csrf": token, "reason": "again, differently"})
    assert again.status_code == 409
    assert "never changed or stacked" in again.text
    grid = browser.get("/console/grid", params={"site": "UMCU", "visit": "V1", "form": "chaq"})
    assert "(1 in error)" in grid.text
    assert "st-received" not in grid.text.split("<table")[1]
    with console.engine.connect() as conn:
        event = conn.execute(
            text("SELECT actor, site FROM audit WHERE event = 'entered_in_error'")
        ).one()
    assert tuple(event) == ("dm0@example.org", "UMCU")
    listed = browser.get("/console/data")
    assert "session opened for the wrong patient" in listed.text


def test_marking_is_refused_to_coordinators_and_outside_the_data_manager_s_sites(
    console: Console, study: dict[str, Any]
) -> None:
    coordinator = _coordinator(console)
    link = f"/console/responses/{study['chaq']}/entered-in-error"
    assert coordinator.get(link).status_code == 403
    token = csrf_of(coordinator.get("/console/grid"))
    assert coordinator.post(link, data={"csrf": token, "reason": "wrong one"}).status_code == 403
    local = _data_manager(console, "UMCU")
    other = f"/console/responses/{study['other']}/entered-in-error"
    assert local.get(other).status_code == 404
    token = csrf_of(local.get("/console/data"))
    assert local.post(other, data={"csrf": token, "reason": "wrong one"}).status_code == 404
    short = local.post(link, data={"csrf": token, "reason": "no"})
    assert short.status_code == 422
    with console.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM annotations")).scalar() == 0


def test_the_bundle_downloads_streamed_and_audited(
    console: Console, study: dict[str, Any], tmp_path: Path
) -> None:
    browser = _data_manager(console)
    page = browser.get("/console/data")
    assert page.status_code == 200
    _accessible(page.text)
    assert '<option value="*">every site' in page.text
    reply = browser.post("/console/bundle", data={"csrf": csrf_of(page), "site": "UMCU"})
    assert reply.status_code == 200
    assert reply.headers["content-disposition"].startswith('attachment; filename="epro-UMCU-')
    path = tmp_path / "download.bundle"
    path.write_bytes(reply.content)
    bundle = open_bundle(path)
    assert bundle.header.site == "UMCU"
    assert [r.response_id for r in bundle.responses()] == [study["chaq"]]
    with console.engine.connect() as conn:
        detail = conn.execute(
            text("SELECT detail FROM audit WHERE event = 'bundle' ORDER BY id DESC")
        ).scalar_one()
    audited = json.loads(detail)
    assert audited["actor"] == "dm0@example.org"
    assert audited["sha256"] == bundle.manifest.sha256


def test_a_data_manager_of_one_site_gets_only_that_site_s_bundle(
    console: Console, study: dict[str, Any]
) -> None:
    browser = _data_manager(console, "UMCU")
    page = browser.get("/console/data")
    assert '<option value="*">' not in page.text
    assert "EMC" not in page.text
    token = csrf_of(page)
    for site in ("EMC", "*"):
        reply = browser.post("/console/bundle", data={"csrf": token, "site": site})
        assert reply.status_code == 404, site
    assert _coordinator(console).get("/console/data").status_code == 403
