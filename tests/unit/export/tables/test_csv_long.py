"""long.csv: one row per answerable item of every response, cell by cell (instruments.md §2)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from epro.forms import Form
from tests.helpers.tables_kit import Scenario, read_csv, read_header, write_all

HEADER = [
    "site",
    "patient",
    "visit",
    "visit_date",
    "form_id",
    "form_version",
    "respondent",
    "language",
    "response_id",
    "submitted_at",
    "received_at",
    "out_of_window",
    "status",
    "status_reason",
    "link_id",
    "value",
    "value_label",
    "missing",
]

NOT_REACHED = ("", "", "not_reached")
NOT_ASKED = ("", "", "not_asked")


def head(
    visit: str,
    visit_date: str,
    form: str,
    version: str,
    respondent: str,
    language: str,
    response_id: str,
    submitted: str,
    *,
    out_of_window: str = "0",
    reason: str = "",
    site: str = "S01",
    patient: str = "DEMO-001",
) -> list[str]:
    """The response's cells of a long row; every response here was received two hours later."""
    later = datetime.fromisoformat(submitted) + timedelta(hours=2)
    received = later.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    status = "entered_in_error" if reason else "valid"
    return [
        *(site, patient, visit, visit_date, form, version, respondent, language, response_id),
        *(submitted, received, out_of_window, status, reason),
    ]


def rows_of(
    form: Form, head: list[str], answered: dict[str, tuple[str, str, str]]
) -> list[list[str]]:
    """The expected rows of one response: every answerable item in form order."""
    # In these records every item asked under a condition whose answer is absent was left out
    # by that condition (the "other" line with "other" not ticked): not asked.
    return [
        [
            *head,
            item.link_id,
            *answered.get(item.link_id, NOT_ASKED if item.enable_when else NOT_REACHED),
        ]
        for item in form.answerable_items
    ]


def expected_rows(scenario: Scenario) -> list[list[str]]:
    forms = scenario.context.forms
    chaq, vas = forms[("chaq", "1.0.0")], forms[("vas_pain", "1.0.0")]
    clin_old, clin_new = forms[("clinician", "1.0.0")], forms[("clinician", "1.1.0")]
    v1, v2 = "2024-03-04", "2024-04-01"
    rows = rows_of(
        chaq,
        head(
            "V1", v1, "chaq", "1.0.0", "parent", "nl", "r-chaq-p-v1", "2024-03-04T09:00:00.000000Z"
        ),
        {
            "chaq_dress_a": ("0", "Not hard at all", ""),
            "chaq_dress_b": ("1", "A bit hard", ""),
            "chaq_dress_c": ("", "", "na"),
            "chaq_dress_d": ("", "", "skipped"),
            # Ticked out of order, written in the order of the options.
            "chaq_devices": (
                "walking_aid;wheelchair",
                "A stick, walker or crutches; A wheelchair",
                "",
            ),
            # Answered with nothing ticked: not missing.
            "chaq_help": ("", "", ""),
            "chaq_pain_vas": ("35", "", ""),
        },
    )
    rows += rows_of(
        vas,
        head(
            "V1",
            v1,
            "vas_pain",
            "1.0.0",
            "parent",
            "nl",
            "r-vas-p-v1-a",
            "2024-03-04T08:30:00.000000Z",
        ),
        {"vas_pain": ("20", "", "")},
    )
    rows += rows_of(
        vas,
        head(
            "V1",
            v1,
            "vas_pain",
            "1.0.0",
            "parent",
            "nl",
            "r-vas-p-v1-b",
            "2024-03-04T09:45:00.000000Z",
            out_of_window="1",
        ),
        {"vas_pain": ("25", "", "")},
    )
    rows += rows_of(
        vas,
        head(
            "V1",
            v1,
            "vas_pain",
            "1.0.0",
            "child",
            "nl",
            "r-vas-c-v1",
            "2024-03-04T09:50:00.000000Z",
        ),
        {"vas_pain": ("40", "", "")},
    )
    rows += rows_of(
        clin_old,
        head(
            "V1",
            v1,
            "clinician",
            "1.0.0",
            "staff",
            "en",
            "r-clin-v1",
            "2024-03-04T11:00:00.000000Z",
        ),
        {
            "phys_global": ("3.5", "", ""),
            "active_joints": ("4", "", ""),
            "active_joints_27": ("3", "", ""),
            "limited_joints": ("2", "", ""),
            "esr": ("12", "", ""),
            "jia_course": ("poly", "Polyarticular (many joints)", ""),
        },
    )
    rows += rows_of(
        clin_new,
        head(
            "V1",
            v1,
            "clinician",
            "1.1.0",
            "staff",
            "en",
            "r-clin-v1-error",
            "2024-03-04T11:05:00.000000Z",
            reason="entered for the wrong patient, see note 4",
        ),
        {"phys_global": ("9", "", ""), "infusion_given": ("0", "no", "")},
    )
    rows += rows_of(
        chaq,
        head(
            "V2", v2, "chaq", "1.0.0", "child", "nl", "r-chaq-c-v2", "2024-04-01T10:00:00.000000Z"
        ),
        {
            "chaq_dress_a": ("3", "Could not do it", ""),
            "chaq_devices": ("other", "Something else", ""),
            "chaq_devices_other": ('a thick pen, and a "grip" ruler', "", ""),
            "chaq_help": ("", "", "skipped"),
        },
    )
    rows += rows_of(
        clin_new,
        head(
            "V2",
            v2,
            "clinician",
            "1.1.0",
            "staff",
            "en",
            "r-clin-v2",
            "2024-04-01T11:00:00.000000Z",
        ),
        {
            "phys_global": ("2", "", ""),
            "active_joints": ("0", "", ""),
            "esr": ("7.25", "", ""),
            "crp": ("0.5", "", ""),
            "jia_course": ("oligo", "Oligoarticular (few joints)", ""),
            "infusion_given": ("1", "yes", ""),
        },
    )
    # V3 has no valid response, so no visit record and no visit date.
    rows += rows_of(
        vas,
        head(
            "V3",
            "",
            "vas_pain",
            "1.0.0",
            "parent",
            "nl",
            "r-vas-p-v3-error",
            "2024-04-29T09:00:00.000000Z",
            reason="kiosk left on the wrong patient",
        ),
        {"vas_pain": ("70", "", "")},
    )
    rows += rows_of(
        clin_new,
        head(
            "V0",
            "2024-01-08",
            "clinician",
            "1.1.0",
            "staff",
            "en",
            "r-clin-002-v0",
            "2024-01-08T08:00:00.000000Z",
            site="S02",
            patient="DEMO-002",
        ),
        {
            "phys_global": ("6.5", "", ""),
            "active_joints": ("12", "", ""),
            "active_joints_27": ("9", "", ""),
            "limited_joints": ("5", "", ""),
            "esr": ("40", "", ""),
            "crp": ("3.25", "", ""),
            "jia_course": ("poly", "Polyarticular (many joints)", ""),
            "infusion_given": ("0", "no", ""),
        },
    )
    return rows


