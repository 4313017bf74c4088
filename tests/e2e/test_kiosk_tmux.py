"""End to end in a real terminal: `epro demo --offline` under tmux, driven by keystrokes.

A nurse unlocks, gives the PIN, starts a VAS pain questionnaire for a demo patient; the
respondent places the marker, confirms, reviews and submits; then the store must hold it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from epro.store import ResponseStatus, open_store

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

PASSPHRASE = "demo passphrase e2e"
NURSE, PIN = "nurse", "1234"


class Terminal:
    """One detached tmux session of a fixed size running one command."""

    def __init__(self, name: str) -> None:
        self.name = name

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", *args], capture_output=True, text=True, check=True)
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", self.name, key)
            time.sleep(0.3)  # a person's pace: each key lands after the screen has caught up

    def text(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.name, "-l", text)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                time.sleep(0.5)  # the screen is drawn; let it take the focus before typing
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the terminal shows:\n{self.screen()}")


def demo_command(db: Path) -> str:
    """``epro demo --offline --db DB``; until ``demo`` is in the CLI, the same entry point."""
    from epro.cli import build_parser

    if "demo" in build_parser().format_help():
        return f"{sys.executable} -m epro.cli demo --offline --db {db}"
    code = (
        "from pathlib import Path; from epro.kiosk.app import run_demo_kiosk; "
        f"run_demo_kiosk(Path({str(db)!r}))"
    )
    return f'{sys.executable} -c "{code}"'


def open_terminal(tmp_path: Path, columns: int, rows: int) -> tuple[Terminal, Path]:
    db = tmp_path / "demo.db"
    name = f"epro-e2e-{uuid.uuid4().hex[:8]}"
    env = {
        "EPRO_KDF": "fast",
        "EPRO_PASSPHRASE": PASSPHRASE,
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
    }
    exports = " ".join(f"{key}='{value}'" for key, value in env.items())
    command = f"env -i {exports} {demo_command(db)}"
    size = ["-x", str(columns), "-y", str(rows)]
    subprocess.run(["tmux", "new-session", "-d", "-s", name, *size, command], check=True)
    subprocess.run(["tmux", "resize-window", "-t", name, *size], check=False)
    return Terminal(name), db


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[tuple[Terminal, Path]]:
    term, db = open_terminal(tmp_path, 100, 32)
    try:
        yield term, db
    finally:
        subprocess.run(["tmux", "kill-session", "-t", term.name], capture_output=True, check=False)


@pytest.fixture
def small_terminal(tmp_path: Path) -> Iterator[tuple[Terminal, Path]]:
    """The kiosk's minimum, 80×24."""
    term, db = open_terminal(tmp_path, 80, 24)
    try:
        yield term, db
    finally:
        subprocess.run(["tmux", "kill-session", "-t", term.name], capture_output=True, check=False)


def test_a_vas_pain_session_typed_in_a_real_terminal_is_stored(
    terminal: tuple[Terminal, Path],
) -> None:
    term, db = terminal
    term.wait_for("This kiosk is locked")
    assert "DEMO-" not in term.screen()  # the attract screen shows no identifiers
    term.text(PASSPHRASE)
    term.keys("Enter")
    term.wait_for("Staff PIN")
    term.text(NURSE)
    term.keys("Enter")
    term.text(PIN)
    term.keys("Enter")
    term.wait_for("Nurse station")
    term.wait_for("DEMO-001")
    shown = term.wait_for("offline kiosk")  # the demo is not enrolled with a study server
    assert "VAS-W" in shown  # every completion column fits
    assert "parent" in shown  # the respondent in words under the form
    term.keys("g")  # the completion grid of all patients and visits, then back
    shown = term.wait_for("Completion of all patients and visits")
    assert "V8" in shown
    term.keys("Escape")
    term.wait_for("Patients with an open visit today")
    term.keys("s")  # DEMO-001 is the first row
    term.wait_for("Nederlands")
    # Forms list has the focus, all ticked: untick chaq and jamar, keep vas_pain only.
    term.keys("Space", "Down", "Space", "Down", "Down", "Space")
    term.keys("Tab", "Tab", "Tab", "Enter")  # past the language choice and Cancel to Start
    shown = term.wait_for("Question 1 of 1")
    assert "▼" not in shown  # no marker before the respondent acts
    term.keys("Right", "Right", "Right", "Right", "Right", "Right", "Enter")
    term.wait_for("▼")
    term.keys("Tab", "Enter")  # Next is the first stop after the answer on every question
    term.wait_for("Please check your answers")
    term.wait_for("55 / 100")
    term.keys("Tab", "Enter")  # the list has the focus; one Tab reaches Submit
    term.wait_for("Thank you")
    term.keys("Enter")
    term.wait_for("give the kiosk back")
    term.keys("Enter")
    term.wait_for("This kiosk is locked")
    term.keys("C-q")  # on the lock screen it closes nothing
    time.sleep(0.5)
    assert "This kiosk is locked" in term.screen()

    with open_store(db, passphrase=PASSPHRASE) as store, store.unit_of_work() as uow:
        submitted = [
            meta
            for meta in uow.responses.list(patient="DEMO-001", statuses=[ResponseStatus.SUBMITTED])
            if meta.form_id == "vas_pain" and meta.visit == "V2"
        ]
        assert len(submitted) == 1
        assert uow.answers.load(submitted[0]) == {"vas_pain": 55}
        assert uow.outbox.get(submitted[0].id) is not None


