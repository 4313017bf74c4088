"""What a data manager and an admin do in the console, in real headless Chromium, twice: once
by mouse and once by keyboard alone (Tab to reach, Enter or Space to act, typing only where
text is asked). Every page on the way is screenshotted and checked by axe.

The study is seeded as a real one is (see browser_seed): accounts from `epro-sync user add`,
activated with their one-time codes; kiosks enrolled with enrolment codes, uploading what
their nurses' sessions submitted.
"""

from __future__ import annotations

import pytest
from browser_seed import Account, Study
from browser_tools import CheckedPage
from console_driver import DRIVERS, Driver

SITE_A, SITE_B = "SITE-A", "SITE-B"
#: One kiosk per journey to revoke, so the two journeys do not see each other's changes.
TO_REVOKE = {"mouse": "Ward kiosk", "keyboard": "Day-care kiosk"}


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

    open_nav(drive, "enrolment codes", "/console/codes")
    open_nav(drive, "audit log", "/console/audit")
    assert "revoke" in drive.page.inner_text("main").lower()

    log_out(drive, seeded)
