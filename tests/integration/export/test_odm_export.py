"""The CDISC ODM 1.3.2 export (DESIGN.md §9: every file checked by a reader that is not ours).

The file is validated against the ODM 1.3.2 XSD that odmlib ships, loaded with odmlib and put
through its OID checker, and read back with ElementTree: every answer, missing code, audit
record and flag must be the records', decoded with the file's own metadata.
"""

from __future__ import annotations

import importlib.resources
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from odmlib import loader as odm_loader_facade
from odmlib import odm_loader
from odmlib.exceptions import OdmlibOIDError
from odmlib.oid_generator import create_oid_checker

from epro.errors import ExportError
from epro.export.odm import odm_writer
from epro.export.records import ExportResponse, ResponseStatus
from epro.forms.enablement import rule_holds
from epro.forms.model import Form, ItemType
from tests.helpers.interchange_records import CREATED, export_forms, patients, run_writer, study

NS = "http://www.cdisc.org/ns/odm/v1.3"
O = "{" + NS + "}"  # noqa: E741 - the namespace prefix, kept short for readability
XSD = importlib.resources.files("odmlib.schemas") / "odm" / "1.3.2" / "ODM1-3-2.xsd"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    with importlib.resources.as_file(XSD) as path:
        return xmlschema.XMLSchema(str(path))


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("odm")
    files = run_writer(odm_writer(study()), out)
    assert [str(f.path) for f in files] == ["odm/study.xml"]
    return out / files[0].path


@pytest.fixture(scope="module")
def root(written: Path) -> ET.Element:
    return ET.parse(written).getroot()


def responses() -> dict[str, ExportResponse]:
    return {r.response_id: r for p in patients() for r in p.responses}


def form_data(root: ET.Element) -> dict[str, tuple[str, str, ET.Element]]:
    """FormData by FormRepeatKey (the response id), with its subject and visit."""
    found = {}
    for subject in root.iter(O + "SubjectData"):
        for event in subject.iter(O + "StudyEventData"):
            for data in event.iter(O + "FormData"):
                key = data.get("FormRepeatKey")
                assert key is not None
                assert key not in found
                found[key] = (subject.get("SubjectKey", ""), event.get("StudyEventOID", ""), data)
    return found


def item_defs(root: ET.Element) -> dict[str, tuple[str, str | None, str]]:
    """ItemOID -> (link id, checklist option, DataType), read from the file's metadata."""
    defs = {}
    for item in root.iter(O + "ItemDef"):
        aliases = {a.get("Context"): a.get("Name") for a in item.findall(O + "Alias")}
        defs[item.get("OID", "")] = (aliases["linkId"], aliases.get("option"), item.get("DataType"))
    return defs  # type: ignore[return-value]


def decode(
    data: ET.Element, defs: dict[str, Any], form: Form
) -> tuple[dict[str, Any], set[str], dict[str, bool]]:
    """The answers of one FormData, the items flagged absent, and whether each was not asked."""
    answers: dict[str, Any] = {}
    not_asked: dict[str, bool] = {}
    ticks: dict[str, list[str]] = {}
    flags: dict[str, set[str]] = {}
    for item_data in data.iter(O + "ItemData"):
        link_id, option, data_type = defs[item_data.get("ItemOID", "")]
        if item_data.get("IsNull") == "Yes":
            assert item_data.get("Value") is None
            flag = item_data.find(f"{O}Annotation/{O}Flag/{O}FlagValue")
            assert flag is not None
            assert flag.get("CodeListOID") == "CL.EPRO.FLAG"
            flags.setdefault(link_id, set()).add(flag.text or "")
            continue
        value = item_data.get("Value")
        assert value is not None
        if option is not None:
            ticks.setdefault(link_id, [])
            if value == "1":
                ticks[link_id].append(option)
        elif form.item(link_id).type is ItemType.BOOLEAN:
            answers[link_id] = {"1": True, "0": False}[value]
        elif data_type == "integer":
            answers[link_id] = int(value)
        elif data_type == "float":
            answers[link_id] = float(value)
        else:
            answers[link_id] = value
    not_reached = set()
    for link_id, found in flags.items():
        assert len(found) == 1, f"{link_id}: every option of a checklist gives one reason"
        (reason,) = found
        if reason in ("not_reached", "not_asked"):
            not_reached.add(link_id)
            not_asked[link_id] = reason == "not_asked"
        else:
            answers[link_id] = reason
    answers.update(ticks)
    return answers, not_reached, not_asked


