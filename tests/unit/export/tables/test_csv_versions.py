"""Two versions of a checklist: an option the older version never offered is not collected."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

from epro.export.records import PatientRecord, VisitRecord
from epro.forms import Form, load_form, parse_form
from tests.helpers.tables_kit import Scenario, at, make_context, read_csv, response, write_all

GRAB_BAR = '  { code = "grab_bar", text = { en = "A grab bar", nl = "Een handgreep" } },\n'
OTHER = '  { code = "other", text = { en = "Something else"'


def chaq_1_1_0(forms_dir: Path) -> Form:
    """CHAQ 1.0.0 as version 1.1.0 whose device list offers a grab bar before "other"."""
    text = (forms_dir / "chaq.toml").read_text(encoding="utf-8")
    assert text.count(OTHER) == 1
    text = text.replace('version = "1.0.0"\nkind', 'version = "1.1.0"\nkind', 1)
    return parse_form(text.replace(OTHER, GRAB_BAR + OTHER), "chaq-1.1.0")


def test_a_checklist_option_missing_from_the_submitted_version_is_not_asked(
    forms_dir: Path, tmp_path: Path
) -> None:
    old, new = load_form(forms_dir / "chaq.toml"), chaq_1_1_0(forms_dir)
    assert old.version == "1.0.0"
    context = make_context(forms_dir, ("chaq",), deidentified=False)
    forms = {**context.forms, (new.id, new.version): new}
    context = dataclasses.replace(context, forms=forms)
    first = response(
        "r-old",
        "chaq",
        "1.0.0",
        "child",
        "V1",
        at(date(2024, 3, 4), 9),
        {"chaq_devices": ["wheelchair"]},
    )
    later = response(
        "r-new",
        "chaq",
        "1.1.0",
        "child",
        "V2",
        at(date(2024, 4, 1), 9),
        {"chaq_devices": ["grab_bar"]},
    )
    patient = PatientRecord(
        "DEMO-001",
        "S01",
        None,
        None,
        [
            VisitRecord("V1", date(2024, 3, 4), None, [first], {}),
            VisitRecord("V2", date(2024, 4, 1), None, [later], {}),
        ],
        [first, later],
    )
    write_all(Scenario(context, [patient]), tmp_path)
    v1, v2 = read_csv(tmp_path / "wide.csv")
    devices = [f"chaq_devices_child__{o.code}" for o in new.item("chaq_devices").options]
    assert (
        devices.index("chaq_devices_child__grab_bar")
        == devices.index("chaq_devices_child__other") - 1
    )
    assert {name: v1[name] for name in devices} == {
        **dict.fromkeys(devices, "0"),
        "chaq_devices_child__wheelchair": "1",
        "chaq_devices_child__grab_bar": "not_asked",
    }
    assert {name: v2[name] for name in devices} == {
        **dict.fromkeys(devices, "0"),
        "chaq_devices_child__grab_bar": "1",
    }
    assert (v1["chaq_child_version"], v2["chaq_child_version"]) == ("1.0.0", "1.1.0")


def test_a_free_text_reading_na_is_text_not_a_missing_code(forms_dir: Path, tmp_path: Path) -> None:
    """instruments.md §2: "na" is an answer code of coded items; a typed "na" is what was typed."""
    context = make_context(forms_dir, ("chaq",), deidentified=False)
    given = response(
        "r-na",
        "chaq",
        "1.0.0",
        "parent",
        "V1",
        at(date(2024, 3, 4), 9),
        {"chaq_devices": ["other"], "chaq_devices_other": "na", "chaq_dress_a": "na"},
    )
    patient = PatientRecord(
        "DEMO-001",
        "S01",
        None,
        None,
        [VisitRecord("V1", date(2024, 3, 4), None, [given], {})],
        [given],
    )
    write_all(Scenario(context, [patient]), tmp_path)
    rows = {row["link_id"]: row for row in read_csv(tmp_path / "long.csv")}
    other, dress = rows["chaq_devices_other"], rows["chaq_dress_a"]
    assert (other["value"], other["missing"]) == ("na", "")
    assert (dress["value"], dress["missing"]) == ("", "na")
    wide = read_csv(tmp_path / "wide.csv")[0]
    assert (wide["chaq_devices_other_parent"], wide["chaq_dress_a_parent"]) == ("na", "na")
    # The codebook says which columns "na" is a missing word in: not the free-text one.
    book = {row["variable"]: row for row in read_csv(tmp_path / "codebook.csv")}
    assert book["chaq_devices_other_parent"]["missing"] == (
        "skipped=-7; not_reached=-9; not_asked=-5; not_collected=-6"
    )
    assert book["chaq_dress_a_parent"]["missing"].startswith("na=-8; ")