@pytest.mark.parametrize("started", ["by a shell ignoring hang-ups", "by make"])
def test_the_kiosk_closes_when_its_terminal_goes_away(tmp_path: Path, started: str) -> None:
    """Whoever started it, the kiosk must exit when its terminal closes, not keep reading a
    closed terminal at full speed. Under ``make demo`` no SIGHUP reaches it at all (the
    kernel signals make, the session leader), so it has to notice by itself."""
    name = f"epro-e2e-{uuid.uuid4().hex[:8]}"
    exports = " ".join(
        f"{key}='{value}'"
        for key, value in {
            "EPRO_KDF": "fast",
            "EPRO_PASSPHRASE": PASSPHRASE,
            "TERM": "xterm-256color",
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
        }.items()
    )
    db = tmp_path / "demo.db"
    kiosk = f"env -i {exports} {demo_command(db)}"
    if started == "by make":
        (tmp_path / "Makefile").write_text(f"demo:\n\t@{kiosk}\n", encoding="utf-8")
        command = f"make -C {tmp_path} demo"
    else:  # exec: the pane's process is the kiosk itself, with SIGHUP ignored
        command = f"trap '' HUP; exec {kiosk}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "100", "-y", "32", command], check=True
    )
    term = Terminal(name)
    try:
        term.wait_for("Site passphrase")
        time.sleep(2)  # the input's cursor blinks into the terminal meanwhile
        found = subprocess.run(
            ["pgrep", "-n", "-f", f"demo --offline --db {db}"],
            capture_output=True,
            text=True,
            check=True,
        )
        pid = int(found.stdout)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, check=False)
    deadline = time.monotonic() + 20
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = Path(f"/proc/{pid}").exists()
    if alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "the kiosk kept running after its terminal closed"


def keys_for(shown: str) -> tuple[str, ...]:
    """The keys the screen itself shows for the question on it (its hint line says them)."""
    if "[ ]" in shown or "[x]" in shown:
        return ("Down", "Space", "Enter")  # a checklist: tick the first, then go on
    if "├" in shown and "┤" in shown:
        return ("Right", "Enter", "Enter")  # a VAS: place the marker, confirm, go on
    if shown.count("○") + shown.count("●") >= 21:
        return ("Right", "Enter", "Enter")  # 21 circles: highlight, choose, go on
    if re.search(r"\b1 \( \)", shown):
        return ("1", "Enter")  # a choice: its number, then go on
    return ("Enter",)  # a text to read, or an optional field left empty


def test_a_parents_visit_of_four_forms_in_dutch_at_80_by_24_by_keyboard_alone(
    small_terminal: tuple[Terminal, Path],
) -> None:
    term, db = small_terminal
    term.wait_for("This kiosk is locked")
    term.text(PASSPHRASE)
    term.keys("Enter")
    term.wait_for("Staff PIN")
    term.text(NURSE)
    term.keys("Enter")
    term.text(PIN)
    term.keys("Enter")
    term.wait_for("DEMO-001")
    term.keys("s")  # DEMO-001 (6 years: the parent answers) is the first row
    term.wait_for("Nederlands")
    term.keys("Tab", "Down", "Enter")  # all four forms stay ticked; the language: Dutch
    term.keys("Tab", "Tab", "Enter")  # past Cancel to Start
    term.wait_for("vragenlijst 1 van 4")
    keys, forms_seen, steps = 0, set(), 0
    shown = term.screen()
    while "Geef de kiosk terug" not in shown:
        steps += 1
        assert steps < 200, f"the visit did not end; the terminal shows:\n{shown}"
        assert (
            "Dagelijkse dingen" in shown
            or "Controleer" in shown
            or "Dank u" in shown
            or ("Hoe gaat het" in shown or "Pijn" in shown)
        ), shown
        if (form := re.search(r"vragenlijst (\d) van 4", shown)) is not None:
            forms_seen.add(form.group(1))
        if "Controleer uw antwoorden" in shown:
            pressed: tuple[str, ...] = ("Tab", "Enter")  # one Tab from the list reaches Submit
        elif "Dank u wel" in shown:
            pressed = ("Enter",)
        else:
            pressed = keys_for(shown)
        term.keys(*pressed)
        keys += len(pressed)
        shown = wait_for_change(term, shown)
    assert forms_seen == {"1", "2", "3", "4"}
    term.keys("Enter")
    term.wait_for("Deze kiosk is vergrendeld")  # the session's language until a nurse unlocks
    with open_store(db, passphrase=PASSPHRASE) as store, store.unit_of_work() as uow:
        done = [
            (meta.form_id, meta.language)
            for meta in uow.responses.list(patient="DEMO-001", statuses=[ResponseStatus.SUBMITTED])
            if meta.visit == "V2" and meta.respondent == "parent"
        ]
    assert sorted(done) == sorted(
        (form_id, "nl") for form_id in ("chaq", "jamar", "vas_pain", "vas_wellbeing")
    )


def wait_for_change(term: Terminal, before: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = term.screen()
        if shown != before:
            time.sleep(0.3)  # let the screen settle
            return term.screen()
        time.sleep(0.1)
    raise AssertionError(f"the screen did not change; it shows:\n{before}")