def test_the_odm_file_validates_against_the_odm_1_3_2_schema_odmlib_ships(
    written: Path, schema: xmlschema.XMLSchema
) -> None:
    """DESIGN.md §9: the file is checked by a reader that is not ours, odmlib's ODM XSD."""
    errors = [f"{e.path}: {e.reason}" for e in schema.iter_errors(str(written))]
    assert errors == []


def test_the_schema_check_would_catch_a_broken_file(
    written: Path, schema: xmlschema.XMLSchema
) -> None:
    """The schema check is not vacuous."""
    # An attribute ODM does not define makes the file invalid: the check above is real.
    broken = written.read_text(encoding="utf-8").replace(
        'IsNull="Yes">', 'IsNull="Yes" Colour="red">', 1
    )
    assert not schema.is_valid(broken)


def _odmlib_root(text: str) -> Any:
    loader = odm_loader_facade.ODMLoader(odm_loader.XMLODMLoader(model_package="odm_1_3_2"))
    loader.load_odm_string(text)
    return loader.root()


def test_every_oid_is_unique_and_every_reference_defined_by_odmlibs_checker(
    written: Path,
) -> None:
    """DESIGN.md §9: odmlib's OID checker finds every reference defined, and a dangling one."""
    text = written.read_text(encoding="utf-8")
    assert _odmlib_root(text).verify_oids(create_oid_checker("odm_1_3_2")) is True
    dangling = text.replace('ItemOID="IT.clinician.1.0.0.esr"', 'ItemOID="IT.clinician.esr"')
    with pytest.raises(OdmlibOIDError, match=r"IT\.clinician\.esr"):
        _odmlib_root(dangling).verify_oids(create_oid_checker("odm_1_3_2"))


def test_every_answer_in_clinical_data_equals_the_records_answer(root: ET.Element) -> None:
    """instruments.md §2: answers, na and skipped as stored; absent items flagged not asked
    (left out by the form's branching) or not reached."""
    forms = export_forms()
    defs = item_defs(root)
    found = form_data(root)
    expected = responses()
    assert set(found) == set(expected)
    for response_id, response in expected.items():
        subject, event, data = found[response_id]
        form = forms[(response.form_id, response.form_version)]
        assert (subject, event) == (response.patient, f"SE.{response.visit}")
        suffix = "" if response.respondent == "staff" else f".{response.respondent}"
        assert data.get("FormOID") == f"F.{response.form_id}.{response.form_version}{suffix}"
        answers, absent, not_asked = decode(data, defs, form)
        assert answers == dict(response.answers), response_id
        answerable = {item.link_id for item in form.answerable_items}
        assert absent == answerable - set(response.answers), response_id
        # An absent item is "not asked" exactly when its condition left it out.
        for link_id in absent:
            left_out = not rule_holds(form.item(link_id).enable_when, response.answers)
            assert not_asked[link_id] == left_out, (response_id, link_id)


def test_missing_answers_keep_their_reason(root: ET.Element) -> None:
    """instruments.md §2: "na", "skipped" and not reached stay three different things."""
    chaq = next(r for r in responses().values() if r.form_id == "chaq" and r.respondent == "child")
    _, _, data = form_data(root)[chaq.response_id]
    reasons = {}
    for item_data in data.iter(O + "ItemData"):
        flag = item_data.find(f"{O}Annotation/{O}Flag/{O}FlagValue")
        if flag is not None:
            reasons[item_data.get("ItemOID")] = flag.text
    part = "IT.chaq.1.0.0.child."
    assert reasons[part + "chaq_dress_b"] == "na"
    assert reasons[part + "chaq_arise_a"] == "skipped"
    assert reasons[part + "chaq_grip_e"] == "not_reached"
    assert part + "chaq_dress_a" not in reasons
    flags = {
        item.get("CodedValue")
        for item in root.iter(O + "CodeList")
        if item.get("OID") == "CL.EPRO.FLAG"
        for item in item.iter(O + "CodeListItem")
    }
    assert {"na", "skipped", "not_reached"} <= flags


def test_audit_records_carry_kiosk_site_times_and_the_envelope_sha256(root: ET.Element) -> None:
    """DESIGN.md §9: every response traceable to the signed envelope it came from."""
    found = form_data(root)
    receipts = {
        record.get("ID"): record
        for records in root.iter(O + "AuditRecords")
        for record in records.iter(O + "AuditRecord")
    }
    for response_id, response in responses().items():
        audit = found[response_id][2].find(O + "AuditRecord")
        receipt = receipts[f"AR.{response_id}.received"]
        for record, when in ((audit, response.submitted_at), (receipt, response.received_at)):
            assert record is not None
            assert record.findtext(O + "SourceID") == response.envelope_sha256
            user, location = record.find(O + "UserRef"), record.find(O + "LocationRef")
            assert user is not None
            assert location is not None
            assert user.get("UserOID") == f"USR.{response.device_id}"
            assert location.get("LocationOID") == f"LOC.{response.site}"
            stamp = record.findtext(O + "DateTimeStamp") or ""
            assert stamp.endswith("Z")
            assert stamp[:19] == when.strftime("%Y-%m-%dT%H:%M:%S")
    users = {user.get("OID") for user in root.iter(O + "User")}
    locations = {location.get("OID") for location in root.iter(O + "Location")}
    assert {"USR.kiosk-01", "USR.kiosk-02"} <= users
    assert locations == {"LOC.site-a", "LOC.site-b"}


