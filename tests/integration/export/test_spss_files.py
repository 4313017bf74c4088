"""The SPSS files read back with pyreadstat: values, labels, missing values, measures, formats.

Records are built by hand from the real form files (``spss_cases``); every expectation comes
from those records, the forms and instruments.md, never from the writer.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from epro.errors import ExportError
from epro.export.layout import answer_columns, form_prefix, form_versions, respondents_of
from epro.export.outcomes import OUTCOMES
from epro.export.records import MISSING_CODES, Missing, PatientRecord
from epro.export.spss import spss_writer
from epro.forms.model import Form
from epro.scoring import CATEGORY_LABELS
from epro.scoring.catalogue import SCORES, score_columns
from tests.helpers import spss_cases as cases

pyreadstat = pytest.importorskip("pyreadstat")

NA, SKIPPED = MISSING_CODES[Missing.NOT_APPLICABLE], MISSING_CODES[Missing.SKIPPED]
REACHED, COLLECTED = MISSING_CODES[Missing.NOT_REACHED], MISSING_CODES[Missing.NOT_COLLECTED]


def write(out: Path, patients: list[PatientRecord], **options: Any) -> list[Any]:
    forms = cases.all_forms()
    writer = spss_writer()
    writer.begin(out, cases.context(forms, **options))
    for patient in patients:
        writer.add_patient(patient)
    return writer.finish()


@pytest.fixture(scope="module")
def forms() -> dict[tuple[str, str], Form]:
    return cases.all_forms()


@pytest.fixture(scope="module")
def patients(forms: dict[tuple[str, str], Form]) -> list[PatientRecord]:
    return cases.patients(forms)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, patients: list[PatientRecord]) -> Path:
    out = tmp_path_factory.mktemp("export")
    write(out, patients)
    return out / "spss"


def read(folder: Path, name: str, **options: Any) -> tuple[Any, Any]:
    result: tuple[Any, Any] = pyreadstat.read_sav(str(folder / name), user_missing=True, **options)
    return result


def row_of(frame: Any, patient: str, visit: str) -> Any:
    found = frame[(frame["patient"] == patient) & (frame["visit"] == visit)]
    assert len(found) == 1
    return found.iloc[0]


def test_the_writer_lists_its_four_files_with_their_row_counts(
    tmp_path: Path, patients: list[PatientRecord]
) -> None:
    written = write(tmp_path, patients)
    visits = sum(len(p.visits) for p in patients)
    assert [(str(w.path), w.rows) for w in written] == [
        ("spss/wide.sav", visits),
        ("spss/scores.sav", visits),
        ("spss/analysis.sav", len(patients)),
        ("spss/analysis.sps", None),
    ]
    assert sorted(p.name for p in (tmp_path / "spss").iterdir()) == [
        "analysis.sav",
        "analysis.sps",
        "scores.sav",
        "wide.sav",
    ]


def wide_csv_columns(forms: dict[tuple[str, str], Form], include_text: bool = True) -> list[str]:
    """DESIGN §9: the wide table's columns, per form and respondent in form id order."""
    names = ["site", "patient", "visit", "visit_date", "age_years"]
    for versions in form_versions(forms).values():
        for respondent in respondents_of(versions):
            prefix = form_prefix(versions[-1], respondent)
            names += [f"{prefix}_status", f"{prefix}_version", f"{prefix}_response_id"]
            names += [
                c.name for c in answer_columns(versions, respondent, include_text=include_text)
            ]
    return names


def test_wide_file_has_the_columns_of_the_wide_csv_in_order(
    folder: Path, forms: dict[tuple[str, str], Form]
) -> None:
    frame, meta = read(folder, "wide.sav")
    assert list(frame.columns) == wide_csv_columns(forms)
    # Both respondents of each patient form, and both clinician versions' items.
    assert {"chaq_dress_a_parent", "chaq_dress_a_child", "crp", "jamar_status_child"} <= set(
        meta.column_names
    )


def test_deidentified_wide_file_carries_no_free_text(
    tmp_path: Path, forms: dict[tuple[str, str], Form], patients: list[PatientRecord]
) -> None:
    write(tmp_path, patients, deidentified=True)
    frame, _ = read(tmp_path / "spss", "wide.sav")
    assert list(frame.columns) == wide_csv_columns(forms, include_text=False)
    assert "chaq_devices_other_parent" not in frame.columns


