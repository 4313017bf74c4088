"""wide.csv: one row per patient and visit, one block per form and respondent, cell by cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from epro.errors import FormError
from epro.export.csv_wide import WideCsvWriter
from epro.export.records import PatientRecord, VisitRecord
from epro.forms import Form, ItemType
from tests.helpers.tables_kit import (
    CHAQ_CHILD_V2,
    Scenario,
    read_csv,
    read_header,
    response,
    write_all,
)

CLINICIAN_ITEMS = [
    "phys_global",
    "active_joints",
    "active_joints_27",
    "limited_joints",
    "esr",
    "crp",
    "jia_course",
    "infusion_given",
]


def chaq_names(chaq: Form, respondent: str, *, text: bool = True) -> list[str]:
    """The CHAQ answer columns by the naming rule: ``<item>_<respondent>``, options ``__<code>``."""
    names: list[str] = []
    for item in chaq.answerable_items:
        if item.type is ItemType.CHECKLIST:
            names += [f"{item.link_id}_{respondent}__{o.code}" for o in item.options]
        elif item.type is not ItemType.TEXT or text:
            names.append(f"{item.link_id}_{respondent}")
    return names


def expected_header(chaq: Form, *, text: bool = True) -> list[str]:
    def meta(prefix: str) -> list[str]:
        return [f"{prefix}_status", f"{prefix}_version", f"{prefix}_response_id"]

    return [
        *("site", "patient", "visit", "visit_date", "age_years"),
        *meta("chaq_parent"),
        *chaq_names(chaq, "parent", text=text),
        *meta("chaq_child"),
        *chaq_names(chaq, "child", text=text),
        *meta("clinician"),
        *CLINICIAN_ITEMS,
        *meta("vas_pain_parent"),
        "vas_pain_parent",
        *meta("vas_pain_child"),
        "vas_pain_child",
    ]


def block(names: list[str], fill: str, cells: dict[str, str]) -> dict[str, str]:
    unknown = set(cells) - set(names)
    assert not unknown, unknown
    return {name: cells.get(name, fill) for name in names}


def not_collected(prefix: str, names: list[str]) -> dict[str, str]:
    meta = {
        f"{prefix}_status": "not_collected",
        f"{prefix}_version": "",
        f"{prefix}_response_id": "",
    }
    return meta | block(names, "not_collected", {})


def collected(prefix: str, version: str, response_id: str) -> dict[str, str]:
    return {
        f"{prefix}_status": "collected",
        f"{prefix}_version": version,
        f"{prefix}_response_id": response_id,
    }


def expected_rows(chaq: Form) -> list[dict[str, str]]:
    parent, child = chaq_names(chaq, "parent"), chaq_names(chaq, "child")
    devices = [o.code for o in chaq.item("chaq_devices").options]
    helps = [o.code for o in chaq.item("chaq_help").options]
    v1 = {
        "site": "S01",
        "patient": "DEMO-001",
        "visit": "V1",
        "visit_date": "2024-03-04",
        "age_years": "9.5",
        **collected("chaq_parent", "1.0.0", "r-chaq-p-v1"),
        **block(
            parent,
            "not_reached",
            {
                "chaq_dress_a_parent": "0",
                "chaq_dress_b_parent": "1",
                "chaq_dress_c_parent": "na",
                "chaq_dress_d_parent": "skipped",
                **{f"chaq_devices_parent__{code}": "0" for code in devices},
                "chaq_devices_parent__walking_aid": "1",
                "chaq_devices_parent__wheelchair": "1",
                # Answered, nothing ticked: every option 0.
                **{f"chaq_help_parent__{code}": "0" for code in helps},
                "chaq_pain_vas_parent": "35",
                # Asked only when "other" is ticked, and it is not.
                "chaq_devices_other_parent": "not_asked",
            },
        ),
        **not_collected("chaq_child", child),
        **collected("clinician", "1.0.0", "r-clin-v1"),
        "phys_global": "3.5",
        "active_joints": "4",
        "active_joints_27": "3",
        "limited_joints": "2",
        "esr": "12",
        "crp": "not_reached",
        "jia_course": "poly",
        # Version 1.0.0 has no such item: never asked.
        "infusion_given": "not_asked",
        # Submitted twice: the later one, as scored.
        **collected("vas_pain_parent", "1.0.0", "r-vas-p-v1-b"),
        "vas_pain_parent": "25",
        **collected("vas_pain_child", "1.0.0", "r-vas-c-v1"),
        "vas_pain_child": "40",
    }
    v2 = {
        "site": "S01",
        "patient": "DEMO-001",
        "visit": "V2",
        "visit_date": "2024-04-01",
        "age_years": "9.75",
        **not_collected("chaq_parent", parent),
        **collected("chaq_child", "1.0.0", "r-chaq-c-v2"),
        **block(
            child,
            "not_reached",
            {
                "chaq_dress_a_child": "3",
                **{f"chaq_devices_child__{code}": "0" for code in devices},
                "chaq_devices_child__other": "1",
                "chaq_devices_other_child": 'a thick pen, and a "grip" ruler',
                **{f"chaq_help_child__{code}": "skipped" for code in helps},
            },
        ),
        **collected("clinician", "1.1.0", "r-clin-v2"),
        "phys_global": "2",
        "active_joints": "0",
        "active_joints_27": "not_reached",
        "limited_joints": "not_reached",
        "esr": "7.25",
        "crp": "0.5",
        "jia_course": "oligo",
        "infusion_given": "1",
        **not_collected("vas_pain_parent", ["vas_pain_parent"]),
        **not_collected("vas_pain_child", ["vas_pain_child"]),
    }
    v0 = {
        "site": "S02",
        "patient": "DEMO-002",
        "visit": "V0",
        "visit_date": "2024-01-08",
        "age_years": "",
        **not_collected("chaq_parent", parent),
        **not_collected("chaq_child", child),
        **collected("clinician", "1.1.0", "r-clin-002-v0"),
        "phys_global": "6.5",
        "active_joints": "12",
        "active_joints_27": "9",
        "limited_joints": "5",
        "esr": "40",
        "crp": "3.25",
        "jia_course": "poly",
        "infusion_given": "0",
        **not_collected("vas_pain_parent", ["vas_pain_parent"]),
        **not_collected("vas_pain_child", ["vas_pain_child"]),
    }
    return [v1, v2, v0]


def test_every_cell_of_the_wide_file_holds_the_answer_or_a_missing_word(
    scenario: Scenario, tmp_path: Path
) -> None:
    """instruments.md §2: na, skipped, not reached and not collected each keep their word."""
    write_all(scenario, tmp_path)
    chaq = scenario.context.forms[("chaq", "1.0.0")]
    assert read_header(tmp_path / "wide.csv") == expected_header(chaq)
    rows = read_csv(tmp_path / "wide.csv")
    expected = expected_rows(chaq)
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected, strict=True):
        assert list(got) == list(want)
        wrong = {name: (got[name], want[name]) for name in want if got[name] != want[name]}
        assert not wrong, f"{want['patient']} {want['visit']}: {wrong}"


def test_the_wide_file_leaves_out_responses_entered_in_error(
    scenario: Scenario, tmp_path: Path
) -> None:
    """The entered-in-error clinician response at V1 (phys_global 9) is not in the row."""
    write_all(scenario, tmp_path)
    v1 = read_csv(tmp_path / "wide.csv")[0]
    assert (v1["clinician_response_id"], v1["phys_global"]) == ("r-clin-v1", "3.5")
    assert "V3" not in {row["visit"] for row in read_csv(tmp_path / "wide.csv")}


def test_a_deidentified_wide_file_has_no_text_columns(
    deidentified: Scenario, tmp_path: Path
) -> None:
    write_all(deidentified, tmp_path)
    chaq = deidentified.context.forms[("chaq", "1.0.0")]
    header = read_header(tmp_path / "wide.csv")
    assert header == expected_header(chaq, text=False)
    assert "chaq_devices_other_child" not in header
    expected = expected_rows(chaq)
    for got, want in zip(read_csv(tmp_path / "wide.csv"), expected, strict=True):
        assert got == {name: value for name, value in want.items() if "devices_other" not in name}


def test_a_valid_response_with_no_column_block_is_refused_with_its_id(
    scenario: Scenario, tmp_path: Path
) -> None:
    stray = response("r-stray", "chaq", "1.0.0", "sibling", "V2", CHAQ_CHILD_V2.submitted_at, {})
    patient = PatientRecord(
        "DEMO-003",
        "S01",
        None,
        None,
        [VisitRecord("V2", CHAQ_CHILD_V2.submitted_at.date(), None, [stray], {})],
        [stray],
    )
    writer = WideCsvWriter()
    writer.begin(tmp_path, scenario.context)
    with pytest.raises(FormError, match=r"r-stray: form chaq has no respondent 'sibling'"):
        writer.add_patient(patient)
    writer.finish()


def test_a_response_on_an_unknown_form_version_is_refused_with_the_fix(
    scenario: Scenario, tmp_path: Path
) -> None:
    stray = response("r-new", "chaq", "9.0.0", "child", "V2", CHAQ_CHILD_V2.submitted_at, {})
    patient = PatientRecord(
        "DEMO-003",
        "S01",
        None,
        None,
        [VisitRecord("V2", CHAQ_CHILD_V2.submitted_at.date(), None, [stray], {})],
        [stray],
    )
    writer = WideCsvWriter()
    writer.begin(tmp_path, scenario.context)
    with pytest.raises(FormError, match=r"form chaq 9\.0\.0, .* forms/versions/"):
        writer.add_patient(patient)
    writer.finish()