def test_a_response_entered_in_error_keeps_its_answers_and_says_why(root: ET.Element) -> None:
    """records.py ResponseStatus: kept in the data, marked, with the data manager's reason."""
    found = form_data(root)
    wrong = next(r for r in responses().values() if r.status is ResponseStatus.ENTERED_IN_ERROR)
    data = found[wrong.response_id][2]
    annotation = data.find(O + "Annotation")
    assert annotation is not None
    assert annotation.findtext(f"{O}Flag/{O}FlagValue") == "entered_in_error"
    assert annotation.findtext(f"{O}Flag/{O}FlagType") == "response_status"
    assert annotation.findtext(O + "Comment") == wrong.status_reason
    assert len(list(data.iter(O + "ItemData"))) > 30
    status = next(
        record
        for record in root.iter(O + "AuditRecord")
        if record.get("ID") == f"AR.{wrong.response_id}.status"
    )
    assert status.get("EditPoint") == "DataManagement"
    assert status.findtext(O + "ReasonForChange") == wrong.status_reason
    assert status.findtext(O + "SourceID") == wrong.envelope_sha256
    assert (status.findtext(O + "DateTimeStamp") or "").startswith(CREATED.strftime("%Y-%m-%dT%H"))
    valid = [r for r in responses().values() if r.status is ResponseStatus.VALID]
    flagged = [
        r.response_id
        for r in valid
        for a in found[r.response_id][2].findall(O + "Annotation")
        if a.findtext(f"{O}Flag/{O}FlagValue") == "entered_in_error"
    ]
    assert flagged == []


def test_a_response_outside_the_visit_window_is_flagged_with_the_staff_reason(
    root: ET.Element,
) -> None:
    """DESIGN.md §4: out-of-window sessions need a reason and are flagged in exports."""
    late = next(r for r in responses().values() if r.out_of_window)
    annotation = form_data(root)[late.response_id][2].find(O + "Annotation")
    assert annotation is not None
    assert annotation.findtext(f"{O}Flag/{O}FlagValue") == "out_of_window"
    assert annotation.findtext(O + "Comment") == late.out_of_window_reason


def test_metadata_has_a_form_per_version_and_respondent_and_each_visits_forms(
    root: ET.Element,
) -> None:
    """Two versions of a form stay apart; a visit refers to every version of its forms."""
    forms = {f.get("OID") for f in root.iter(O + "FormDef")}
    assert {
        "F.clinician.1.0.0",
        "F.clinician.1.1.0",
        "F.chaq.1.0.0.parent",
        "F.chaq.1.0.0.child",
        "F.jamar.1.0.0.parent",
        "F.jamar.1.0.0.child",
    } <= forms
    events = {e.get("OID"): e for e in root.iter(O + "StudyEventDef")}
    assert list(events) == [f"SE.{visit.code}" for visit in study().visits]
    screening = [ref.get("FormOID") for ref in events["SE.V0"].iter(O + "FormRef")]
    assert screening == ["F.clinician.1.0.0", "F.clinician.1.1.0"]
    protocol = [ref.get("StudyEventOID") for ref in root.iter(O + "StudyEventRef")]
    assert protocol == list(events)
    old = {d.get("OID") for d in root.iter(O + "ItemDef") if "clinician.1.0.0" in d.get("OID", "")}
    assert "IT.clinician.1.0.0.esr_date" not in old
    assert "IT.clinician.1.1.0.esr_date" in {d.get("OID") for d in root.iter(O + "ItemDef")}


