"""Console benchmark: the completion grid page against the JSON completion endpoint, same data.

One real study server (``epro_sync.create_app`` under uvicorn on 127.0.0.1, SQLite file) holds
one site of ``--patients`` patients (default 500) with responses at all nine visits of the
protocol that have passed for them (baselines spread over a year, so every status occurs):
every (visit, form, respondent) cell a ten-year-old answers, as uploads would have stored
them (written straight into the ``responses`` table; the upload path is ``sync.py``'s).

Side by side, alternately, ``--repeat`` times each, over HTTP with keep-alive:

* json: ``GET /v1/completion`` as a kiosk of that site (device token): the grouped counts the
  kiosks pull at every sync — the floor;
* page: ``GET /console/grid`` as a logged-in coordinator of that site: the same grouped
  counts, plus the roster, the protocol calendar of every patient, the status of every cell
  and the whole HTML table (patients × visits × forms × respondents).

``console_ratio`` = median json seconds ÷ median page seconds (goal ≥ 0.5: the page costs at
most twice the JSON answer for the same data).

    python benchmarks/console.py [--patients 500] [--repeat 7] [--json]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SITE = "BENCH"
#: Cells a ten-year-old has at every kiosk visit (child CHAQ and VAS, JAMAR by both, staff).
CELLS = [
    ("chaq", "child"),
    ("jamar", "child"),
    ("jamar", "parent"),
    ("vas_pain", "child"),
    ("vas_wellbeing", "child"),
    ("clinician", "staff"),
]


def seed(database_url: str, patients: int, today: date) -> int:
    """The roster and every response due so far; returns the number of responses."""
    from epro.schedule import load_study, visit_calendar
    from epro_sync.db import make_engine
    from epro_sync.migrations import migrate
    from epro_sync.tables import ServerModel

    tables = ServerModel.metadata.tables
    study = load_study(ROOT / "forms" / "study.toml")
    engine = make_engine(database_url)
    migrate(engine)
    now = datetime.now(UTC)
    roster: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for number in range(patients):
        code = f"BENCH-{number:04d}"
        baseline = today - timedelta(days=(number * 7) % 380)  # a year of enrolment
        roster.append(
            {
                "code": code,
                "site": SITE,
                "birth_ym": f"{baseline.year - 10:04d}-{baseline.month:02d}",
                "baseline_date": baseline,
                "language": "en",
                "device_id": "bench-kiosk",
                "created_at": now,
                "updated_at": now,
            }
        )
        for scheduled in visit_calendar(study, baseline):
            if scheduled.target > today or (number % 11 == 0 and scheduled.week > 8):
                continue  # not yet, or (every eleventh patient) dropped out after week 8
            at = datetime.combine(scheduled.target, datetime.min.time(), tzinfo=UTC)
            cells = CELLS if scheduled.visit.kiosk else [("clinician", "staff")]
            for form_id, respondent in cells:
                if number % 7 == 3 and form_id == "jamar":
                    continue  # some forms missing, so the grid shows "missed" too
                rows.append(
                    {
                        "response_id": str(uuid.uuid4()),
                        "receipt_id": str(uuid.uuid4()),
                        "device_id": "bench-kiosk",
                        "site": SITE,
                        "patient": code,
                        "visit": scheduled.code,
                        "form_id": form_id,
                        "form_version": "1.0.0",
                        "respondent": respondent,
                        "submitted_at": at + timedelta(hours=9),
                        "out_of_window": False,
                        "sha256": os.urandom(32).hex(),
                        "envelope": '{"sealed": "' + "x" * 1500 + '"}',
                        "received_at": at + timedelta(hours=9, minutes=5),
                    }
                )
    with engine.begin() as conn:
        conn.execute(tables["patients"].insert(), roster)
        for start in range(0, len(rows), 5000):
            conn.execute(tables["responses"].insert(), rows[start : start + 5000])
    engine.dispose()
    return len(rows)


def study_key_file(folder: Path) -> Path:
    path = folder / "study_public_key.json"
    key = base64.b64encode(os.urandom(32)).decode("ascii")
    path.write_text(json.dumps({"suite": "x25519", "public_key": key}), encoding="utf-8")
    return path


def measure(patients: int, repeat: int) -> dict[str, Any]:
    import httpx

    from epro_sync.config import ServerSettings
    from epro_sync.console.testing import console_server, fast
    from epro_sync.testing import ScriptedKiosk, make_enrol_code

    with tempfile.TemporaryDirectory(prefix="epro-console-bench-") as tmp:
        folder = Path(tmp)
        settings = fast(
            ServerSettings(
                database_url=f"sqlite:///{folder / 'server.sqlite3'}",
                study_public_key_file=study_key_file(folder),
                study_file=ROOT / "forms" / "study.toml",
            ),
            console_idle_minutes=24 * 60,
        )
        today = datetime.now(UTC).date()
        responses = seed(settings.database_url, patients, today)
        with console_server(settings) as console:
            _account, browser = console.ready("bench@example.org", "coordinator", SITE)
            kiosk = ScriptedKiosk(console.browser())
            assert kiosk.enrol(make_enrol_code(settings, SITE), "bench").status_code == 200

            def page() -> httpx.Response:
                return browser.get("/console/grid")

            def completion() -> httpx.Response:
                return kiosk.client.get("/v1/completion", headers=kiosk.headers)

            first_page, first_json = page(), completion()
            assert first_page.status_code == 200, first_page.text[:300]
            assert first_json.status_code == 200, first_json.text[:300]
            entries = len(first_json.json()["entries"])
            cells = first_page.text.count('<td class="st st-')
            page_times: list[float] = []
            json_times: list[float] = []
            for _ in range(repeat):
                for call, times in ((completion, json_times), (page, page_times)):
                    started = time.perf_counter()
                    reply = call()
                    times.append(time.perf_counter() - started)
                    assert reply.status_code == 200
            page_s, json_s = statistics.median(page_times), statistics.median(json_times)
            return {
                "console_ratio": round(json_s / page_s, 3),
                "page_seconds": round(page_s, 4),
                "json_seconds": round(json_s, 4),
                "patients": patients,
                "responses": responses,
                "json_entries": entries,
                "page_cells": cells,
                "page_kib": round(len(first_page.content) / 1024),
                "json_kib": round(len(first_json.content) / 1024),
            }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    sys.path[:0] = [str(ROOT / "src"), str(ROOT / "sync")]
    result = measure(args.patients, args.repeat)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:15} {value}")
        print("goal: console_ratio >= 0.5")
    return 0


if __name__ == "__main__":
    sys.exit(main())
