"""Console login over real HTTP: one-time code, password, TOTP for staff roles, cookies,
idle timeout and logout (SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from epro_sync.config import ServerSettings
from epro_sync.console.testing import Console, console_server, csrf_of, fast


def _events(console: Console, kind: str) -> list[str]:
    with console.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT actor FROM audit WHERE event = :e ORDER BY id"), {"e": kind}
        )
        return [row[0] for row in rows]


def test_a_coordinator_activates_with_the_code_and_logs_in_with_a_password(
    console: Console,
) -> None:
    account = console.add("nurse@example.org", "coordinator", "UMCU")
    console.activate(account)
    client = console.login(account)
    home = client.get("/console/")
    assert "nurse@example.org" in home.text
    assert "coordinator" in home.text
    assert _events(console, "console_login") == ["nurse@example.org", "nurse@example.org"]


def test_the_one_time_code_works_once(console: Console) -> None:
    account = console.add("nurse@example.org", "coordinator", "UMCU")
    console.activate(account)
    client = console.browser()
    form = client.get("/console/activate")
    again = client.post(
        "/console/activate",
        data={
            "csrf": csrf_of(form),
            "email": account.email,
            "code": account.code,
            "password": "another long password",
            "password2": "another long password",
        },
    )
    assert again.status_code == 401
    assert "one-time code is wrong" in again.text
    assert _events(console, "console_activate_failed") == ["nurse@example.org"]


def test_a_data_manager_needs_the_totp_code_after_the_password(console: Console) -> None:
    account = console.add("dm@example.org", "data-manager")
    console.activate(account)
    client = console.browser()
    reply = console.password_step(client, account)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/console/login/totp"
    # The password alone opens nothing.
    for path in ("/console/", "/console/kiosks", "/console/audit"):
        assert client.get(path).status_code == 303, path
    page = client.get("/console/login/totp")
    wrong = client.post("/console/login/totp", data={"csrf": csrf_of(page), "code": "000000"})
    assert wrong.status_code == 401
    assert client.get("/console/").status_code == 303
    good = client.post(
        "/console/login/totp", data={"csrf": csrf_of(page), "code": console.totp_now(account)}
    )
    assert good.status_code == 303
    assert client.get("/console/kiosks").status_code == 200
    assert "dm@example.org" in _events(console, "console_login_failed")


def test_a_totp_code_is_good_once(console: Console) -> None:
    account = console.add("admin@example.org", "admin")
    console.activate(account)
    first, second = console.browser(), console.browser()
    console.password_step(first, account)
    console.password_step(second, account)
    code = console.totp_now(account)
    page = first.get("/console/login/totp")
    assert (
        first.post("/console/login/totp", data={"csrf": csrf_of(page), "code": code}).status_code
        == 303
    )
    page = second.get("/console/login/totp")
    replay = second.post("/console/login/totp", data={"csrf": csrf_of(page), "code": code})
    assert replay.status_code == 401
    assert second.get("/console/").status_code == 303


def test_session_cookie_is_httponly_and_samesite_strict(console: Console) -> None:
    account = console.add("nurse@example.org", "coordinator", "UMCU")
    console.activate(account)
    client = console.browser()
    reply = console.password_step(client, account)
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith("epro_console=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback


def test_idle_session_ends(console: Console) -> None:
    account = console.add("nurse@example.org", "coordinator", "UMCU")
    client = console.activate(account)
    assert client.get("/console/kiosks").status_code == 200
    console.clock.advance(minutes=console.settings.console_idle_minutes - 1)
    assert client.get("/console/kiosks").status_code == 200  # in use: kept alive
    console.clock.advance(minutes=console.settings.console_idle_minutes + 1)
    gone = client.get("/console/kiosks")
    assert gone.status_code == 303
    assert gone.headers["location"] == "/console/login?next=/console/kiosks"


def test_logout_ends_the_session_on_the_server(console: Console) -> None:
    account = console.add("nurse@example.org", "coordinator", "UMCU")
    client = console.activate(account)
    stolen = client.cookies["epro_console"]
    page = client.get("/console/")
    out = client.post("/console/logout", data={"csrf": csrf_of(page)})
    assert out.status_code == 200
    assert "logged out" in out.text
    replayed = httpx.get(f"{console.url}/console/", cookies={"epro_console": stolen})
    assert replayed.status_code == 303
    assert _events(console, "console_logout") == ["nurse@example.org"]


def test_a_disabled_account_cannot_log_in_and_its_sessions_end(console: Console) -> None:
    from sqlmodel import Session

    from epro_sync.console import accounts

    account = console.add("nurse@example.org", "coordinator", "UMCU")
    client = console.activate(account)
    with Session(console.engine) as db:
        accounts.disable(db, account.email, console.clock())
        db.commit()
    assert client.get("/console/").status_code == 303
    assert console.password_step(console.browser(), account).status_code == 401


def _cookie_value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


def test_behind_tls_the_cookie_is_secure_and_host_only(settings: ServerSettings) -> None:
    # Secure cookies are not sent back over the plain-HTTP loopback, so this test sends them
    # itself, as a browser does over HTTPS.
    with console_server(fast(settings, console_cookie_secure=True)) as console:
        account = console.add("nurse@example.org", "coordinator", "UMCU")
        client = console.browser()
        form = client.get("/console/activate")
        pre = form.headers["set-cookie"]
        assert pre.startswith("__Host-epro_console_pre=")
        assert "Secure" in pre
        reply = client.post(
            "/console/activate",
            data={
                "csrf": csrf_of(form),
                "email": account.email,
                "code": account.code,
                "password": account.password,
                "password2": account.password,
            },
            headers={"Cookie": f"__Host-epro_console_pre={_cookie_value(pre)}"},
        )
        assert reply.status_code == 303, reply.text
        cookie = reply.headers["set-cookie"]
        assert cookie.startswith("__Host-epro_console=")
        assert "Secure" in cookie
        assert "Path=/" in cookie
        assert "Domain" not in cookie
        home = httpx.get(
            f"{console.url}/console/",
            headers={"Cookie": f"__Host-epro_console={_cookie_value(cookie)}"},
        )
        assert home.status_code == 200


def test_after_the_login_only_console_paths_are_followed(console: Console) -> None:
    account = console.add("nurse@example.org", "coordinator", "UMCU")
    console.activate(account)
    for target, expected in [
        ("/console/kiosks", "/console/kiosks"),
        ("//evil.example/console/", "/console/"),
        ("https://evil.example/", "/console/"),
        ("/console//evil.example", "/console/"),
    ]:
        client = console.browser()
        form = client.get("/console/login", params={"next": target})
        reply = client.post(
            "/console/login",
            data={
                "csrf": csrf_of(form),
                "email": account.email,
                "password": account.password,
                "next": target,
            },
        )
        assert reply.headers["location"] == expected, target


def test_a_reset_clears_the_authenticator_and_a_new_one_is_enrolled(console: Console) -> None:
    from sqlmodel import Session

    from epro_sync.console import accounts

    account = console.add("dm@example.org", "data-manager")
    client = console.activate(account)
    old_secret = account.secret
    with Session(console.engine) as db:
        _user, account.code = accounts.reset(db, account.email, console.clock(), reset_hours=1)
        db.commit()
    assert client.get("/console/").status_code == 303  # the session ended with the reset
    assert console.password_step(console.browser(), account).status_code == 401
    console.activate(account)
    assert account.secret != old_secret
    console.login(account)
    console.clock.advance(hours=2)
    late = console.add("late@example.org", "coordinator", "UMCU")
    console.clock.advance(hours=73)
    browser = console.browser()
    form = browser.get("/console/activate")
    expired = browser.post(
        "/console/activate",
        data={
            "csrf": csrf_of(form),
            "email": late.email,
            "code": late.code,
            "password": late.password,
            "password2": late.password,
        },
    )
    assert expired.status_code == 401


def test_a_short_or_mistyped_new_password_is_refused_and_keeps_the_code(console: Console) -> None:
    account = console.add("nurse@example.org", "coordinator", "UMCU")
    client = console.browser()
    form = client.get("/console/activate")
    for password, again, message in [
        ("short", "short", "shorter than 12 characters"),
        ("a long enough password", "a long enough passw0rd", "the two passwords differ"),
    ]:
        reply = client.post(
            "/console/activate",
            data={
                "csrf": csrf_of(form),
                "email": account.email,
                "code": account.code,
                "password": password,
                "password2": again,
            },
        )
        assert reply.status_code == 422
        assert message in reply.text
    console.activate(account)  # the code still works