def test_item_definitions_are_typed_and_choices_decode_in_english_and_dutch(
    root: ET.Element,
) -> None:
    """instruments.md §2: the link id is the ItemOID suffix, the column name the ItemDef name."""
    defs = {d.get("OID"): d for d in root.iter(O + "ItemDef")}
    types = {
        "IT.chaq.1.0.0.child.chaq_dress_a": "integer",
        "IT.chaq.1.0.0.child.chaq_devices__wheelchair": "integer",
        "IT.chaq.1.0.0.child.chaq_pain_vas": "integer",
        "IT.jamar.1.0.0.parent.jamar_pain": "float",
        "IT.jamar.1.0.0.parent.jamar_stiffness": "integer",
        "IT.clinician.1.1.0.esr_date": "date",
        "IT.clinician.1.1.0.clinician_note": "text",
        "IT.clinician.1.1.0.jia_course": "text",
        "IT.clinician.1.1.0.phys_global": "float",
    }
    assert {oid: defs[oid].get("DataType") for oid in types} == types
    assert defs["IT.chaq.1.0.0.child.chaq_dress_a"].get("Name") == "chaq_dress_a_child"
    checks = {
        (c.get("Comparator"), c.findtext(O + "CheckValue"))
        for c in defs["IT.chaq.1.0.0.child.chaq_pain_vas"].iter(O + "RangeCheck")
    }
    assert checks == {("GE", "0"), ("LE", "100")}
    question = defs["IT.chaq.1.0.0.parent.chaq_dress_a"].find(O + "Question")
    assert question is not None
    chaq = export_forms()[("chaq", "1.0.0")]
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    texts = {t.get(lang): t.text for t in question.iter(O + "TranslatedText")}
    assert texts == {lg: chaq.item("chaq_dress_a").text_for(lg, "parent") for lg in ("en", "nl")}
    lists = {c.get("OID"): c for c in root.iter(O + "CodeList")}
    dress = lists["CL.chaq.1.0.0.chaq_dress_a"]
    decoded = {
        (item.get("CodedValue"), t.get(lang)): t.text
        for item in dress.iter(O + "CodeListItem")
        for t in item.iter(O + "TranslatedText")
    }
    assert decoded[("3", "en")] == "Could not do it"
    assert decoded[("3", "nl")] == "Lukte niet"


def test_a_deidentified_export_carries_no_free_text(
    tmp_path: Path, schema: xmlschema.XMLSchema
) -> None:
    """layout.py: de-identified exports carry no free text (here: answers nor reasons)."""
    run_writer(odm_writer(study()), tmp_path, deidentified=True)
    target = tmp_path / "odm" / "study.xml"
    assert schema.is_valid(str(target))
    text = target.read_text(encoding="utf-8")
    for free in ("soft", "réviewed", "answered by the parent", "visit moved"):
        assert free not in text
    assert "chaq_devices_other" not in text
    assert "entered_in_error</FlagValue>" in text


def test_two_runs_give_identical_bytes(tmp_path: Path, written: Path) -> None:
    """records.py ExportContext.created_at: the same bundle gives the same bytes."""
    run_writer(odm_writer(study()), tmp_path)
    assert (tmp_path / "odm" / "study.xml").read_bytes() == written.read_bytes()
    assert [p.name for p in (tmp_path / "odm").iterdir()] == ["study.xml"]


def _with(response_id: str, **change: Any) -> list[Any]:
    records = patients()
    return [
        replace(
            p,
            responses=[
                replace(r, **change) if r.response_id == response_id else r for r in p.responses
            ],
        )
        for p in records
    ]


def test_an_answer_that_does_not_fit_its_form_is_refused_naming_response_and_item(
    tmp_path: Path,
) -> None:
    """epro.errors: a clear message that names what is wrong, never an answer."""
    target = next(r for r in responses().values() if r.form_id == "vas_pain")
    records = _with(target.response_id, answers={"vas_pain": "a lot"})
    with pytest.raises(ExportError) as caught:
        run_writer(odm_writer(study()), tmp_path, records=records)
    message = str(caught.value)
    assert target.response_id in message
    assert "vas_pain" in message
    assert "a lot" not in message  # answers never appear in messages
    assert list((tmp_path / "odm").iterdir()) == []  # nothing half-written is left behind


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"visit": "V9"}, "visit 'V9'"),
        ({"form_version": "2.0.0"}, "2.0.0"),
        ({"respondent": "grandparent"}, "grandparent"),
    ],
    ids=["unknown visit", "unknown form version", "unknown respondent"],
)
def test_a_response_outside_the_protocol_or_forms_is_refused_with_a_fix(
    tmp_path: Path, change: dict[str, str], names: str
) -> None:
    """epro.errors: a clear message naming the response and how to fix it."""
    target = next(r for r in responses().values() if r.form_id == "vas_pain")
    with pytest.raises(ExportError, match=names) as caught:
        run_writer(odm_writer(study()), tmp_path, records=_with(target.response_id, **change))
    assert target.response_id in str(caught.value)
