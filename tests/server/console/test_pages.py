"""The kiosks, enrolment-code and audit pages over real HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from epro_sync.console.testing import Console, csrf_of
from epro_sync.testing import ScriptedKiosk, make_enrol_code


def _kiosk(console: Console, site: str = "UMCU", label: str = "outpatient clinic") -> ScriptedKiosk:
    kiosk = ScriptedKiosk(console.browser())
    assert kiosk.enrol(make_enrol_code(console.settings, site), label).status_code == 200
    return kiosk


def test_kiosks_page_shows_uploads_and_a_flagged_audit_head(console: Console) -> None:
    kiosk = _kiosk(console)
    assert kiosk.upload(kiosk.envelope()).status_code == 200
    head = {"seq": 5, "hash": "a" * 64, "at": datetime.now(UTC).isoformat()}
    assert kiosk.client.post("/v1/audit-head", json=head, headers=kiosk.headers).status_code == 200
    _coordinator, browser = console.ready("nurse@example.org", "coordinator", "UMCU")
    page = browser.get("/console/kiosks")
    assert "outpatient clinic" in page.text
    assert "continuous, event 5" in page.text
    row = page.text.split("outpatient clinic", 1)[1]
    assert re.search(r"<td>1</td>", row)  # one response
    rewound = {"seq": 3, "hash": "b" * 64, "at": datetime.now(UTC).isoformat()}
    assert (
        kiosk.client.post("/v1/audit-head", json=rewound, headers=kiosk.headers).status_code == 409
    )
    page = browser.get("/console/kiosks")
    assert "⚠ </span>rollback or fork flagged" in page.text
    assert "Revoke" not in page.text  # coordinators do not revoke


def test_admin_revokes_and_reinstates_with_a_reason_in_the_audit(console: Console) -> None:
    kiosk = _kiosk(console)
    _admin, browser = console.ready("admin@example.org", "admin")
    token = csrf_of(browser.get("/console/kiosks"))
    path = f"/console/kiosks/{kiosk.device_id}"
    empty = browser.post(f"{path}/revoke", data={"csrf": token, "reason": "  "})
    assert empty.status_code == 422
    assert "the reason is missing" in empty.text
    assert (
        browser.post(f"{path}/revoke", data={"csrf": token, "reason": "stolen"}).status_code == 303
    )
    assert kiosk.upload(kiosk.envelope()).status_code == 403
    assert "revoked" in browser.get("/console/kiosks").text
    assert (
        browser.post(f"{path}/reinstate", data={"csrf": token, "reason": "found"}).status_code
        == 303
    )
    assert kiosk.upload(kiosk.envelope()).status_code == 200
    audit = browser.get("/console/audit", params={"kind": "console_revoke"})
    assert "stolen" in audit.text
    assert "admin@example.org" in audit.text
    assert "found" not in audit.text  # the filter keeps only revocations


def test_a_code_made_in_the_console_is_shown_once_and_enrols_a_kiosk(console: Console) -> None:
    _dm, browser = console.ready("dm@example.org", "data-manager")
    token = csrf_of(browser.get("/console/codes"))
    made = browser.post("/console/codes", data={"csrf": token, "site": "UMCU"})
    assert made.status_code == 200
    code = re.search(r'id="new-code">([A-Z0-9-]+)<', made.text)
    assert code
    listing = browser.get("/console/codes")
    assert code.group(1) not in listing.text
    assert "open" in listing.text
    kiosk = ScriptedKiosk(console.browser())
    assert kiosk.enrol(code.group(1), "ward").status_code == 200
    assert "used" in browser.get("/console/codes").text


def test_an_expired_code_no_longer_enrols(console: Console) -> None:
    _dm, browser = console.ready("dm@example.org", "data-manager")
    token = csrf_of(browser.get("/console/codes"))
    made = browser.post("/console/codes", data={"csrf": token, "site": "UMCU"})
    code = re.search(r'id="new-code">([A-Z0-9-]+)<', made.text)
    assert code
    handle = re.search(r'action="/console/codes/([0-9a-f]{64})/expire"', made.text)
    assert handle
    assert (
        browser.post(f"/console/codes/{handle.group(1)}/expire", data={"csrf": token}).status_code
        == 303
    )
    kiosk = ScriptedKiosk(console.browser())
    refused = kiosk.enrol(code.group(1), "ward")
    assert refused.status_code == 403
    assert "expired" in refused.json()["detail"]


def test_audit_filters_stay_in_the_url_and_the_csv_follows_them(console: Console) -> None:
    _kiosk(console, "UMCU")
    _kiosk(console, "WKZ")
    _admin, browser = console.ready("admin@example.org", "admin")
    page = browser.get("/console/audit", params={"kind": "enrol", "site": "WKZ"})
    assert page.status_code == 200
    assert 'href="/console/audit.csv?kind=enrol&amp;site=WKZ"' in page.text
    download = browser.get("/console/audit.csv", params={"kind": "enrol", "site": "WKZ"})
    assert download.headers["content-type"].startswith("text/csv")
    lines = download.text.strip().splitlines()
    assert lines[0] == "id,at,event,actor,device_id,site,detail"
    assert len(lines) == 2
    assert ",enrol,," in lines[1]
    assert ",WKZ," in lines[1]
    bad = browser.get("/console/audit", params={"from": "yesterday"})
    assert bad.status_code == 422
    assert "use YYYY-MM-DD" in bad.text


def test_a_coordinator_sees_only_their_sites_events_in_the_audit(console: Console) -> None:
    _kiosk(console, "UMCU", "own ward")
    _kiosk(console, "WKZ", "other ward")
    console.ready("admin@example.org", "admin")  # server-wide events: the admin's logins
    _nurse, browser = console.ready("nurse@example.org", "coordinator", "UMCU")
    page = browser.get("/console/audit")
    assert "own ward" in page.text
    assert "other ward" not in page.text
    assert "admin@example.org" not in page.text
    assert "console_login" not in page.text  # logins belong to no site
    sneaky = browser.get("/console/audit.csv", params={"site": "WKZ"})
    assert sneaky.text.strip().splitlines() == ["id,at,event,actor,device_id,site,detail"]