def test_every_cell_of_the_long_file_holds_the_answer_or_why_it_is_missing(
    scenario: Scenario, tmp_path: Path
) -> None:
    """instruments.md §2: na, skipped, not reached and not asked stay distinguishable."""
    written = write_all(scenario, tmp_path)
    expected = expected_rows(scenario)
    assert read_header(tmp_path / "long.csv") == HEADER
    found = [list(row.values()) for row in read_csv(tmp_path / "long.csv")]
    assert len(found) == len(expected)
    for number, (got, want) in enumerate(zip(found, expected, strict=True)):
        assert got == want, f"row {number + 1}"
    assert {w.path.name: w.rows for w in written}["long.csv"] == len(expected)


def test_the_long_file_keeps_entered_in_error_responses_with_their_reason(
    scenario: Scenario, tmp_path: Path
) -> None:
    write_all(scenario, tmp_path)
    rows = read_csv(tmp_path / "long.csv")
    in_error = {(r["response_id"], r["status_reason"]) for r in rows if r["status"] != "valid"}
    assert in_error == {
        ("r-clin-v1-error", "entered for the wrong patient, see note 4"),
        ("r-vas-p-v3-error", "kiosk left on the wrong patient"),
    }


def test_a_deidentified_long_file_has_no_free_text_rows_and_no_status_reasons(
    deidentified: Scenario, tmp_path: Path
) -> None:
    """De-identified exports carry no free text: no text items, no data manager's reasons."""
    write_all(deidentified, tmp_path)
    header = read_header(tmp_path / "long.csv")
    assert header == [name for name in HEADER if name != "status_reason"]
    rows = read_csv(tmp_path / "long.csv")
    assert "chaq_devices_other" not in {row["link_id"] for row in rows}
    full = [
        r for r in expected_rows(deidentified) if r[HEADER.index("link_id")] != "chaq_devices_other"
    ]
    reason = HEADER.index("status_reason")
    assert [list(row.values()) for row in rows] == [r[:reason] + r[reason + 1 :] for r in full]
