"""Kiosk benchmarks: start-up against an empty Textual app, and question-to-question latency.

    python benchmarks/kiosk.py [--repeats N] [--json]

Start-up: each app runs headless in a fresh interpreter; the parent times from spawning the
process to the child's "ready" line, printed when the first screen is mounted (the kiosk's lock
screen; the empty app's only screen). Interleaved runs, median; ``startup_ratio`` = kiosk ÷
empty (target ≤ 1.5: the store, crypto and scoring load only at unlock).

Transition: under Pilot on a real encrypted store in a temporary folder, a CHAQ questionnaire
is answered item by item; each latency runs from the Enter key on the focused Next button to
the next item's widget being mounted (the position write to the store is inside it). p50/p95
over all transitions (target p95 ≤ 50 ms).

Keys: one parent visit of four forms in Dutch at 80×24, answered along the path each screen's
hint shows; ``keys_per_choice_question`` (target ≤ 3) and ``visit_keys`` in all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

KIOSK_CHILD = """
import sys
from pathlib import Path
from epro.kiosk.app import make_kiosk
from epro.kiosk.screens.lock import LockScreen

app = make_kiosk(Path(sys.argv[1]))
original = LockScreen.on_mount

def ready():
    print("ready", flush=True)
    app.exit()

def on_mount(self):
    original(self)
    self.call_after_refresh(ready)

LockScreen.on_mount = on_mount
app.run(headless=True, size=(100, 32))
"""

EMPTY_CHILD = """
from textual.app import App
from textual.screen import Screen
from textual.widgets import Static

class First(Screen):
    def compose(self):
        yield Static("locked")

    def on_mount(self):
        self.call_after_refresh(ready)

class Empty(App):
    def on_mount(self):
        self.push_screen(First())

app = Empty()

def ready():
    print("ready", flush=True)
    app.exit()

