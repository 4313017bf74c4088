"""What a data manager and an admin do in the console, in real headless Chromium, twice: once
by mouse and once by keyboard alone (Tab to reach, Enter or Space to act, typing only where
text is asked). Every page on the way is screenshotted and checked by axe.

The study is seeded as a real one is (see browser_seed): accounts from `epro-sync user add`,
activated with their one-time codes; kiosks enrolled with enrolment codes, uploading what
their nurses' sessions submitted.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from epro.crypto import FAST_KDF, StudyPrivateKey
from tests.browser.browser_seed import Account, Study, kiosk_sync
from tests.browser.browser_tools import CheckedPage
from tests.browser.console_driver import DRIVERS, Driver

SITE_A, SITE_B = "SITE-A", "SITE-B"
#: One kiosk per journey to revoke and one patient to mark, so the two journeys do not see
#: each other's changes.
TO_REVOKE = {"mouse": "Ward kiosk", "keyboard": "Day-care kiosk"}
TO_MARK = {"mouse": "DEMO-101", "keyboard": "DEMO-103"}
KEY_PASSPHRASE = "study key passphrase"


@pytest.fixture(scope="module")
def seeded(study: Study) -> Study:
    study.add_kiosk("Ward kiosk", SITE_A, ["DEMO-101", "DEMO-102"])
    study.add_kiosk("Day-care kiosk", SITE_A, ["DEMO-103"])
    study.add_kiosk("Outpatient kiosk", SITE_B, ["DEMO-201"])
    return study


def log_in(drive: Driver, study: Study, account: Account) -> None:
    page, checked = drive.page, drive.checked
    page.goto(f"{study.url}/console/")
    assert page.url.startswith(f"{study.url}/console/login"), "a visitor is asked to log in"
    checked.check("login")
    drive.write("#email", account.email)
    drive.write("#password", account.password)
    drive.go("form[action='/console/login'] button[type=submit]")
    assert "/console/login/totp" in page.url, page.inner_text("main")
    checked.check("authenticator code")
    drive.write("#code", study.totp_now(account))
    drive.go("form[action='/console/login/totp'] button[type=submit]")
    assert page.url == f"{study.url}/console/"
    study.fresh_totp_step()
    checked.check("home")
    assert account.email in page.inner_text("header")


def open_nav(drive: Driver, label: str, path: str) -> None:
    drive.go(f"header nav a[href='{path}']")
    assert drive.page.url.endswith(path)
    drive.checked.check(label)


def revoke(drive: Driver, label: str, reason: str) -> None:
    row = f"tbody tr:has(bdi:text-is('{label}'))"
    assert drive.page.locator(row).count() == 1, f"{label} is not listed once"
    drive.write(f"{row} input[name=reason]", reason)
    drive.go(f"{row} button[type=submit]")
    drive.checked.check("kiosk revoked")
    state = drive.page.inner_text(f"{row} td:nth-of-type(2)")
    assert "revoked" in state, state


def log_out(drive: Driver, study: Study) -> None:
    drive.go("header form[action='/console/logout'] button")
    assert drive.page.url.endswith("/console/logout")
    drive.checked.check("logged out")
    assert "You are logged out" in drive.page.inner_text("main")
    drive.page.goto(f"{study.url}/console/kiosks")
    assert "/console/login" in drive.page.url, "the session is over after logging out"
    drive.checked.check("after logout")


def export_bundle(bundle: Path, key: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """The data manager's offline step: the real `epro export` on the downloaded bundle."""
    code = "import sys; from epro.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["export", str(bundle), "--study-key", str(key), "--out", str(out)]
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=os.environ | {"EPRO_STUDY_KEY_PASSPHRASE": KEY_PASSPHRASE},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def study_private_key_file(
    study_key: tuple[StudyPrivateKey, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("offline") / "study-private-key.json"
    path.write_text(study_key[0].to_encrypted_json(KEY_PASSPHRASE, FAST_KDF), encoding="utf-8")
    return path


@pytest.mark.parametrize("how", ["mouse", "keyboard"])
def test_a_data_manager_reads_the_grid_marks_a_response_and_downloads_the_bundle(
    seeded: Study,
    checked_page: CheckedPage,
    study_private_key_file: Path,
    tmp_path: Path,
    how: str,
) -> None:
    manager = seeded.add_account(f"dm-{how}@example.org", "data-manager")
    drive = DRIVERS[how](checked_page)
    page = drive.page
    log_in(drive, seeded, manager)

    # The grid of every site, then filtered to one site and one form: the filters stay in the
    # URL, so the filtered grid can be bookmarked and shared.
    open_nav(drive, "completion grid", "/console/grid")
    everyone = page.inner_text("table.grid")
    for code in ("DEMO-101", "DEMO-102", "DEMO-103", "DEMO-201"):
        assert code in everyone
    assert "received" in everyone  # the status in words, beside its symbol
    drive.choose("#f-site", SITE_A)
    drive.choose("#f-form", "vas_pain")
    drive.go("form.filters button[type=submit]")
    drive.checked.check("grid filtered")
    assert "site=SITE-A" in page.url
    assert "form=vas_pain" in page.url
    filtered = page.inner_text("table.grid")
    assert "DEMO-101" in filtered
    assert "DEMO-201" not in filtered
    headers = page.inner_text("table.grid thead")
    assert "VAS-P" in headers, headers
    assert "VAS-W" not in headers, headers

    # The patient's page: calendar and what arrived from which kiosk.
    patient = TO_MARK[how]
    drive.go(f"table.grid a[href='/console/patients/{patient}'] >> nth=0")
    drive.checked.check("patient")
    assert page.url.endswith(f"/console/patients/{patient}")
    arrivals = page.inner_text("table.arrivals")
    kiosk = next(k for k in seeded.kiosks if patient in k.patients)
    assert kiosk.label in arrivals

    # Mark the first response entered in error, with a reason.
    drive.go("table.arrivals a[href$='/entered-in-error'] >> nth=0")
    drive.checked.check("mark entered in error")
    response_id = page.url.split("/responses/")[1].split("/")[0]
    reason = f"session opened for the wrong patient ({how})"
    drive.write("#reason", reason)
    drive.go("form[action$='/entered-in-error'] button[type=submit]")
    drive.checked.check("marked")
    assert "entered in error" in page.inner_text("main")

    # The data page lists the mark; the bundle downloads and opens offline.
    open_nav(drive, "data", "/console/data")
    assert reason in page.inner_text("main")
    with page.expect_download() as download:
        drive.press("form[action='/console/bundle'] button[type=submit]")
    bundle = tmp_path / "study.bundle"
    download.value.save_as(bundle)
    assert download.value.failure() is None
    done = export_bundle(bundle, study_private_key_file, tmp_path / "export")
    assert done.returncode == 0, done.stdout + done.stderr
    with (tmp_path / "export" / "long.csv").open(encoding="utf-8", newline="") as rows:
        standing = {row["response_id"]: row["status"] for row in csv.DictReader(rows)}
    seeded.marked.append(response_id)
    marked = {r for r, status in standing.items() if status == "entered_in_error"}
    assert response_id in marked
    assert marked <= set(seeded.marked), "only the marked responses are entered in error"
    sent = {r for k in seeded.kiosks for r in k.response_ids}
    assert set(standing) == sent, "every response the kiosks sent is in the export"

    log_out(drive, seeded)


@pytest.mark.parametrize("how", ["mouse", "keyboard"])
def test_an_admin_logs_in_with_totp_revokes_a_kiosk_and_logs_out(
    seeded: Study, checked_page: CheckedPage, how: str
) -> None:
    admin = seeded.add_account(f"admin-{how}@example.org", "admin")
    drive = DRIVERS[how](checked_page)
    log_in(drive, seeded, admin)

    open_nav(drive, "kiosks", "/console/kiosks")
    shown = drive.page.inner_text("main")
    for kiosk in seeded.kiosks:
        assert kiosk.label in shown
    revoke(drive, TO_REVOKE[how], f"lost on the ward ({how})")
    # The click took effect: the revoked kiosk's next sync is refused, and it knows why.
    revoked = next(k for k in seeded.kiosks if k.label == TO_REVOKE[how])
    report, knows = kiosk_sync(revoked)
    assert report.error is not None
    assert knows

    open_nav(drive, "enrolment codes", "/console/codes")
    drive.write("#site", SITE_B)
    drive.go("form[action='/console/codes'] button[type=submit]")
    drive.checked.check("code made")
    code = drive.page.inner_text("#new-code").strip()
    assert len(code) >= 8, code
    open_row = "tbody tr:has(form[action$='/expire'])"
    assert drive.page.locator(open_row).count() == 1, "the new code is the one open code"
    drive.go(f"{open_row} button[type=submit]")
    drive.checked.check("code expired")
    assert drive.page.locator(open_row).count() == 0
    assert code not in drive.page.inner_text("main"), "a code is shown once, when made"
    open_nav(drive, "audit log", "/console/audit")
    assert "revoke" in drive.page.inner_text("main").lower()

    log_out(drive, seeded)


@pytest.mark.parametrize("how", ["mouse", "keyboard"])
def test_a_first_login_sets_the_password_and_the_authenticator_in_the_browser(
    seeded: Study, checked_page: CheckedPage, how: str
) -> None:
    account, one_time_code = seeded.new_account(f"new-dm-{how}@example.org", "data-manager")
    drive = DRIVERS[how](checked_page)
    page = drive.page
    page.goto(f"{seeded.url}/console/login")
    drive.checked.check("login")
    drive.go("main a[href='/console/activate']")
    drive.checked.check("activate")
    drive.write("#email", account.email)
    drive.write("#code", one_time_code)
    drive.write("#password", account.password)
    drive.write("#password2", account.password)
    drive.go("form[action='/console/activate'] button[type=submit]")
    drive.checked.check("authenticator set-up")
    account.secret = page.inner_text("#totp-secret").replace(" ", "")
    drive.write("#code", seeded.totp_now(account))
    drive.go("form[action='/console/activate/totp'] button[type=submit]")
    seeded.fresh_totp_step()
    drive.checked.check("logged in")
    assert page.url == f"{seeded.url}/console/"
    assert account.email in page.inner_text("header")

    open_nav(drive, "overview", "/console/overview")
    overview = page.inner_text("main")
    assert SITE_A in overview
    assert SITE_B in overview
    page.goto(f"{seeded.url}/console/patients/NO-SUCH-PATIENT")
    drive.checked.check("unknown patient")
    assert "Log out" in page.inner_text("header")  # a page of the console, not a bare error
    log_out(drive, seeded)


def test_a_coordinator_sees_only_their_own_site(seeded: Study, checked_page: CheckedPage) -> None:
    coordinator = seeded.add_account("coordinator-b@example.org", "coordinator", SITE_B)
    drive = DRIVERS["mouse"](checked_page)
    page = drive.page
    page.goto(f"{seeded.url}/console/login")
    drive.checked.check("login")
    drive.write("#email", coordinator.email)
    drive.write("#password", coordinator.password)
    drive.go("form[action='/console/login'] button[type=submit]")
    drive.checked.check("home")  # no second step for a coordinator
    assert page.url == f"{seeded.url}/console/"
    open_nav(drive, "completion grid", "/console/grid")
    grid = page.inner_text("table.grid")
    assert "DEMO-201" in grid
    assert "DEMO-101" not in grid
    open_nav(drive, "kiosks", "/console/kiosks")
    kiosks = page.inner_text("main")
    assert "Outpatient kiosk" in kiosks
    assert "Ward kiosk" not in kiosks
    reply = page.goto(f"{seeded.url}/console/patients/DEMO-101")
    assert reply is not None
    assert reply.status == 404  # another site's patient does not exist for them
    drive.checked.check("another site's patient")
    shown = page.inner_text("main")
    assert "does not exist or is not at one of your sites" in shown  # as for no patient at all
    assert "Visit calendar" not in shown
    log_out(drive, seeded)
