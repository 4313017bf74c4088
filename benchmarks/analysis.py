"""Analysis benchmark: the export's efficacy table, report and figures for a synthetic trial.

Builds N patients (default 1,600, the export benchmark's 100,000 responses) with every reported
outcome at every visit (a few missing), infusions recorded at V3 and V5 for some, and times
:class:`epro.export.analysis.AnalysisWriter` on them: collecting, the statistics, and the whole
``finish`` (statistics, CSV, HTML and every figure page as PNG and SVG). The goal is figures
within about 20 s on one core at 1,600 patients.

Run ``python benchmarks/analysis.py [--patients 1600] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from epro.export.analysis import AnalysisWriter
from epro.export.analysis.efficacy import efficacy_rows
from epro.export.outcomes import OUTCOMES, comparisons
from epro.export.records import ExportContext, ExportResponse, PatientRecord, VisitRecord
from epro.scoring.result import ScoreValue

WEEKS = {"V0": -12, "V1": 0, "V2": 4, "V3": 8, "V4": 12, "V5": 16, "V6": 26, "V7": 39, "V8": 52}
SCALES = {
    "vas_wellbeing": 100,
    "vas_pain": 100,
    "chaq_di": 3,
    "jafs_total": 30,
    "prql_total": 30,
    "phys_global": 10,
    "active_joints": 20,
    "limited_joints": 20,
    "esr": 80,
    "jadas71": 60,
    "cjadas10": 30,
}
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def context() -> ExportContext:
    return ExportContext(
        forms={},
        visit_weeks=WEEKS,
        infusion_visits=("V1", "V3", "V5"),
        baseline_visit="V1",
        study_id="MSC-JIA-DEMO",
        study_version="1.0.0",
        deidentified=True,
        created_at=START,
    )


def clinician(code: str, visit: str, when: datetime, infusion: bool) -> ExportResponse:
    return ExportResponse(
        response_id=f"{code}-{visit}",
        site="DEMO",
        device_id="kiosk-1",
        patient=code,
        visit=visit,
        form_id="clinician",
        form_version="1.1.0",
        form_sha256="0" * 64,
        respondent="clinician",
        language="en",
        started_at=when,
        submitted_at=when,
        received_at=when,
        receipt_id=f"r-{code}-{visit}",
        out_of_window=False,
        out_of_window_reason=None,
        envelope_sha256="0" * 64,
        answers={"infusion_given": infusion},
    )


def patient(index: int, rng: random.Random) -> PatientRecord:
    code = f"DEMO-{index:04d}"
    visits = []
    for visit, week in WEEKS.items():
        if visit != "V1" and rng.random() < 0.05:
            continue
        when = START + timedelta(weeks=week + 12)
        scores: dict[str, ScoreValue] = {}
        for name, top in SCALES.items():
            if rng.random() < 0.03:
                scores[name] = None
            elif top >= 20:
                scores[name] = rng.randint(0, top)
            else:
                scores[name] = rng.randint(0, top * 8) / 8
        responses = []
        if visit in ("V3", "V5"):
            responses.append(clinician(code, visit, when, rng.random() < 0.3))
        visits.append(VisitRecord(visit, when.date(), 10.0, responses, scores))
    return PatientRecord(code, "DEMO", "2015-03", date(2025, 4, 1), visits, [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1600)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rng = random.Random(20190601)
    records = [patient(i + 1, rng) for i in range(args.patients)]
    with tempfile.TemporaryDirectory() as folder:
        writer = AnalysisWriter()
        writer.begin(Path(folder), context())
        # CPU time of this (single-threaded) process: the machine may be busy with others.
        start = time.process_time()
        for record in records:
            writer.add_patient(record)
        collected = time.process_time()
        values = writer.collected()
        efficacy_rows(values, OUTCOMES, list(WEEKS), comparisons(WEEKS, "V1"))
        statistics = time.process_time()
        wall = time.perf_counter()
        files = writer.finish()
        finished = time.process_time()
        wall = time.perf_counter() - wall
        size = sum((Path(folder) / f.path).stat().st_size for f in files)
    result = {
        "patients": args.patients,
        "files": len(files),
        "megabytes": round(size / 1e6, 1),
        "collect_cpu_s": round(collected - start, 3),
        "statistics_cpu_s": round(statistics - collected, 3),
        "finish_cpu_s": round(finished - statistics, 3),
        "figures_cpu_s": round((finished - statistics) - (statistics - collected), 3),
        "finish_wall_s": round(wall, 3),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>14}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
