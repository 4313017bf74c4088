"""A response a data manager marked **entered in error** on the server, through the export.

The trial's server database (real kiosks, real uploads) gets two marks with the server's own
code (``epro_sync.annotations``, what the console's form calls); the bundle made afterwards
carries them, and ``epro export`` keeps each marked response in ``long.csv`` with its status
and reason while leaving it out of the visit's responses, the scores and the analysis. The
bundle made just before the marks is exported beside it: everything else is the same.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from epro.bundle import open_bundle
from epro.export.formats import default_writers
from epro.export.pipeline import ExportOptions, ExportReport, run_export
from epro.schedule import load_study
from epro_sync.annotations import mark_entered_in_error
from epro_sync.db import make_engine
from tests.helpers.export_support import Built, RecordsWriter, read_problems, read_records

WELLBEING_REASON = "session opened for the wrong patient"
PAIN_REASON = "answered by the sibling, not the parent"


def _mark(built: Built, response_id: str, reason: str) -> None:
    engine = make_engine(built.trial.settings.database_url)
    try:
        with Session(engine) as session:
            mark_entered_in_error(
                session,
                response_id,
                reason,
                actor="dm@example.org",
                sites=None,
                now=datetime.now(UTC),
            )
            session.commit()
    finally:
        engine.dispose()


def _export(bundle: Path, built: Built, out: Path, **options: Any) -> ExportReport:
    return run_export(
        bundle,
        built.trial.key.private,
        out,
        writers=[*default_writers(load_study()), RecordsWriter()],
        options=ExportOptions(workers=0, **options),
    )


@pytest.fixture(scope="module")
def marked(built: Built, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ids = built.ids
    wellbeing = ids.good["DEMO-001"][5]  # V2 VAS well-being (child)
    pain = ids.good["DEMO-002"][1]  # V1 VAS pain (parent)
    _mark(built, wellbeing, WELLBEING_REASON)
    _mark(built, pain, PAIN_REASON)
    _mark(built, ids.damaged["signature"], "kiosk swapped mid-session")  # rejected at export
    folder = tmp_path_factory.mktemp("marked")
    bundle = folder / "marked.bundle"
    built.trial.bundle(bundle)
    before = _export(built.damaged, built, folder / "before")
    after = _export(bundle, built, folder / "after")
    return {
        "bundle": bundle,
        "before": (before, folder / "before"),
        "after": (after, folder / "after"),
        "wellbeing": wellbeing,
        "pain": pain,
    }


def _long_rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "long.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _visit(record: dict[str, Any], code: str) -> dict[str, Any]:
    visit: dict[str, Any]
    (visit,) = [v for v in record["visits"] if v["visit"] == code]
    return visit


def test_the_bundle_carries_the_marks_and_counts_them(marked: dict[str, Any]) -> None:
    bundle = open_bundle(marked["bundle"])
    assert bundle.counts["annotation"] == 3
    marks = {mark.response_id: mark for mark in bundle.annotations()}
    assert marks[marked["wellbeing"]].reason == WELLBEING_REASON
    assert marks[marked["wellbeing"]].patient == "DEMO-001"
    assert marks[marked["pain"]].actor == "dm@example.org"
    assert {mark.kind for mark in marks.values()} == {"entered_in_error"}


def test_a_marked_response_stays_in_the_long_file_with_its_status_and_reason(
    marked: dict[str, Any],
) -> None:
    _report, before = marked["before"]
    _report, after = marked["after"]
    rows = _long_rows(after)
    mine = [row for row in rows if row["response_id"] == marked["wellbeing"]]
    assert mine
    assert {row["status"] for row in mine} == {"entered_in_error"}
    assert {row["status_reason"] for row in mine} == {WELLBEING_REASON}
    assert {row["value"] for row in mine} == {"40"}  # the answers are kept as given
    # Every other row is as it was before the marks.
    marked_ids = {marked["wellbeing"], marked["pain"]}
    unchanged = [row for row in rows if row["response_id"] not in marked_ids]
    assert unchanged == [row for row in _long_rows(before) if row["response_id"] not in marked_ids]


def test_a_marked_response_is_left_out_of_the_scores_and_the_visit(
    marked: dict[str, Any],
) -> None:
    _report, before = marked["before"]
    _report, after = marked["after"]
    was, now = read_records(before), read_records(after)
    v2_before, v2_after = _visit(was["DEMO-001"], "V2"), _visit(now["DEMO-001"], "V2")
    # Well-being from the marked VAS (40) before; without it, from the CHAQ's own well-being
    # VAS of that visit (60, the trial's default).
    assert v2_before["scores"]["wb"] == 4
    assert v2_after["scores"]["wb"] == 6
    assert marked["wellbeing"] not in {r["response_id"] for r in v2_after["responses"]}
    assert {r["response_id"]: r["status"] for r in now["DEMO-001"]["responses"]}[
        marked["wellbeing"]
    ] == "entered_in_error"
    v1_before, v1_after = _visit(was["DEMO-002"], "V1"), _visit(now["DEMO-002"], "V1")
    assert v1_before["scores"]["vas_pain"] == 10
    assert v1_after["scores"].get("vas_pain") is None
    with (after / "scores.csv").open(encoding="utf-8", newline="") as handle:
        scores = {(row["patient"], row["visit"]): row for row in csv.DictReader(handle)}
    assert scores[("DEMO-002", "V1")]["vas_pain"] == ""
    assert float(scores[("DEMO-001", "V2")]["wb"]) == 6


def test_the_export_manifest_and_report_count_the_marks_and_problems_stay_the_same(
    marked: dict[str, Any],
) -> None:
    before_report, before = marked["before"]
    report, after = marked["after"]
    assert report.entered_in_error == 2
    assert report.exported == before_report.exported  # kept, not dropped
    manifest = json.loads((after / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["entered_in_error"] == 2
    assert manifest["bundle"]["records"]["annotation"] == 3
    problems = read_problems(after)
    # The mark on a response that fails its checks changes nothing, and says so.
    annotation = [p for p in problems if p["kind"] == "annotation"]
    assert len(annotation) == 1
    assert "the mark changes nothing" in annotation[0]["reason"]
    assert [p for p in problems if p["kind"] != "annotation"] == read_problems(before)


def test_a_de_identified_export_keeps_the_status_but_not_the_reason(
    built: Built, marked: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "deid"
    report = _export(marked["bundle"], built, out, deidentify=True)
    assert report.entered_in_error == 2
    rows = _long_rows(out)
    assert "status_reason" not in rows[0]
    assert sum(1 for row in rows if row["status"] == "entered_in_error") > 0
    text = "".join(path.read_text(errors="replace") for path in out.rglob("*") if path.is_file())
    assert WELLBEING_REASON not in text
    assert PAIN_REASON not in text
