"""The same records give the same bytes: fixed column order, one rendering of every value."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from epro.export import csv_cells
from epro.export.csv_files import csv_writers
from epro.export.records import PatientRecord, VisitRecord
from epro.forms import load_forms
from tests.helpers.tables_kit import Scenario, write_all

NAMES = ["long.csv", "wide.csv", "scores.csv", "score_notes.csv", "codebook.csv", "codebook.html"]


def shuffled(scenario: Scenario) -> Scenario:
    """The same records with every mapping in reverse order: nothing may depend on it."""
    context = dataclasses.replace(
        scenario.context, forms=dict(reversed(list(scenario.context.forms.items())))
    )

    def visit(record: VisitRecord) -> VisitRecord:
        return dataclasses.replace(
            record,
            scores=dict(reversed(list(record.scores.items()))),
            notes=dict(reversed(list(record.notes.items()))),
        )

    patients = [
        dataclasses.replace(
            patient,
            visits=[visit(v) for v in patient.visits],
            responses=[
                dataclasses.replace(r, answers=dict(reversed(list(r.answers.items()))))
                for r in patient.responses
            ],
        )
        for patient in scenario.patients
    ]
    return Scenario(context, patients)


def test_the_same_records_give_byte_identical_files(every_form: Scenario, tmp_path: Path) -> None:
    first = write_all(every_form, tmp_path / "first")
    second = write_all(shuffled(every_form), tmp_path / "second")
    assert [w.path.name for w in first] == NAMES
    assert first == second
    for name in NAMES:
        assert (tmp_path / "first" / name).read_bytes() == (
            tmp_path / "second" / name
        ).read_bytes(), name


def test_every_file_is_utf8_without_bom_with_newline_line_ends(
    every_form: Scenario, tmp_path: Path
) -> None:
    write_all(every_form, tmp_path)
    for name in NAMES:
        data = (tmp_path / name).read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf"), name
        assert b"\r" not in data, name
        assert data.endswith(b"\n"), name
        data.decode("utf-8")
    # The Dutch and dash characters of the labels stay as UTF-8 text.
    assert "CHAQ disability index (0–3)".encode() in (tmp_path / "codebook.csv").read_bytes()


def test_the_wide_file_lists_every_known_form_in_id_order(
    every_form: Scenario, tmp_path: Path, forms_dir: Path
) -> None:
    write_all(every_form, tmp_path)
    header = (tmp_path / "wide.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    statuses = [name.removesuffix("_status") for name in header if name.endswith("_status")]
    # Staff forms have one block named after the form; patient forms one per respondent.
    expected = [
        block
        for form_id in sorted(load_forms(forms_dir))
        for block in (
            [form_id] if form_id == "clinician" else [f"{form_id}_parent", f"{form_id}_child"]
        )
    ]
    assert statuses == expected


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2024, 3, 4, 9, 0, tzinfo=UTC), "2024-03-04T09:00:00.000000Z"),
        (
            datetime(2024, 3, 31, 1, 30, 0, 5, tzinfo=timezone(timedelta(hours=2))),
            "2024-03-30T23:30:00.000005Z",
        ),
    ],
)
def test_times_are_written_in_utc_with_z(moment: datetime, text: str) -> None:
    assert csv_cells.moment(moment) == text


def test_a_time_without_a_zone_is_refused() -> None:
    """Its UTC reading would depend on the machine that exports it."""
    with pytest.raises(ValueError, match="time zone"):
        csv_cells.moment(datetime(2024, 3, 4, 9, 0))


def test_writers_refuse_patients_before_begin(scenario: Scenario) -> None:
    patient: PatientRecord = scenario.patients[0]
    for writer in csv_writers()[:3]:
        with pytest.raises(RuntimeError, match="begin must come before"):
            writer.add_patient(patient)