def test_every_missing_reason_has_its_own_code_on_a_numeric_answer(folder: Path) -> None:
    """instruments.md §2: na, skipped, not reached and not collected stay distinguishable."""
    frame, _ = read(folder, "wide.sav")
    first = row_of(frame, "DEMO-001", "V1")
    assert first["chaq_dress_a_parent"] == NA
    assert first["chaq_dress_b_parent"] == SKIPPED
    assert first["chaq_dress_c_parent"] == REACHED
    assert first["jamar_status_child"] == COLLECTED
    assert first["jamar_jafs_01_child"] == COLLECTED
    assert first["jamar_joints_child__knee"] == COLLECTED
    assert first["jamar_child_status"] == 0
    assert first["jamar_child_version"] == ""
    assert first["jamar_child_response_id"] == ""
    assert first["jamar_parent_status"] == 1
    assert first["jamar_parent_response_id"] == "DEMO-001-V1-jamar-parent"


def test_missing_codes_are_system_missing_when_user_missing_values_are_honoured(
    folder: Path,
) -> None:
    frame, _ = pyreadstat.read_sav(str(folder / "wide.sav"))
    first = row_of(frame, "DEMO-001", "V1")
    for name in ("chaq_dress_a_parent", "chaq_dress_b_parent", "chaq_dress_c_parent"):
        assert math.isnan(first[name])
    assert isinstance(first["chaq_devices_other_parent"], float)


def test_free_text_holds_the_codes_as_text_declared_as_discrete_missing_values(
    folder: Path,
) -> None:
    frame, meta = read(folder, "wide.sav")
    first = row_of(frame, "DEMO-001", "V1")
    assert first["chaq_devices_other_parent"] == str(SKIPPED)
    assert first["chaq_devices_other_child"] == str(REACHED)
    declared = meta.missing_ranges["chaq_devices_other_parent"]
    assert sorted(d["lo"] for d in declared) == sorted(
        str(MISSING_CODES[m]) for m in (Missing.NOT_ASKED, Missing.NOT_REACHED, Missing.SKIPPED)
    )
    assert all(d["lo"] == d["hi"] for d in declared)
    assert meta.readstat_variable_types["chaq_devices_other_parent"] == "string"
    labels = meta.variable_value_labels["chaq_devices_other_parent"]
    assert labels[str(SKIPPED)].startswith("skipped")


def test_an_item_never_asked_holds_the_not_asked_code(folder: Path) -> None:
    frame, _ = read(folder, "wide.sav")
    first = row_of(frame, "DEMO-001", "V1")
    not_asked = float(MISSING_CODES[Missing.NOT_ASKED])
    # Hidden by its condition: no morning stiffness, so no duration was asked.
    assert first["jamar_stiffness_duration_parent"] == not_asked
    # Not in the clinician form version that was answered (0.9.0 has no crp).
    assert first["clinician_version"] == cases.OLD_CLINICIAN
    assert first["crp"] == not_asked
    later = row_of(frame, "DEMO-001", "V3")
    assert later["clinician_version"] == "1.0.0"
    assert not math.isnan(later["crp"])


def test_numeric_answers_declare_the_missing_range_and_label_each_code(folder: Path) -> None:
    _, meta = read(folder, "wide.sav")
    for name in ("chaq_dress_a_parent", "jamar_pain_child", "vas_pain_parent", "crp"):
        assert meta.missing_ranges[name] == [{"lo": -9.0, "hi": -5.0}]
        labels = meta.variable_value_labels[name]
        assert {labels[float(code)].split(" ")[0] for code in MISSING_CODES.values()} == {
            "not",
            "skipped",
        }
    assert "chaq_parent_status" not in meta.missing_ranges


def test_every_answer_reads_back_as_it_was_given(
    folder: Path, forms: dict[tuple[str, str], Form], patients: list[PatientRecord]
) -> None:
    frame, _ = read(folder, "wide.sav")
    rows = {(r["patient"], r["visit"]): r for _, r in frame.iterrows()}
    checked = 0
    for patient, visit, name, given in cases.given_answers(forms, patients):
        assert rows[(patient, visit)][name] == given, name
        checked += 1
    assert checked > 2000