app.run(headless=True, size=(100, 32))
"""


def time_child(code: str, *args: str) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    process.wait(timeout=60)
    if line.strip() != "ready":
        raise RuntimeError(f"child did not reach its first screen (exit {process.returncode})")
    return elapsed


def startup(repeats: int, db: Path) -> dict[str, float]:
    kiosk: list[float] = []
    empty: list[float] = []
    time_child(EMPTY_CHILD)  # warm the file cache once, for both
    for _ in range(repeats):
        kiosk.append(time_child(KIOSK_CHILD, str(db)))
        empty.append(time_child(EMPTY_CHILD))
    k, e = statistics.median(kiosk), statistics.median(empty)
    return {"startup_kiosk_ms": k * 1000, "startup_empty_ms": e * 1000, "startup_ratio": k / e}


async def transitions(folder: Path) -> list[float]:
    from epro.crypto import FAST_KDF, generate_study_keypair
    from epro.forms import default_forms_dir, load_forms
    from epro.forms.model import ItemType
    from epro.kiosk.app import make_kiosk
    from epro.kiosk.screens.questionnaire import QuestionnaireScreen
    from epro.kiosk.screens.review import ReviewScreen
    from epro.schedule import load_study
    from epro.station import SessionPlan, Station
    from epro.store import init_store

    store = init_store(
        folder / "bench.db",
        passphrase="benchmark passphrase",
        site="DEMO",
        nurse_name="nurse",
        nurse_pin="1234",
        kdf=FAST_KDF,
        study_public_key=generate_study_keypair().public_key(),
    )
    station = Station(store, load_forms(default_forms_dir()), load_study())
    today = station.today()
    station.enrol("DEMO-001", f"{today.year - 10}-01", today - timedelta(weeks=4), actor="nurse")
    app = make_kiosk(folder / "bench.db", opener=lambda _: station)
    mounted: list[float] = []
    original = QuestionnaireScreen._after_compose

    def stamped(screen: QuestionnaireScreen) -> None:
        original(screen)
        mounted.append(time.perf_counter())

    QuestionnaireScreen._after_compose = stamped  # type: ignore[method-assign,assignment]
    latencies: list[float] = []
    async with app.run_test(size=(100, 32)) as pilot:
        app.station, app.actor = station, "nurse"
        app.begin([SessionPlan("DEMO-001", "V2", "chaq", "child", "en")])
        await pilot.pause()
        while isinstance(app.screen, QuestionnaireScreen):
            item = app.screen.session.current
            if item.type is ItemType.CHOICE:
                await pilot.press("down", "enter")
            elif item.type is ItemType.VAS:
                await pilot.press("right")
            if item.type is ItemType.VAS:
                await pilot.press("enter")  # confirm the marker, as the respondent must
            app.set_focus(app.screen.query_one("#next"))  # the keyboard path: Tab to Next
            await pilot.pause()
            before = len(mounted)
            started = time.perf_counter()
            await pilot.press("enter")
            await pilot.pause()
            if len(mounted) > before:
                latencies.append(mounted[-1] - started)
        assert isinstance(app.screen, ReviewScreen), type(app.screen).__name__
    store.close()
    return latencies


async def visit_keys(folder: Path) -> dict[str, float]:
    """Keys for one parent visit of four forms, along the path each screen's hint shows.

    A choice question: its number, then Enter; a checklist: ↓ Space Enter; a VAS or the 21
    circles: → Enter Enter; a text: Enter. The review: Tab (to Submit) and Enter; the
    thank-you: Enter. ``keys_per_choice_question`` (target ≤ 3) and ``visit_keys`` in all.
    """
    from epro.crypto import FAST_KDF, generate_study_keypair
    from epro.forms import default_forms_dir, load_forms
    from epro.kiosk.app import make_kiosk
    from epro.kiosk.screens.questionnaire import QuestionnaireScreen
    from epro.kiosk.screens.review import ReviewScreen
    from epro.kiosk.screens.thanks import GiveBackScreen, ThanksScreen
    from epro.kiosk.widgets import ChoiceScale, Circles21, VasScale
    from epro.schedule import load_study
    from epro.station import SessionPlan, Station
    from epro.store import init_store

    store = init_store(
        folder / "visit.db",
        passphrase="benchmark passphrase",
        site="DEMO",
        nurse_name="nurse",
        nurse_pin="1234",
        kdf=FAST_KDF,
        study_public_key=generate_study_keypair().public_key(),
    )
    station = Station(store, load_forms(default_forms_dir()), load_study())
    today = station.today()
    station.enrol("DEMO-001", f"{today.year - 6}-01", today - timedelta(weeks=4), actor="nurse")
    app = make_kiosk(folder / "visit.db", opener=lambda _: station)
    forms = ("chaq", "jamar", "vas_pain", "vas_wellbeing")
    total = choice_keys = choices = 0
    async with app.run_test(size=(80, 24)) as pilot:
        app.station, app.actor = station, "nurse"
        app.begin([SessionPlan("DEMO-001", "V2", form, "parent", "nl") for form in forms])
        await pilot.pause()
        for _ in range(400):
            screen = app.screen
            if isinstance(screen, GiveBackScreen):
                break
            widget = screen.widget if isinstance(screen, QuestionnaireScreen) else None
            if isinstance(screen, ReviewScreen):
                keys: tuple[str, ...] = ("tab", "enter")
            elif isinstance(screen, ThanksScreen) or widget is None:
                keys = ("enter",)
            elif isinstance(widget, ChoiceScale) and widget.multi:
                keys = ("down", "space", "enter")
            elif isinstance(widget, ChoiceScale):
                keys = ("1", "enter")
                choices += 1
                choice_keys += len(keys)
            elif isinstance(widget, VasScale | Circles21):
                keys = ("right", "enter", "enter")
            else:
                keys = ("enter",)
            await pilot.press(*keys)
            await pilot.pause()
            total += len(keys)
        assert isinstance(app.screen, GiveBackScreen), type(app.screen).__name__
    store.close()
    return {"keys_per_choice_question": choice_keys / choices, "visit_keys": float(total)}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        figures = startup(args.repeats, folder / "not-opened-at-startup.db")
        latencies = asyncio.run(transitions(folder))
        figures.update(asyncio.run(visit_keys(folder)))
    figures["transitions"] = float(len(latencies))
    figures["transition_p50_ms"] = percentile(latencies, 0.5) * 1000
    figures["transition_p95_ms"] = percentile(latencies, 0.95) * 1000
    if args.json:
        print(json.dumps({k: round(v, 3) for k, v in figures.items()}))
    else:
        for name, value in figures.items():
            print(f"{name:<20} {value:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
