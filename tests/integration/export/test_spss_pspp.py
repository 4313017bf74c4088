"""The SPSS files read by GNU PSPP, a reader that is not ours (DESIGN §9): the dictionary it
displays and the data it saves as CSV agree with the records and with pyreadstat's reading."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from epro.export.records import MISSING_CODES, MISSING_LABELS, Missing, PatientRecord
from epro.export.spss import spss_writer
from epro.forms.model import Form
from tests.helpers import spss_cases as cases
from tests.helpers.pspp_run import Output, needs_pspp, run_pspp

pyreadstat = pytest.importorskip("pyreadstat")
pytestmark = needs_pspp

PSPP_MEASURE = {"Nominal": "nominal", "Ordinal": "ordinal", "Scale": "scale"}


@pytest.fixture(scope="module")
def forms() -> dict[tuple[str, str], Form]:
    return cases.all_forms()


@pytest.fixture(scope="module")
def patients(forms: dict[tuple[str, str], Form]) -> list[PatientRecord]:
    return cases.patients(forms)


@pytest.fixture(scope="module")
def folder(
    tmp_path_factory: pytest.TempPathFactory,
    forms: dict[tuple[str, str], Form],
    patients: list[PatientRecord],
) -> Path:
    out = tmp_path_factory.mktemp("export")
    writer = spss_writer()
    writer.begin(out, cases.context(forms))
    for patient in patients:
        writer.add_patient(patient)
    writer.finish()
    return out / "spss"


def pspp(folder: Path, name: str, *commands: str) -> Output:
    syntax = folder / f"{name}.sps"
    syntax.write_text("\n".join(commands) + "\n", encoding="utf-8")
    return run_pspp(syntax, folder, folder / f"{name}.csv")


def dictionary(folder: Path, sav: str) -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    """PSPP's DISPLAY DICTIONARY: variables by name, and value labels by variable."""
    out = pspp(
        folder, f"dict_{sav}", "SET TVARS=NAMES.", f"GET FILE='{sav}'.", "DISPLAY DICTIONARY."
    )
    (variables,) = out.named("Variables")
    header, *rows = variables.rows
    by_name = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    labels: dict[str, dict[str, str]] = {}
    for table in out.named("Value Labels"):
        current = ""
        for row in table.rows[1:]:
            if len(row) == 1 and row[0].startswith("Footnote"):
                continue
            first, value, label = row
            current = first or current
            labels.setdefault(current, {})[value] = label
    return by_name, labels


def missing_of(printed: str) -> Any:
    """PSPP's Missing Values column: ``-9 THRU -6``, or ``"-9   "; "-7   "`` on a string."""
    if not printed:
        return None
    if " THRU " in printed:
        low, high = printed.split(" THRU ")
        return (float(low), float(high))
    return sorted(text.strip() for text in re.findall(r'"([^"]*)"', printed))


@pytest.mark.parametrize("sav", ["wide.sav", "scores.sav", "analysis.sav"])
def test_pspp_shows_the_labels_measures_formats_and_missing_values_pyreadstat_reads(
    folder: Path, sav: str
) -> None:
    shown, value_labels = dictionary(folder, sav)
    _, meta = pyreadstat.read_sav(str(folder / sav), metadataonly=True, user_missing=True)
    assert list(shown) == meta.column_names
    for name, label in zip(meta.column_names, meta.column_labels, strict=True):
        row = shown[name]
        assert row["Label"] == label, name
        assert PSPP_MEASURE[row["Measurement Level"]] == meta.variable_measure[name], name
        assert row["Print Format"] == meta.original_variable_types[name], name
        declared = meta.missing_ranges.get(name)
        found = missing_of(row.get("Missing Values", ""))
        if declared is None:
            assert found is None, name
        elif isinstance(declared[0]["lo"], str):
            assert found == sorted(d["lo"] for d in declared), name
        else:
            assert found == (declared[0]["lo"], declared[0]["hi"]), name
    for name, labels in meta.variable_value_labels.items():
        printed = value_labels[name]
        assert len(printed) == len(labels), name
        for value, text in printed.items():
            missing = value.endswith("[a]")
            value = value.removesuffix("[a]")
            key: Any = value if isinstance(next(iter(labels)), str) else float(value)
            assert labels[key] == text, name
            assert missing == (key in _missing_keys(meta, name)), name


def _missing_keys(meta: Any, name: str) -> set[Any]:
    declared = meta.missing_ranges.get(name, [])
    keys: set[Any] = set()
    for d in declared:
        if isinstance(d["lo"], str):
            keys.add(d["lo"])
        else:
            keys.update(
                float(code) for code in MISSING_CODES.values() if d["lo"] <= code <= d["hi"]
            )
    return keys


