"""scores.csv and score_notes.csv: every score column, nulls empty, each null explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from epro.export.csv_scores import NOT_COMPUTED, score_cell
from epro.scoring.catalogue import SCORES, score_columns
from tests.helpers.tables_kit import Scenario, read_csv, read_header, write_all


def test_the_scores_file_has_every_catalogued_score_column_in_catalogue_order(
    scenario: Scenario, tmp_path: Path
) -> None:
    """Every file lists the same scores in the same order, whatever a visit had."""
    write_all(scenario, tmp_path)
    plain = [spec.name for spec in SCORES]
    copies = [
        f"{spec.name}_{who}"
        for spec in SCORES
        if spec.per_respondent_of is not None
        for who in ("parent", "child")
    ]
    header = read_header(tmp_path / "scores.csv")
    assert header == ["site", "patient", "visit", "visit_date", *plain, *copies]
    assert header[4:] == [name for name, _ in score_columns()]


def test_every_score_cell_is_the_value_written_one_way_or_empty_for_null(
    scenario: Scenario, tmp_path: Path
) -> None:
    write_all(scenario, tmp_path)
    rows = read_csv(tmp_path / "scores.csv")
    names = [name for name, _ in score_columns()]
    given = [
        (
            {"site": "S01", "patient": "DEMO-001", "visit": "V1", "visit_date": "2024-03-04"},
            {
                "chaq_di": "1.125",
                "chaq_domains_scored": "8",
                "chaq_di_parent": "1.125",
                "vas_pain": "25",
                "phys_global": "3.5",
                # A whole float loses its ".0"; other floats are written to round-trip.
                "esr": "12",
                "jadas71": "0.3333333333333333",
                "jadas71_category": "2",
                "acr_pedi_30": "1",
                "acr_pedi_50": "0",
            },
        ),
        (
            {"site": "S01", "patient": "DEMO-001", "visit": "V2", "visit_date": "2024-04-01"},
            {"phys_global": "2"},
        ),
        (
            {"site": "S02", "patient": "DEMO-002", "visit": "V0", "visit_date": "2024-01-08"},
            {"esr": "40", "phys_global": "6.5"},
        ),
    ]
    assert len(rows) == len(given)
    for row, (keys, values) in zip(rows, given, strict=True):
        assert row == {**keys, **{name: values.get(name, "") for name in names}}


def test_score_notes_say_why_each_empty_score_cell_is_empty(
    scenario: Scenario, tmp_path: Path
) -> None:
    """Each null score carries its reason (instruments.md §2.1, §3, §4: the missing inputs)."""
    write_all(scenario, tmp_path)
    notes = read_csv(tmp_path / "score_notes.csv")
    assert read_header(tmp_path / "score_notes.csv") == ["patient", "visit", "score", "note"]
    empty = [
        (row["patient"], row["visit"], name)
        for row in read_csv(tmp_path / "scores.csv")
        for name, _ in score_columns()
        if row[name] == ""
    ]
    assert [(n["patient"], n["visit"], n["score"]) for n in notes] == empty
    by_key = {(n["patient"], n["visit"], n["score"]): n["note"] for n in notes}
    assert by_key[("DEMO-001", "V1", "chaq_di_child")] == "missing: chaq (child)"
    assert by_key[("DEMO-001", "V2", "chaq_di")] == "missing: 7 domains"
    # A score the scoring did not return at all still gets a reason.
    assert by_key[("DEMO-002", "V0", "chaq_di")] == NOT_COMPUTED
    assert ("DEMO-001", "V1", "chaq_di") not in by_key


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "1"),
        (False, "0"),
        (0, "0"),
        (3, "3"),
        (3.0, "3"),
        (-0.0, "0"),
        (1.125, "1.125"),
        (0.1, "0.1"),
        (42.857142857142854, "42.857142857142854"),
        (1e20, "100000000000000000000"),
        ("ACR Pedi 30 at V2, lost at V3", "ACR Pedi 30 at V2, lost at V3"),
    ],
    ids=repr,
)
def test_a_score_is_written_the_same_way_every_time(value: object, cell: str) -> None:
    """Flags 1/0, whole numbers without .0, text scores (instruments.md §4.1 reason) as is."""
    assert score_cell(value) == cell
