"""`epro export --deidentify` (DESIGN §9): keyed pseudonyms, dates shifted per patient by a
whole number of days, no free text — and the same export every time for the same key."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from epro.crypto import generate_study_keypair
from epro.export.deidentify import Deidentifier
from epro.export.pipeline import ExportOptions, run_export
from tests.helpers.export_support import Built, RecordsWriter, files_of, read_problems, read_records


def _export(built: Built, out: Path, *, deidentify: bool, shift: int = 180) -> None:
    run_export(
        built.damaged,
        built.trial.key.private,
        out,
        writers=[RecordsWriter()],
        options=ExportOptions(deidentify=deidentify, max_shift_days=shift, workers=0),
    )


@pytest.fixture(scope="module")
def pair(built: Built, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The damaged bundle exported as it is and de-identified."""
    folder = tmp_path_factory.mktemp("deid")
    _export(built, folder / "plain", deidentify=False)
    _export(built, folder / "deid", deidentify=True)
    return folder / "plain", folder / "deid"


def _days(earlier: str, later: str) -> int:
    return (date.fromisoformat(later[:10]) - date.fromisoformat(earlier[:10])).days


def test_no_study_code_true_date_response_id_or_free_text_is_left(
    built: Built, pair: tuple[Path, Path]
) -> None:
    _plain, deid = pair
    forbidden = [
        b"DEMO-0",
        built.ids.free_text.encode(),
        *(rid.encode() for ids in built.ids.good.values() for rid in ids),
        *(rid.encode() for rid in built.ids.damaged.values()),
        b"test: visit outside its window",
    ]
    for name, data in files_of(deid):
        for text in forbidden:
            assert text not in data, (name, text)


def test_patient_codes_become_keyed_pseudonyms(built: Built, pair: tuple[Path, Path]) -> None:
    _plain, deid = pair
    records = read_records(deid)
    assert len(records) == 5
    assert all(len(code) == 13 and code.startswith("P") for code in records)
    expected = Deidentifier.from_study_key(built.trial.key.private, 180)
    assert expected.patient_code("DEMO-001") in records
    other = Deidentifier.from_study_key(generate_study_keypair(), 180)
    assert other.patient_code("DEMO-001") not in records  # needs this study's key
    assert sorted(records) == list(records)  # written in the order of the pseudonyms
    assert {row["patient"] for row in read_problems(deid)} <= set(records)


def test_every_date_of_a_patient_moves_by_the_same_nonzero_whole_number_of_days(
    built: Built, pair: tuple[Path, Path]
) -> None:
    plain, deid = pair
    real = read_records(plain)["DEMO-001"]
    code = Deidentifier.from_study_key(built.trial.key.private, 180).patient_code("DEMO-001")
    moved = read_records(deid)[code]
    shift = _days(real["baseline_date"], moved["baseline_date"])
    assert shift != 0
    assert -180 <= shift <= 180
    for before, after in zip(real["visits"], moved["visits"], strict=True):
        assert _days(before["visit_date"], after["visit_date"]) == shift
        assert after["age_years"] == before["age_years"]  # ages from the true dates
        assert after["scores"] == before["scores"]
    for before, after in zip(real["responses"], moved["responses"], strict=True):
        for field in ("started_at", "submitted_at", "received_at"):
            assert _days(before[field], after[field]) == shift
            assert before[field][10:] == after[field][10:]  # the time of day is kept
    assert moved["birth_ym"] is None


def test_free_text_answers_are_left_out(built: Built, pair: tuple[Path, Path]) -> None:
    plain, deid = pair
    (chaq,) = [r for r in read_records(plain)["DEMO-002"]["responses"] if r["form_id"] == "chaq"]
    assert chaq["answers"]["chaq_devices_other"] == built.ids.free_text
    for record in read_records(deid).values():
        for response in record["responses"]:
            assert not any(name.endswith("_other") for name in response["answers"])
            assert response["out_of_window_reason"] is None


def test_the_shift_never_exceeds_the_limit_given(
    built: Built, pair: tuple[Path, Path], tmp_path: Path
) -> None:
    _export(built, tmp_path / "one", deidentify=True, shift=1)
    real = read_records(pair[0])
    moved = read_records(tmp_path / "one")
    pseudonym = Deidentifier.from_study_key(built.trial.key.private, 1).patient_code
    shifts = set()
    for code, record in real.items():
        for before, after in zip(record["visits"], moved[pseudonym(code)]["visits"], strict=True):
            shifts.add(_days(before["visit_date"], after["visit_date"]))
    assert shifts
    assert shifts <= {-1, 1}


def test_the_manifest_records_the_deidentification_but_no_shift(
    built: Built, pair: tuple[Path, Path]
) -> None:
    plain, deid = pair
    manifest = json.loads((deid / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["options"] == {"deidentify": True, "max_shift_days": 180}
    assert "birth month" in manifest["deidentification"]["left_out"]
    real = read_records(plain)["DEMO-001"]["baseline_date"]
    code = Deidentifier.from_study_key(built.trial.key.private, 180).patient_code("DEMO-001")
    shift = _days(real, read_records(deid)[code]["baseline_date"])
    assert f'"shift": {shift}' not in json.dumps(manifest)
    assert "DEMO-001" not in json.dumps(manifest)


def test_a_deidentified_export_is_the_same_every_time(
    built: Built, pair: tuple[Path, Path], tmp_path: Path
) -> None:
    _export(built, tmp_path / "again", deidentify=True)
    assert list(files_of(tmp_path / "again")) == list(files_of(pair[1]))
