"""`epro export` of a clean bundle (DESIGN §9, step 2): every response checked, opened, scored
and handed to the writers; a manifest of every file; the same bytes every time."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from epro.cli import main
from epro.export.pipeline import ExportOptions, run_export
from tests.helpers.export_support import (
    STUDY_PASSPHRASE,
    Built,
    RecordsWriter,
    files_of,
    read_problems,
    read_records,
)


@pytest.fixture(scope="module")
def clean_export(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "export"
    report = run_export(
        built.clean,
        built.trial.key.private,
        out,
        writers=[RecordsWriter()],
        options=ExportOptions(workers=0),
    )
    assert report.exit_status == 0
    return out


def _visit(record: dict[str, Any], code: str) -> dict[str, Any]:
    visit: dict[str, Any]
    (visit,) = [v for v in record["visits"] if v["visit"] == code]
    return visit


def test_a_clean_bundle_exports_every_response_and_exits_0(
    built: Built,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EPRO_STUDY_KEY_PASSPHRASE", STUDY_PASSPHRASE)
    out = tmp_path / "export"
    args = ["export", str(built.clean), "--study-key", str(built.trial.key.file)]
    assert main([*args, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "exported 13 of 13 responses (3 patients)" in captured.out
    assert captured.err == ""  # no problems, and no progress bar when not on a terminal
    assert read_problems(out) == []
    manifest = json.loads((out / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["exported"] == 13
    assert manifest["counts"]["problems"] == 0


def test_every_response_reaches_the_writers_with_its_answers_and_receipt(
    built: Built, clean_export: Path
) -> None:
    records = read_records(clean_export)
    assert sorted(records) == ["DEMO-001", "DEMO-002", "DEMO-003"]
    ids = built.ids
    # The clean bundle was made before the damage: the responses damaged later are good here.
    expected = {
        "DEMO-001": [i for i in ids.good["DEMO-001"] if i != ids.superseding],
        "DEMO-002": ids.good["DEMO-002"],
        "DEMO-003": [*ids.good["DEMO-003"], ids.damaged["content_hash"], ids.damaged["signature"]],
    }
    for code, wanted in expected.items():
        exported = [r["response_id"] for r in records[code]["responses"]]
        assert sorted(exported) == sorted(wanted)
    pain = next(r for r in records["DEMO-002"]["responses"] if r["form_id"] == "vas_pain")
    assert pain["answers"] == {"vas_pain": 10}
    assert pain["respondent"] == "parent"
    assert pain["receipt_id"]
    assert pain["status"] == "valid"


def test_scores_at_week_4_are_those_of_the_worked_check_of_instruments_md_4(
    clean_export: Path,
) -> None:
    """instruments.md §4 worked check: (6, 7, 1.5, 10, 8, 40) → (3, 4, 1.25, 5, 8, 42)
    improves 50, 42.9, 16.7, 50, 0, −5 %: ACR Pedi 30 yes, 50 no."""
    record = read_records(clean_export)["DEMO-001"]
    v1, v2 = _visit(record, "V1"), _visit(record, "V2")
    assert (v1["scores"]["chaq_di"], v2["scores"]["chaq_di"]) == (1.5, 1.25)
    assert (v1["scores"]["wb"], v2["scores"]["wb"]) == (7, 4)
    assert v2["scores"]["acr_change_wb"] == pytest.approx(300 / 7)
    assert v2["scores"]["acr_change_esr"] == -5
    assert v2["scores"]["acr_pedi_30"] is True
    assert v2["scores"]["acr_pedi_50"] is False
    assert v1["scores"]["acr_pedi_30"] is None  # the baseline has nothing to compare with
    assert v1["notes"]["acr_pedi_30"]


def test_a_visit_is_dated_by_its_earliest_submission_and_ages_follow_the_roster(
    built: Built, clean_export: Path
) -> None:
    record = read_records(clean_export)["DEMO-001"]
    v1, v2 = _visit(record, "V1"), _visit(record, "V2")
    assert v1["visit_date"] == built.ids.baseline.isoformat()
    assert v2["visit_date"] == (built.ids.baseline + timedelta(days=28)).isoformat()
    assert record["baseline_date"] == built.ids.baseline.isoformat()
    # Born about ten years and three months before the baseline (day 15 assumed).
    assert 10 < v1["age_years"] < 10.5
    assert v2["age_years"] - v1["age_years"] == pytest.approx(28 / 365, abs=0.002)


def test_the_manifest_lists_every_file_with_its_sha256_and_rows(
    built: Built, clean_export: Path
) -> None:
    manifest = json.loads((clean_export / "MANIFEST.json").read_text(encoding="utf-8"))
    listed = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = {name for name, _ in files_of(clean_export)} - {"MANIFEST.json"}
    assert set(listed) == on_disk == {"problems.csv", "records.jsonl"}
    for name, data in files_of(clean_export):
        if name in listed:
            assert listed[name]["sha256"] == hashlib.sha256(data).hexdigest()
    assert listed["records.jsonl"]["rows"] == 3
    assert listed["problems.csv"]["rows"] == 0
    bundle_bytes = built.clean.read_bytes()
    last = bundle_bytes.rstrip(b"\n").rsplit(b"\n", 1)[1]
    assert manifest["bundle"]["sha256"] == json.loads(last)["sha256"]
    assert manifest["study_key_fingerprint"] == built.trial.key.private.public_key().fingerprint()
    assert manifest["scoring_params"]["chaq_min_domains"] == 6
    assert manifest["options"] == {"deidentify": False, "max_shift_days": None}
    assert {(f["id"], f["version"]) for f in manifest["forms"]} >= {("clinician", "1.0.0")}


def test_the_same_bundle_gives_byte_identical_exports_with_or_without_workers(
    built: Built, clean_export: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    run_export(
        built.damaged,
        built.trial.key.private,
        tmp_path / "inline",
        writers=[RecordsWriter()],
        options=ExportOptions(workers=0),
    )
    run_export(
        built.damaged,
        built.trial.key.private,
        again,
        writers=[RecordsWriter()],
        options=ExportOptions(workers=2),
    )
    assert list(files_of(again)) == list(files_of(tmp_path / "inline"))
    run_export(
        built.clean,
        built.trial.key.private,
        tmp_path / "clean",
        writers=[RecordsWriter()],
        options=ExportOptions(workers=0),
    )
    assert list(files_of(tmp_path / "clean")) == list(files_of(clean_export))


def test_no_answer_can_be_read_from_the_bundle_itself(built: Built) -> None:
    data = built.clean.read_bytes()
    assert built.ids.free_text.encode() not in data
    for name in (b"chaq_dress_a", b'vas_pain\\":', b"answers", b"phys_global"):
        assert name not in data


def test_an_existing_empty_folder_is_filled(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "export"
    out.mkdir()
    report = run_export(built.clean, built.trial.key.private, out, options=ExportOptions(workers=0))
    assert report.exit_status == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "MANIFEST.json",
        "analysis",
        "codebook.csv",
        "codebook.html",
        "fhir",
        "long.csv",
        "odm",
        "problems.csv",
        "score_notes.csv",
        "scores.csv",
        "spss",
        "wide.csv",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_a_bundle_of_one_site_exports_that_site(built: Built, tmp_path: Path) -> None:
    bundle = tmp_path / "umcu.bundle"
    built.trial.bundle(bundle, site="UMCU")
    out = tmp_path / "export"
    run_export(
        bundle,
        built.trial.key.private,
        out,
        writers=[RecordsWriter()],
        options=ExportOptions(workers=0),
    )
    manifest = json.loads((out / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["bundle"]["site"] == "UMCU"
    assert {r["site"] for r in read_records(out).values()} == {"UMCU"}
