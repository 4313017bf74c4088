"""The whole demo under tmux: `epro demo` on a fresh data folder (what `make demo` runs), a
session answered and submitted at the kiosk, "Sync now", and the console, logged in over HTTP
the way a browser does, shows the response as received; the server stops with the kiosk.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from epro.store import ResponseStatus, open_store
from epro_sync.demo import (
    DEMO_ACCOUNTS,
    DEMO_CONSOLE_PASSWORD,
    DEMO_LABEL,
    DEMO_SITE,
    demo_totp_now,
)
from tests.e2e.test_kiosk_tmux import Terminal

pytestmark = [pytest.mark.e2e]

PASSPHRASE = "demo"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CONSOLE = re.compile(r"http://127\.0\.0\.1:(\d+)/console/")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Terminal, Path]]:
    """`epro demo` with nothing but a fresh home folder: the demo's default data folder."""
    import shutil

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    env = {
        "EPRO_KDF": "fast",
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
    }
    exports = " ".join(f"{key}='{value}'" for key, value in env.items())
    name = f"epro-demo-{uuid.uuid4().hex[:8]}"
    command = f"env -i {exports} {sys.executable} -m epro.cli demo"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "40", command], check=True
    )
    try:
        yield Terminal(name), tmp_path / ".local" / "share" / "epro" / "demo.db"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, check=False)


def log_in(url: str, email: str, *, code: str | None = None) -> httpx.Client:
    """Log in as a browser does: the form's CSRF token and cookie, then the second step."""
    client = httpx.Client(base_url=url, follow_redirects=True, timeout=30)
    try:
        _log_in(client, url, email, code)
    except BaseException:
        client.close()
        raise
    return client


def _log_in(client: httpx.Client, url: str, email: str, code: str | None) -> None:
    form = client.get("/console/login")
    token = CSRF.search(form.text)
    assert token, form.text
    reply = client.post(
        "/console/login",
        data={"csrf": token.group(1), "email": email, "password": DEMO_CONSOLE_PASSWORD},
    )
    if code is not None:
        assert "/console/login/totp" in str(reply.url), reply.text
        token = CSRF.search(reply.text)
        assert token, reply.text
        reply = client.post("/console/login/totp", data={"csrf": token.group(1), "code": code})
    assert reply.status_code == 200, reply.text
    assert str(reply.url) == f"{url}/console/", reply.text


def test_make_demo_syncs_a_new_response_to_the_console_it_starts(
    demo: tuple[Terminal, Path],
) -> None:
    term, db = demo
    shown = term.wait_for("This kiosk is locked", timeout=90)
    found = CONSOLE.search(shown)
    assert found, f"the lock screen names no console:\n{shown}"
    url = f"http://127.0.0.1:{found.group(1)}"
    # The box's lines, borders taken off, joined: what a person reads on the lock screen.
    said = " ".join(line.strip(" │╭╮╰╯─") for line in shown.splitlines())
    assert "coordinator@, datamanager@ or admin@demo.example" in said, shown
    assert {a.email for a in DEMO_ACCOUNTS} == {
        "coordinator@demo.example",
        "datamanager@demo.example",
        "admin@demo.example",
    }
    assert f"'{DEMO_CONSOLE_PASSWORD}'" in said

    term.text(PASSPHRASE)
    term.keys("Enter")
    term.wait_for("Staff PIN")
    term.text("nurse")
    term.keys("Enter")
    term.text("1234")
    term.keys("Enter")
    term.wait_for("Nurse station")
    term.wait_for("Last successful sync: never")  # the demo history is not sent yet
    term.keys("s")  # DEMO-001, visit V2: untick chaq and jamar, keep vas_pain
    term.wait_for("Nederlands")
    term.keys("Space", "Down", "Space", "Down", "Down", "Space")
    term.keys("Tab", "Tab", "Tab", "Enter")
    term.wait_for("Question 1 of 1")
    term.keys("Right", "Right", "Right", "Right", "Right", "Right", "Enter")
    term.wait_for("▼")
    term.keys("Tab", "Enter")
    term.wait_for("Please check your answers")
    term.keys("Tab", "Enter")  # the list has the focus; one Tab reaches Submit
    term.wait_for("Thank you")
    term.keys("Enter")
    term.wait_for("give the kiosk back")
    term.keys("Enter")
    term.wait_for("This kiosk is locked")
    term.keys("Enter")  # Unlock: back to the station for "Sync now"
    term.wait_for("Staff PIN")
    term.text("nurse")
    term.keys("Enter")
    term.text("1234")
    term.keys("Enter")
    term.wait_for("Nurse station")
    term.keys("y")
    term.wait_for("Waiting to send: 0", timeout=60)

    # The coordinator (password only) and the data manager (with the demo's authenticator).
    with closing(log_in(url, "coordinator@demo.example")) as coordinator:
        kiosks = coordinator.get("/console/kiosks")
        patient = coordinator.get("/console/patients/DEMO-001")
    assert kiosks.status_code == 200
    assert DEMO_LABEL in kiosks.text
    assert patient.status_code == 200
    arrived = re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", patient.text, re.S)
    new_rows = [row for row in arrived if "<td>V2</td>" in row and "vas_pain" in row]
    assert len(new_rows) == 1, patient.text  # the response answered above, as received
    assert DEMO_LABEL in new_rows[0]
    with closing(log_in(url, "datamanager@demo.example", code=demo_totp_now())) as manager:
        page = manager.get("/console/kiosks")
    row = re.search(rf"<bdi>{DEMO_LABEL}</bdi>.*?</tr>", page.text, re.S)
    assert row, page.text
    cells = re.findall(r"<td>(.*?)</td>", row.group(0), re.S)
    assert cells[0].strip() == DEMO_SITE

    term.keys("C-q")  # the nurse closes the kiosk from the station (not from a patient screen)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/healthz", timeout=1)
        except httpx.HTTPError:
            break
        time.sleep(0.3)
    else:
        raise AssertionError("the demo server kept running after the kiosk closed")

    with open_store(db, passphrase=PASSPHRASE) as store, store.unit_of_work() as uow:
        received = uow.responses.list(statuses=[ResponseStatus.ACKNOWLEDGED])
        new = [m for m in received if m.patient == "DEMO-001" and m.form_id == "vas_pain"]
        assert [m.visit for m in new if m.visit == "V2"] == ["V2"]
    # The console counts every response the kiosk sent, the new one included.
    assert f"<td>{len(received)}</td>" in row.group(0)

    # The demo's bundle, as the terminal says to make it, opens with the demo study key.
    server_db = db.with_name(db.name + ".server.sqlite3")
    env = os.environ | {
        "EPRO_SYNC_DATABASE_URL": f"sqlite:///{server_db}",
        "EPRO_STUDY_KEY_PASSPHRASE": PASSPHRASE,
    }
    bundle = db.parent / "demo.bundle"
    run = [sys.executable, "-c", "import sys; from {0} import main; sys.exit(main(sys.argv[1:]))"]
    made = subprocess.run(
        [*run[:2], run[2].format("epro_sync.cli"), "bundle", "--out", str(bundle)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    out = db.parent / "demo-export"
    key = db.with_name(db.name + ".study-key.json")
    export = [run[2].format("epro.cli"), "export", str(bundle), "--study-key", str(key)]
    done = subprocess.run(
        [*run[:2], *export, "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"exported {len(received)} of {len(received)} responses" in done.stdout
    long_rows = (out / "long.csv").read_text(encoding="utf-8")
    assert "DEMO-001" in long_rows