def saved_csv(folder: Path, sav: str, missing: str, cells: str = "VALUES") -> list[dict[str, str]]:
    name = f"{sav.removesuffix('.sav')}_{missing}_{cells}".lower()
    pspp(
        folder,
        name,
        f"GET FILE='{sav}'.",
        f"SAVE TRANSLATE /OUTFILE='{name}.data.csv' /TYPE=CSV /FIELDNAMES /CELLS={cells}"
        f" /MISSING={missing} /REPLACE.",
    )
    with (folder / f"{name}.data.csv").open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_pspp_reads_every_answer_as_it_was_given(
    folder: Path, forms: dict[tuple[str, str], Form], patients: list[PatientRecord]
) -> None:
    rows = {(r["patient"], r["visit"]): r for r in saved_csv(folder, "wide.sav", "IGNORE")}
    checked = 0
    for patient, visit, name, given in cases.given_answers(forms, patients):
        found = rows[(patient, visit)][name]
        if isinstance(given, str):
            assert found == given, name
        else:
            assert isinstance(given, int | float), name
            assert float(found) == pytest.approx(float(given)), name
        checked += 1
    assert checked > 2000
    first = patients[0].visits[0]
    # PSPP writes dates in CSV as mm/dd/yyyy.
    printed = rows[("DEMO-001", "V1")]["visit_date"]
    assert date(int(printed[6:]), int(printed[:2]), int(printed[3:5])) == first.visit_date


def test_pspp_sees_each_missing_code_and_treats_it_as_missing(folder: Path) -> None:
    """instruments.md §2: the five reasons survive in PSPP, and PSPP excludes them all."""
    raw = {(r["patient"], r["visit"]): r for r in saved_csv(folder, "wide.sav", "IGNORE")}
    recoded = {(r["patient"], r["visit"]): r for r in saved_csv(folder, "wide.sav", "RECODE")}
    labelled = {
        (r["patient"], r["visit"]): r for r in saved_csv(folder, "wide.sav", "IGNORE", "LABELS")
    }
    key = ("DEMO-001", "V1")
    expected = {
        "chaq_dress_a_parent": Missing.NOT_APPLICABLE,
        "chaq_dress_b_parent": Missing.SKIPPED,
        "chaq_dress_c_parent": Missing.NOT_REACHED,
        "jamar_jafs_01_child": Missing.NOT_COLLECTED,
        "chaq_devices_other_parent": Missing.SKIPPED,
        "chaq_devices_other_child": Missing.NOT_REACHED,
    }
    for name, reason in expected.items():
        assert raw[key][name].strip() == str(MISSING_CODES[reason]), name
        assert recoded[key][name].strip() == "", name
        assert labelled[key][name] == MISSING_LABELS[reason], name
    # Never asked (left out by its condition, or not in the version answered): its own code.
    for name in ("jamar_stiffness_duration_parent", "crp"):
        assert raw[key][name].strip() == str(MISSING_CODES[Missing.NOT_ASKED]), name
        assert recoded[key][name].strip() == "", name
    # Only the codes become missing: every other value survives RECODE.
    codes = {str(c) for c in MISSING_CODES.values()}
    for where, row in raw.items():
        for name, value in row.items():
            if value.strip() in codes:
                assert recoded[where][name].strip() == "", name
            else:
                assert recoded[where][name] == value, name
    assert labelled[("DEMO-001", "V1")]["jamar_status_parent"].endswith("(relapse)")


def test_pspp_reads_the_scores_and_the_analysis_file(
    folder: Path, patients: list[PatientRecord]
) -> None:
    scores = {(r["patient"], r["visit"]): r for r in saved_csv(folder, "scores.sav", "IGNORE")}
    analysis = {r["patient"]: r for r in saved_csv(folder, "analysis.sav", "IGNORE")}
    checked = 0
    for patient in patients:
        for visit in patient.visits:
            for name, value in visit.scores.items():
                printed = scores[(patient.code, visit.visit)].get(name)
                if printed is None:
                    continue  # a score the catalogue does not list
                if value is None:
                    assert printed.strip() == "", name
                else:
                    assert float(printed) == pytest.approx(float(value), abs=1e-9), name
                    checked += 1
            for column, printed in analysis[patient.code].items():
                if column.endswith(f"_{visit.visit}"):
                    value = visit.scores.get(column.removesuffix(f"_{visit.visit}"))
                    if value is None:
                        assert printed.strip() == ""
                    else:
                        assert float(printed) == pytest.approx(float(value), abs=1e-9)
    assert checked > 500
    skipped = analysis["DEMO-011"]["vas_wellbeing_V8"]
    assert skipped.strip() == ""
