"""Attacks on the web console, against a real server on 127.0.0.1 (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from epro_sync.config import ServerSettings
from epro_sync.console.access import EVERYONE, RULES, Rule, app_routes
from epro_sync.console.headers import CSP
from epro_sync.console.testing import Account, Console, console_server, csrf_of, fast
from epro_sync.testing import ScriptedKiosk, make_enrol_code

OTHER = "OTHERSITE"
OTHER_LABEL = "other-kiosk-label"
HOSTILE = "<script>alert('x')</script>\" onmouseover=\"alert(1)\u202egpj.exe"


@pytest.fixture
def console(server_settings: ServerSettings) -> Iterator[Console]:
    with console_server(fast(server_settings)) as running:
        yield running


def _kiosk(console: Console, site: str, label: str) -> ScriptedKiosk:
    client = console.browser()
    kiosk = ScriptedKiosk(client)
    assert kiosk.enrol(make_enrol_code(console.settings, site), label).status_code == 200
    return kiosk


def _hostile_kiosk(console: Console, site: str) -> str:
    """A kiosk row whose label holds markup, quotes and a bidi override (stored before labels
    were checked at enrolment, or written by someone with database access)."""
    device_id = str(uuid.uuid4())
    with console.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO devices (device_id, site, label, public_key, token_sha256,"
                " enrolled_at) VALUES (:d, :s, :l, :k, :t, :now)"
            ),
            {
                "d": device_id,
                "s": site,
                "l": HOSTILE,
                "k": base64.b64encode(os.urandom(32)).decode(),
                "t": os.urandom(32).hex(),
                "now": datetime.now(UTC),
            },
        )
    return device_id


def test_markup_quotes_and_bidi_in_a_kiosk_label_and_study_code_are_shown_inert(
    console: Console,
) -> None:
    """What: a kiosk label and a study code carrying ``<script>``, quote-breaking attributes and
    a right-to-left override, shown to an admin. How: such rows are written straight into the
    database, then the kiosks page, the audit page (filtered by that text) and the audit CSV
    are fetched. Expected: no tag or attribute comes through, the override character never
    reaches the page (it is shown as the text ``\\u202e``), the CSV cell cannot be a formula."""
    _hostile_kiosk(console, "UMCU")
    with console.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit (at, event, site, detail, actor) VALUES (:now, 'roster_change',"
                " 'UMCU', :detail, :actor)"
            ),
            {"now": datetime.now(UTC), "detail": f'{{"patient": "{HOSTILE}"}}', "actor": "=1+1"},
        )
    _account, admin = console.ready("admin@example.org", "admin")
    pages = [
        admin.get("/console/kiosks"),
        admin.get("/console/audit"),
        admin.get("/console/audit", params={"actor": HOSTILE, "kind": HOSTILE}),
    ]
    for page in pages:
        assert page.status_code == 200, page.url
        assert "<script>" not in page.text
        assert 'onmouseover="' not in page.text
        assert "\u202e" not in page.text
    assert "&lt;script&gt;" in pages[0].text
    assert "\\u202egpj.exe" in pages[0].text
    download = admin.get("/console/audit.csv")
    assert "\u202e" not in download.text
    assert "'=1+1" in download.text
    assert ",=1+1" not in download.text


def test_a_form_post_without_its_csrf_token_is_refused(console: Console) -> None:
    """What: cross-site request forgery of a console action. How: a logged-in admin's browser
    posts "revoke this kiosk" without the form token, with another session's token, and from
    a foreign Origin with the right token. Expected: 403 each time, the kiosk still active, and
    each refusal in the server audit."""
    kiosk = _kiosk(console, "UMCU", "clinic")
    _admin, browser = console.ready("admin@example.org", "admin")
    _other, other_browser = console.ready("admin2@example.org", "admin")
    own_token = csrf_of(browser.get("/console/kiosks"))
    foreign_token = csrf_of(other_browser.get("/console/kiosks"))
    path = f"/console/kiosks/{kiosk.device_id}/revoke"
    attempts = [
        browser.post(path, data={"reason": "forged"}),
        browser.post(path, data={"reason": "forged", "csrf": foreign_token}),
        browser.post(
            path,
            data={"reason": "forged", "csrf": own_token},
            headers={"Origin": "https://evil.example"},
        ),
    ]
    for attempt in attempts:
        assert attempt.status_code == 403
        assert "did not come from this console" in attempt.text
    assert kiosk.client.get("/v1/roster", headers=kiosk.headers).status_code == 200
    with console.engine.connect() as conn:
        refused = conn.execute(
            text("SELECT COUNT(*) FROM audit WHERE event = 'console_csrf_refused'")
        ).scalar()
    assert refused == 3
    # The same form with its token works: the refusal was the token, not the form.
    done = browser.post(path, data={"reason": "lost", "csrf": own_token})
    assert done.status_code == 303
    assert kiosk.client.get("/v1/roster", headers=kiosk.headers).status_code == 403


def test_the_login_form_needs_its_token_too(console: Console) -> None:
    """What: login CSRF (logging a victim into the attacker's account). How: post the login
    form with the right password but without the pre-login token. Expected: 403, no session."""
    account = console.add("nurse@example.org", "coordinator", "UMCU")
    console.activate(account)
    client = console.browser()
    reply = client.post(
        "/console/login", data={"email": account.email, "password": account.password}
    )
    assert reply.status_code == 403
    assert "epro_console" not in client.cookies


def test_session_fixation_fails(console: Console) -> None:
    """What: session fixation. How: the attacker gets a session id of their own (the pending
    TOTP step of their login) and plants it, and a made-up id, in the victim's browser; the
    victim logs in. Expected: the victim ends up with a new id; neither planted id opens any
    page, and the attacker's id does not become the victim's session."""
    attacker = console.add("attacker@example.org", "admin")
    console.activate(attacker)
    attacker_browser = console.browser()
    console.password_step(attacker_browser, attacker)
    planted = attacker_browser.cookies["epro_console"]
    victim = console.add("victim@example.org", "data-manager")
    console.activate(victim)
    for fixed in (planted, "made-up-session-id"):
        browser = console.browser()
        browser.cookies.set("epro_console", fixed, domain="127.0.0.1", path="/")
        console.login(victim, browser)
        assert browser.cookies["epro_console"] != fixed
        stale = httpx.get(f"{console.url}/console/", cookies={"epro_console": fixed})
        assert stale.status_code == 303
    # Nor can the attacker's half-finished login be completed into the victim's account.
    page = attacker_browser.get("/console/login/totp")
    assert page.status_code in {200, 303}


def test_lockout_after_repeated_wrong_passwords(console: Console) -> None:
    """What: guessing a console password. How: wrong passwords, one after another, for one
    account. Expected: after ``console_lockout_failures`` the right password is refused too
    (429, saying when to try again), the lockout is in the server audit, and the account
    opens again once the lockout has passed."""
    account = console.add("nurse@example.org", "coordinator", "UMCU")
    console.activate(account)
    limit = console.settings.console_lockout_failures
    for _ in range(limit - 1):
        assert (
            console.password_step(console.browser(), account, "wrong password!!").status_code == 401
        )
    last = console.password_step(console.browser(), account, "wrong password!!")
    assert last.status_code == 429
    assert "locked" in last.text
    refused = console.password_step(console.browser(), account)
    assert refused.status_code == 429
    with console.engine.connect() as conn:
        locks = (
            conn.execute(text("SELECT actor FROM audit WHERE event = 'console_lockout'"))
            .scalars()
            .all()
        )
        failures = conn.execute(
            text("SELECT COUNT(*) FROM audit WHERE event = 'console_login_failed'")
        ).scalar()
    assert locks == ["nurse@example.org"]
    assert failures == limit + 1
    console.clock.advance(minutes=16)
    assert console.password_step(console.browser(), account).status_code == 303


def test_guessing_across_many_accounts_locks_the_address(console: Console) -> None:
    """What: spraying one password over many accounts (no single account reaches its limit).
    How: failed logins for different, mostly unknown, addresses from one client address.
    Expected: after four times the account limit, that address is refused (429) even with
    a right password, and the refusals are audited."""
    account = console.add("nurse@example.org", "coordinator", "UMCU")
    console.activate(account)
    sprayed = console.settings.console_lockout_failures * 4
    for number in range(sprayed):
        guess = console.add(f"guess{number}@example.org", "coordinator", "UMCU")
        assert console.password_step(console.browser(), guess, "Spring2026!!!").status_code == 401
    refused = console.password_step(console.browser(), account)
    assert refused.status_code == 429
    assert "from this address" in refused.text
    with console.engine.connect() as conn:
        outcomes = (
            conn.execute(
                text("SELECT detail FROM audit WHERE event = 'console_login_failed' ORDER BY id")
            )
            .scalars()
            .all()
        )
    assert len(outcomes) == sprayed + 1
    assert "address locked" in outcomes[-1]


def test_wrong_totp_codes_lock_the_account(console: Console) -> None:
    """What: guessing the TOTP code after a stolen password. How: wrong codes at the second
    step. Expected: the account locks like for passwords; the pending session ends."""
    account = console.add("dm@example.org", "data-manager")
    console.activate(account)
    browser = console.browser()
    console.password_step(browser, account)
    statuses = []
    for _ in range(console.settings.console_lockout_failures):
        page = browser.get("/console/login/totp")
        if page.status_code != 200:
            break
        statuses.append(
            browser.post(
                "/console/login/totp", data={"csrf": csrf_of(page), "code": "123456"}
            ).status_code
        )
    assert statuses[-1] == 429
    fresh = console.browser()
    assert console.password_step(fresh, account).status_code == 429


def test_totp_is_required_for_data_managers_and_admins(console: Console) -> None:
    """What: logging in as a data manager or admin with the password alone. How: the password
    step, then every console page and action with the session it gave. Expected: every page
    sends back to the login; the TOTP step is the only way on."""
    for role in ("data-manager", "admin"):
        account = console.add(f"{role}@example.org", role)
        console.activate(account)
        browser = console.browser()
        assert console.password_step(browser, account).status_code == 303
        for method, path in sorted(RULES):
            rule = RULES[(method, path)]
            if rule.kind != "console" or "{" in path:
                continue
            reply = browser.request(method, path, data={"csrf": "x"} if method == "POST" else None)
            assert reply.status_code in {303, 401}, (method, path, reply.status_code)


def test_security_headers_on_console_pages_docs_and_api(console: Console) -> None:
    """What: script injection, framing and sniffing through the console, ``/docs`` and the API.
    How: fetch a console page, the login, the docs, a JSON route. Expected: the strict CSP and
    the other security headers on all; ``/docs`` loads nothing from elsewhere and has no script;
    console pages and docs are not cached."""
    _account, admin = console.ready("admin@example.org", "admin")
    anonymous = console.browser()
    replies = {
        "kiosks": admin.get("/console/kiosks"),
        "login": anonymous.get("/console/login"),
        "docs": anonymous.get("/docs"),
        "healthz": anonymous.get("/healthz"),
        "css": anonymous.get("/console/static/console.css"),
    }
    for name, reply in replies.items():
        assert reply.status_code == 200, name
        assert reply.headers["content-security-policy"] == CSP, name
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["x-frame-options"] == "DENY"
        assert reply.headers["referrer-policy"] == "same-origin"
    assert CSP.startswith("default-src 'none';")  # so no script of any origin runs
    assert "script-src" not in CSP
    assert "'unsafe-inline'" not in CSP
    for name in ("kiosks", "login", "docs"):
        assert replies[name].headers["cache-control"] == "no-store"
        assert "<script" not in replies[name].text
        assert " style=" not in replies[name].text
    docs = replies["docs"].text
    assert not re.search(r'(src|href)="(https?:)?//', docs)
    assert "/v1/responses:batch" in docs
    assert anonymous.get("/redoc").status_code == 404


# ------------------------------------------------------- every route × every role × site


@dataclass
class World:
    """Two sites' kiosks and codes, and one logged-in browser per role (coordinator of UMCU)."""

    console: Console
    own_device: str
    other_device: str
    other_code: str
    browsers: dict[str, httpx.Client]
    tokens: dict[str, str]
    other_patient: str = "OTHER-001"
    other_response: str = ""


#: How to call each console route: (path, form fields), aimed at the OTHER site's rows where a
#: route names one. A new console route needs an entry here, or the enumeration test fails.
CALLS: dict[tuple[str, str], Callable[[World], tuple[str, dict[str, str]]]] = {
    ("GET", "/console/"): lambda w: ("/console/", {}),
    ("GET", "/console/kiosks"): lambda w: ("/console/kiosks", {}),
    ("POST", "/console/kiosks/{device_id}/revoke"): lambda w: (
        f"/console/kiosks/{w.other_device}/revoke",
        {"reason": "enumeration"},
    ),
    ("POST", "/console/kiosks/{device_id}/reinstate"): lambda w: (
        f"/console/kiosks/{w.other_device}/reinstate",
        {"reason": "enumeration"},
    ),
    ("GET", "/console/codes"): lambda w: ("/console/codes", {}),
    ("POST", "/console/codes"): lambda w: ("/console/codes", {"site": OTHER}),
    ("POST", "/console/codes/{handle}/expire"): lambda w: (
        f"/console/codes/{w.other_code}/expire",
        {},
    ),
    ("GET", "/console/audit"): lambda w: ("/console/audit", {}),
    ("GET", "/console/audit.csv"): lambda w: ("/console/audit.csv", {}),
    ("GET", "/console/overview"): lambda w: ("/console/overview", {}),
    ("GET", "/console/grid"): lambda w: ("/console/grid", {}),
    ("GET", "/console/grid.csv"): lambda w: ("/console/grid.csv", {}),
    ("GET", "/console/patients/{code}"): lambda w: (f"/console/patients/{w.other_patient}", {}),
    ("GET", "/console/data"): lambda w: ("/console/data", {}),
    ("POST", "/console/bundle"): lambda w: ("/console/bundle", {"site": OTHER}),
    ("GET", "/console/responses/{response_id}/entered-in-error"): lambda w: (
        f"/console/responses/{w.other_response}/entered-in-error",
        {},
    ),
    ("POST", "/console/responses/{response_id}/entered-in-error"): lambda w: (
        f"/console/responses/{w.other_response}/entered-in-error",
        {"reason": "enumeration of every route"},
    ),
    ("POST", "/console/logout"): lambda w: ("/console/logout", {}),
}


@pytest.fixture
def world(console: Console) -> World:
    own = _kiosk(console, "UMCU", "own-kiosk")
    other = _kiosk(console, OTHER, OTHER_LABEL)
    patient = {
        "code": "OTHER-001",
        "site": OTHER,
        "birth_ym": "2015-07",
        "baseline_date": datetime.now(UTC).date().isoformat(),
        "language": "en",
    }
    pushed = other.client.post("/v1/roster", json={"patients": [patient]}, headers=other.headers)
    assert pushed.status_code == 200, pushed.text
    envelope = other.envelope(patient="OTHER-001")
    assert other.upload(envelope).status_code == 200
    make_enrol_code(console.settings, OTHER)
    with console.engine.connect() as conn:
        handle = conn.execute(
            text("SELECT code_sha256 FROM enrol_codes WHERE site = :s AND used_at IS NULL"),
            {"s": OTHER},
        ).scalar_one()
    browsers: dict[str, httpx.Client] = {}
    accounts: dict[str, Account] = {}
    for role in ("coordinator", "data-manager", "admin"):
        sites = ("UMCU",) if role == "coordinator" else ()
        accounts[role], browsers[role] = console.ready(f"{role}@example.org", role, *sites)
    tokens = {role: csrf_of(browser.get("/console/")) for role, browser in browsers.items()}
    return World(
        console,
        own.device_id,
        other.device_id,
        handle,
        browsers,
        tokens,
        other_response=str(envelope.response_id),
    )


def _call(
    world: World, browser: httpx.Client, method: str, path: str, token: str | None
) -> httpx.Response:
    url, data = CALLS[(method, path)](world)
    if method == "GET":
        return browser.get(url)
    return browser.post(url, data={**data, **({"csrf": token} if token else {})})


def test_every_route_has_an_access_rule_and_a_call_in_this_test(console: Console) -> None:
    """What: a route added without an access rule. How: the app's routes, flattened, are
    compared with the declared rules, and the console's with this test's calls. Expected:
    the same sets, so a new route fails here until its rule and its check are written."""
    routes = app_routes(console.live.app)
    assert routes == set(RULES), (routes - set(RULES), set(RULES) - routes)
    console_routes = {key for key, rule in RULES.items() if rule.kind == "console"}
    assert console_routes == set(CALLS), (console_routes - set(CALLS), set(CALLS) - console_routes)


def test_a_route_added_without_a_rule_is_noticed(server_settings: ServerSettings) -> None:
    """What: the enumeration's own check. How: a route is added to an app without declaring
    it. Expected: the app's route list no longer equals the declared rules."""
    from epro_sync.app import create_app

    app = create_app(server_settings)
    assert app_routes(app) == set(RULES)

    @app.get("/console/undeclared")
    def undeclared() -> dict[str, str]:
        return {"secret": "everyone sees this"}

    assert app_routes(app) - set(RULES) == {("GET", "/console/undeclared")}


def _expect_allowed(reply: httpx.Response, method: str, label: str) -> None:
    if method == "GET":
        assert reply.status_code == 200, label
    else:
        assert reply.status_code in {200, 303}, (label, reply.status_code, reply.text[:200])


def test_every_route_for_every_role_and_another_site(world: World) -> None:
    """What: reaching what a role or site may not, route by route. How: every route of the
    app, from the enumeration, is called anonymously and by a coordinator of UMCU, a data
    manager and an admin, aimed at rows of another site where a route names one. Expected:
    anonymous console calls go to the login (GET) or get 401 (POST); a role not in a route's
    rule gets 403; the coordinator gets 404 for the other site's rows and never sees that
    site's name or kiosk on any page; the kiosk API refuses a console session (401); allowed
    calls work."""
    console = world.console
    anonymous = console.browser()
    ordered = sorted(CALLS, key=lambda key: key == ("POST", "/console/logout"))
    for method, path in ordered:
        rule: Rule = RULES[(method, path)]
        label = f"{method} {path}"
        reply = _call(world, anonymous, method, path, None)
        if method == "GET":
            assert reply.status_code == 303, label
            assert reply.headers["location"].startswith("/console/login?next="), label
        else:
            assert reply.status_code == 401, label
        for role in ("coordinator", "data-manager", "admin"):
            browser, token = world.browsers[role], world.tokens[role]
            reply = _call(world, browser, method, path, token)
            who = f"{label} as {role}"
            if role not in rule.roles:
                assert reply.status_code == 403, who
                continue
            if role == "coordinator":
                assert OTHER not in reply.text, who
                assert OTHER_LABEL not in reply.text, who
                if "{" in path:
                    assert reply.status_code == 404, who
                    continue
            _expect_allowed(reply, method, who)
    # The kiosk API and the public routes, with a logged-in console session (the admin above
    # has logged out by now).
    _account, browser = console.ready("second-admin@example.org", "admin")
    assert browser.get("/console/").status_code == 200
    for (method, path), rule in sorted(RULES.items()):
        if rule.kind == "kiosk":
            reply = browser.request(method, path)
            assert reply.status_code == 401, (method, path)
        elif rule.kind == "public" and method == "GET" and "{" not in path:
            target = path + "/console.css" if path == "/console/static" else path
            assert browser.get(target).status_code == 200, path
        elif rule.kind == "login":
            # The login steps: reachable by anyone, and no form of theirs works without its
            # token, whoever posts it.
            for client in (anonymous, browser):
                if method == "GET":
                    assert client.get(path).status_code in {200, 303}, path
                else:
                    refused = client.post(path, data={"email": "admin@example.org"})
                    assert refused.status_code == 403, path
    assert RULES[("GET", "/console/")].roles <= EVERYONE


def test_the_other_site_rows_are_untouched_by_the_coordinator(world: World) -> None:
    """What: a coordinator acting on another site's kiosk and code. How: revoke and expire
    posted with a valid session and token. Expected: 404, and the kiosk can still sync."""
    browser, token = world.browsers["coordinator"], world.tokens["coordinator"]
    # Coordinators may not revoke at all (admin only): 403 before any site check.
    reply = browser.post(
        f"/console/kiosks/{world.other_device}/revoke", data={"csrf": token, "reason": "x"}
    )
    assert reply.status_code == 403
    with world.console.engine.connect() as conn:
        revoked = conn.execute(
            text("SELECT revoked_at FROM devices WHERE device_id = :d"), {"d": world.other_device}
        ).scalar()
    assert revoked is None