def test_text_coded_choices_are_numbered_in_option_order_with_labels(
    folder: Path, forms: dict[tuple[str, str], Form]
) -> None:
    frame, meta = read(folder, "wide.sav")
    item = forms[("jamar", "1.0.0")].item("jamar_status")
    labels = meta.variable_value_labels["jamar_status_parent"]
    for number, option in enumerate(item.options, start=1):
        assert labels[float(number)] == f"{option.text['en']} ({option.code})"
    assert row_of(frame, "DEMO-001", "V1")["jamar_status_parent"] == 1 + list(item.codes).index(
        "relapse"
    )
    assert meta.readstat_variable_types["jia_course"] == "double"


def test_value_labels_of_choices_flags_and_form_status(
    folder: Path, forms: dict[tuple[str, str], Form]
) -> None:
    _, meta = read(folder, "wide.sav")
    labels = meta.variable_value_labels
    chaq = forms[("chaq", "1.0.0")].item("chaq_dress_a")
    for option in chaq.options:
        assert labels["chaq_dress_a_child"][float(option.code)] == option.text["en"]
    assert labels["jamar_stiffness_parent"][0.0] == "no"
    assert labels["jamar_stiffness_parent"][1.0] == "yes"
    assert labels["chaq_devices_parent__wheelchair"][1.0] == "yes"
    assert labels["chaq_parent_status"] == {0.0: "not collected", 1.0: "collected"}


def test_variable_labels_carry_the_item_text_and_respondent(
    folder: Path, forms: dict[tuple[str, str], Form]
) -> None:
    _, meta = read(folder, "wide.sav")
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    item = forms[("jamar", "1.0.0")].item("jamar_pain")
    assert labels["jamar_pain_child"] == f"{item.text_for('en', 'child')} (child)"
    assert labels["jamar_pain_parent"] == f"{item.text_for('en', 'parent')} (parent)"
    assert labels["esr"] == forms[("clinician", "1.0.0")].item("esr").text["en"]
    assert labels["visit_date"].startswith("Visit date")


def test_measure_levels_follow_the_layout(folder: Path) -> None:
    _, meta = read(folder, "wide.sav")
    measure = meta.variable_measure
    assert measure["chaq_dress_a_parent"] == "ordinal"
    assert measure["jamar_status_parent"] == "nominal"
    assert measure["jamar_stiffness_parent"] == "nominal"
    assert measure["chaq_devices_parent__wheelchair"] == "nominal"
    assert measure["vas_wellbeing_child"] == "scale"
    assert measure["jamar_pain_parent"] == "scale"
    assert measure["visit_date"] == "scale"
    assert measure["patient"] == "nominal"


def test_formats_dates_as_dates_and_numbers_by_kind(
    folder: Path, patients: list[PatientRecord]
) -> None:
    frame, meta = read(folder, "wide.sav")
    formats = meta.original_variable_types
    assert formats["visit_date"] == "SDATE10"
    assert formats["chaq_dress_a_parent"] == "F3.0"
    assert formats["jamar_pain_child"] == "F8.2"
    assert formats["vas_pain_child"] == "F8.0"
    assert formats["patient"].startswith("A")
    first = patients[0].visits[0]
    assert row_of(frame, "DEMO-001", "V1")["visit_date"] == first.visit_date
    assert isinstance(first.visit_date, date)
    assert row_of(frame, "DEMO-001", "V1")["age_years"] == pytest.approx(first.age_years)


def test_entered_in_error_responses_never_reach_the_files(folder: Path) -> None:
    frame, _ = read(folder, "wide.sav")
    ids = {v for c in frame.columns if c.endswith("_response_id") for v in frame[c]}
    assert "DEMO-001-V3-error" not in ids
    assert "DEMO-001-V3-clinician-staff" in ids


def test_scores_file_holds_every_catalogue_score_as_computed(
    folder: Path, patients: list[PatientRecord]
) -> None:
    frame, meta = read(folder, "scores.sav")
    names = [name for name, _ in score_columns()]
    assert list(frame.columns) == ["site", "patient", "visit", "visit_date", "age_years", *names]
    checked = 0
    for patient in patients:
        for visit in patient.visits:
            row = row_of(frame, patient.code, visit.visit)
            for name in names:
                value = visit.scores.get(name)
                if isinstance(row[name], str):  # a text score (the repeat-infusion reason)
                    assert row[name] == (value or ""), name
                elif value is None:
                    assert math.isnan(row[name]), name
                else:
                    assert row[name] == pytest.approx(float(value)), name
                    checked += 1
    assert checked > 500
    kinds = {spec.name: spec.kind for spec in SCORES}
    assert kinds["acr_pedi_30"] == "flag"
    assert meta.variable_value_labels["acr_pedi_30"] == {0.0: "no", 1.0: "yes"}
    assert meta.variable_value_labels["jadas71_category"] == {
        float(n): text for n, text in enumerate(CATEGORY_LABELS)
    }
    assert meta.variable_measure["jadas71_category"] == "ordinal"
    assert meta.variable_measure["chaq_di"] == "scale"
    assert meta.variable_measure["acr_pedi_30"] == "nominal"
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["chaq_di_child"].endswith("(child)")


def test_analysis_file_has_each_outcome_at_baseline_week_8_and_the_end(
    folder: Path, patients: list[PatientRecord]
) -> None:
    """instruments.md §1: outcomes at baseline (V1), week 8 (V3) and the end (V8, week 52)."""
    frame, meta = read(folder, "analysis.sav")
    names = [f"{o.score}_{v}" for o in OUTCOMES for v in ("V1", "V3", "V8")]
    assert list(frame.columns) == ["site", "patient", *names]
    assert list(frame["patient"]) == [p.code for p in patients]
    assert "vas_wellbeing_V1" in names
    for patient in patients:
        row = frame[frame["patient"] == patient.code].iloc[0]
        visits = {v.visit: v for v in patient.visits}
        for outcome in OUTCOMES:
            for code in ("V1", "V3", "V8"):
                value = visits[code].scores.get(outcome.score) if code in visits else None
                found = row[f"{outcome.score}_{code}"]
                if value is None:
                    assert math.isnan(found)
                else:
                    assert found == pytest.approx(float(value))
    assert all(meta.variable_measure[n] == "scale" for n in names)
    assert not meta.missing_ranges
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["vas_wellbeing_V1"].startswith(OUTCOMES[0].label)
    assert "baseline" in labels["vas_wellbeing_V1"]


def test_a_skipped_outcome_leaves_a_gap_in_the_analysis_file(folder: Path) -> None:
    frame, _ = read(folder, "analysis.sav")
    row = frame[frame["patient"] == "DEMO-011"].iloc[0]
    assert row["vas_wellbeing_V3"] == 60
    assert math.isnan(row["vas_wellbeing_V8"])


def test_same_records_give_the_same_bytes_stamped_with_the_bundle_time(
    tmp_path: Path, patients: list[PatientRecord]
) -> None:
    """DESIGN §9: the same bundle and options give the same bytes."""
    write(tmp_path / "one", patients)
    write(tmp_path / "two", patients)
    for name in ("wide.sav", "scores.sav", "analysis.sav", "analysis.sps"):
        one = (tmp_path / "one" / "spss" / name).read_bytes()
        assert one == (tmp_path / "two" / "spss" / name).read_bytes(), name
    _, meta = pyreadstat.read_sav(str(tmp_path / "one" / "spss" / "wide.sav"), metadataonly=True)
    assert meta.creation_time == cases.CREATED_AT.replace(tzinfo=None)


def test_an_export_without_patients_still_writes_readable_files(tmp_path: Path) -> None:
    write(tmp_path, [])
    frame, meta = read(tmp_path / "spss", "wide.sav")
    assert len(frame) == 0
    assert meta.variable_measure["chaq_dress_a_parent"] == "ordinal"


def test_two_valid_responses_of_one_form_at_a_visit_are_refused_by_id(
    tmp_path: Path, patients: list[PatientRecord]
) -> None:
    first = patients[0]
    visit = first.visits[1]
    twice = replace(visit.responses[0], response_id="DEMO-001-V3-again")
    bad = replace(first, visits=(replace(visit, responses=(*visit.responses, twice)),))
    with pytest.raises(ExportError, match="DEMO-001-V3-again") as caught:
        write(tmp_path, [bad])
    assert "entered in error" in str(caught.value)


def test_a_response_on_an_unknown_form_version_is_refused_with_the_remedy(
    tmp_path: Path, patients: list[PatientRecord]
) -> None:
    first = patients[0]
    visit = first.visits[1]
    unknown = replace(visit.responses[0], form_version="7.0.0")
    bad = replace(first, visits=(replace(visit, responses=(unknown, *visit.responses[1:])),))
    with pytest.raises(ExportError, match=r"version 7\.0\.0.*forms/versions"):
        write(tmp_path, [bad])
