"""The FHIR R4 NDJSON export (DESIGN.md §9: every file checked by a reader that is not ours).

Every line is parsed by fhir.resources (R4B), then checked for what that library does not
enforce: status codes from the R4 value set, the kinds of resource each reference points to,
every linkId in its Questionnaire at the same place, answers typed after their item, and
answers equal to the records' once read back.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from epro.errors import ExportError
from epro.export.fhir_ndjson import fhir_writer
from epro.export.records import ExportResponse, ResponseStatus
from epro.forms.model import Form, ItemType
from tests.helpers.interchange_records import export_forms, patients, run_writer

#: QuestionnaireResponseStatus (R4).
R4_STATUS = {"in-progress", "completed", "amended", "entered-in-error", "stopped"}
#: DataAbsentReason codes (R4).
ABSENT_REASONS = {
    "unknown", "asked-unknown", "temp-unknown", "not-asked", "asked-declined", "masked",
    "not-applicable", "unsupported", "as-text", "error", "not-a-number", "negative-infinity",
    "positive-infinity", "not-performed", "not-permitted",
}  # fmt: skip
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
#: The answer element each Questionnaire item type takes (R4 QuestionnaireItemType).
VALUE_OF = {
    "choice": "valueCoding",
    "boolean": "valueBoolean",
    "integer": "valueInteger",
    "decimal": "valueDecimal",
    "date": "valueDate",
    "string": "valueString",
    "text": "valueString",
}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fhir")
    files = run_writer(fhir_writer(), folder)
    assert {str(f.path): f.rows for f in files} == {
        "fhir/Questionnaire.ndjson": len(export_forms()),
        "fhir/QuestionnaireResponse.ndjson": len(list(all_responses())),
    }
    return folder / "fhir"


def lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert "\r" not in text
    return [json.loads(line) for line in text.splitlines()]


def all_responses() -> dict[str, ExportResponse]:
    return {r.response_id: r for p in patients() for r in p.responses}


def questionnaires(out: Path) -> dict[str, dict[str, Any]]:
    """Questionnaires by canonical ``url|version``."""
    return {f"{q['url']}|{q['version']}": q for q in lines(out / "Questionnaire.ndjson")}


def test_every_line_is_a_valid_r4_resource_for_fhir_resources(out: Path) -> None:
    """DESIGN.md §9: every line is read by fhir.resources R4B, a reader that is not ours."""
    for line in (out / "Questionnaire.ndjson").read_text(encoding="utf-8").splitlines():
        assert Questionnaire.model_validate_json(line).status == "draft"
    parsed = [
        QuestionnaireResponse.model_validate_json(line)
        for line in (out / "QuestionnaireResponse.ndjson").read_text(encoding="utf-8").splitlines()
    ]
    assert {p.id for p in parsed} == set(all_responses())


def test_one_questionnaire_per_form_version_each_with_its_own_id(out: Path) -> None:
    """records.py ExportContext.forms: every known form version, each its own resource."""
    found = lines(out / "Questionnaire.ndjson")
    assert sorted((q["url"], q["version"]) for q in found) == sorted(
        (f"urn:epro:form:{form_id}", version) for form_id, version in export_forms()
    )
    ids = [q["id"] for q in found]
    assert len(set(ids)) == len(ids)
    assert {"clinician-1.0.0", "clinician-1.1.0", "vas-pain-1.0.0"} <= set(ids)


def test_statuses_and_references_are_of_the_kinds_r4_allows(out: Path) -> None:
    """R4: status from QuestionnaireResponseStatus; subject Patient, source Patient or
    RelatedPerson, author Device (fhir.resources checks none of these kinds)."""
    records = all_responses()
    for resource in lines(out / "QuestionnaireResponse.ndjson"):
        response = records[resource["id"]]
        assert resource["status"] in R4_STATUS
        expected = "completed" if response.status is ResponseStatus.VALID else "entered-in-error"
        assert resource["status"] == expected
        assert resource["subject"] == {"reference": f"Patient/{response.patient}"}
        assert resource["author"] == {"reference": f"Device/{response.device_id}"}
        source = resource.get("source")
        if response.respondent == "child":
            assert source == resource["subject"]
        elif response.respondent == "parent":
            assert source == {"reference": f"RelatedPerson/{response.patient}-parent"}
        else:
            assert source is None
        assert resource["identifier"]["value"] == response.response_id
        assert resource["questionnaire"] == (
            f"urn:epro:form:{response.form_id}|{response.form_version}"
        )


def _check_items(items: list[dict[str, Any]], questions: list[dict[str, Any]], where: str) -> None:
    """Every linkId at the place its Questionnaire has it, answers typed after the item."""
    by_link = {q["linkId"]: q for q in questions}
    for item in items:
        question = by_link.get(item["linkId"])
        assert question is not None, f"{where}: {item['linkId']} is not in the Questionnaire"
        if question["type"] == "group":
            assert "answer" not in item
            _check_items(item["item"], question.get("item", []), where)
            continue
        answers = item.get("answer", [])
        if len(answers) > 1:
            assert question.get("repeats") is True, f"{where}: {item['linkId']} repeats"
        if not answers:
            reasons = [e["valueCode"] for e in item.get("extension", []) if e["url"] == DATA_ABSENT]
            assert reasons == [] or set(reasons) <= ABSENT_REASONS
            assert reasons or question.get("repeats") is True, f"{where}: {item['linkId']}"
        for answer in answers:
            (key,) = answer
            assert key == VALUE_OF[question["type"]], f"{where}: {item['linkId']} has {key}"
            if key == "valueCoding":
                offered = {
                    (o["valueCoding"]["system"], o["valueCoding"]["code"])
                    for o in question["answerOption"]
                }
                coding = answer[key]
                assert (coding["system"], coding["code"]) in offered
            if key == "valueInteger":
                assert isinstance(answer[key], int)
            if key == "valueDecimal":
                assert isinstance(answer[key], float)


def test_every_link_id_and_answer_type_agrees_with_its_questionnaire(out: Path) -> None:
    """R4 QuestionnaireResponse: items mirror their Questionnaire, answers its item types."""
    known = questionnaires(out)
    for resource in lines(out / "QuestionnaireResponse.ndjson"):
        questionnaire = known[resource["questionnaire"]]
        _check_items(resource.get("item", []), questionnaire["item"], resource["id"])


def decode(items: list[dict[str, Any]], form: Form) -> dict[str, Any]:
    """The answers as epro stores them, read back from a QuestionnaireResponse."""
    found: dict[str, Any] = {}
    for item in items:
        if "item" in item:
            found.update(decode(item["item"], form))
            continue
        link_id = item["linkId"]
        kind = form.item(link_id).type
        answers = item.get("answer", [])
        reasons = [e["valueCode"] for e in item.get("extension", []) if e["url"] == DATA_ABSENT]
        if reasons == ["asked-declined"]:
            found[link_id] = "skipped"
        elif reasons == ["not-applicable"]:
            found[link_id] = "na"
        elif kind is ItemType.CHECKLIST:
            found[link_id] = [a["valueCoding"]["code"] for a in answers]
        elif kind is ItemType.CHOICE:
            code = answers[0]["valueCoding"]["code"]
            by_text = {str(c): c for c in form.item(link_id).codes}
            found[link_id] = "na" if code == "na" else by_text[code]
        else:
            (answer,) = answers
            (value,) = answer.values()
            found[link_id] = value
    return found


def test_every_answer_equals_the_records_and_missing_codes_stay_distinct(out: Path) -> None:
    """instruments.md §2: "na" is an answer, "skipped" a declined one, not reached absent."""
    forms = export_forms()
    records = all_responses()
    for resource in lines(out / "QuestionnaireResponse.ndjson"):
        response = records[resource["id"]]
        form = forms[(response.form_id, response.form_version)]
        assert decode(resource.get("item", []), form) == dict(response.answers)
    chaq = next(r for r in records.values() if r.form_id == "chaq" and r.respondent == "child")
    resource = next(
        r for r in lines(out / "QuestionnaireResponse.ndjson") if r["id"] == chaq.response_id
    )
    flat = {i["linkId"]: i for g in resource["item"] for i in g.get("item", [g])}
    assert flat["chaq_dress_b"]["answer"][0]["valueCoding"]["code"] == "na"
    assert flat["chaq_arise_a"]["extension"][0]["valueCode"] == "asked-declined"
    assert "chaq_grip_e" not in flat  # not reached
    assert flat["chaq_help"] == {"linkId": "chaq_help"}  # answered, nothing ticked
    assert [a["valueCoding"]["code"] for a in flat["chaq_devices"]["answer"]] == [
        "wheelchair",
        "other",
    ]
    assert flat["chaq_devices_other"]["answer"] == [
        {"valueString": 'a "soft" cushion & <pillow>\nat school'}
    ]


def test_provenance_names_the_envelope_the_receipt_and_the_form_file(out: Path) -> None:
    """DESIGN.md §9: every response traceable to its signed envelope and its receipt."""
    records = all_responses()
    for resource in lines(out / "QuestionnaireResponse.ndjson"):
        response = records[resource["id"]]
        meta = resource["meta"]
        assert meta["source"] == f"urn:epro:envelope-sha256:{response.envelope_sha256}"
        assert meta["lastUpdated"].startswith(response.received_at.strftime("%Y-%m-%dT%H:%M:%S"))
        assert meta["tag"] == [{"system": "urn:epro:form-sha256", "code": response.form_sha256}]
        assert resource["authored"].startswith(response.submitted_at.strftime("%Y-%m-%dT%H:%M:%S"))
        extensions = {e["url"].rsplit(":", 1)[1]: e for e in resource["extension"]}
        assert extensions["visit"]["valueCode"] == response.visit
        assert extensions["respondent"]["valueCode"] == response.respondent
        assert extensions["receipt-id"]["valueString"] == response.receipt_id
        if response.status is ResponseStatus.ENTERED_IN_ERROR:
            assert extensions["status-reason"]["valueString"] == response.status_reason
        if response.out_of_window:
            assert extensions["out-of-window"]["valueBoolean"] is True
            assert extensions["out-of-window-reason"]["valueString"] == (
                response.out_of_window_reason
            )
        else:
            assert "out-of-window" not in extensions


def test_lines_are_compact_sorted_json_and_two_runs_give_identical_bytes(
    tmp_path: Path, out: Path
) -> None:
    """records.py ExportContext.created_at: the same bundle gives the same bytes."""
    for name in ("Questionnaire.ndjson", "QuestionnaireResponse.ndjson"):
        for line in (out / name).read_text(encoding="utf-8").splitlines():
            resource = json.loads(line)
            again = json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            assert line == again
    run_writer(fhir_writer(), tmp_path)
    for name in ("Questionnaire.ndjson", "QuestionnaireResponse.ndjson"):
        assert (tmp_path / "fhir" / name).read_bytes() == (out / name).read_bytes()


def test_a_deidentified_export_carries_no_free_text(tmp_path: Path) -> None:
    """layout.py: de-identified exports carry no free text (here: answers nor reasons)."""
    run_writer(fhir_writer(), tmp_path, deidentified=True)
    text = (tmp_path / "fhir" / "QuestionnaireResponse.ndjson").read_text(encoding="utf-8")
    for free in ("soft", "réviewed", "answered by the parent", "visit moved"):
        assert free not in text
    assert '"linkId":"chaq_devices_other"' not in text
    assert '"status":"entered-in-error"' in text


def test_a_code_that_cannot_be_a_fhir_id_becomes_a_logical_reference(tmp_path: Path) -> None:
    """R4 id: [A-Za-z0-9-.]{1,64}; a study code may hold an underscore."""
    records = [
        replace(p, code="DEMO_003", responses=[replace(r, patient="DEMO_003") for r in p.responses])
        for p in patients()[1:]
    ]
    run_writer(fhir_writer(), tmp_path, records=records)
    for line in (tmp_path / "fhir" / "QuestionnaireResponse.ndjson").read_text().splitlines():
        QuestionnaireResponse.model_validate_json(line)
        resource = json.loads(line)
        assert resource["subject"] == {
            "type": "Patient",
            "identifier": {"system": "urn:epro:patient", "value": "DEMO_003"},
        }
        assert resource["source"]["type"] == "RelatedPerson"


def test_an_answer_that_does_not_fit_its_form_is_refused_naming_response_and_item(
    tmp_path: Path,
) -> None:
    """epro.errors: a clear message that names what is wrong, never an answer."""
    target = next(r for r in all_responses().values() if r.form_id == "jamar")
    records = [
        replace(
            p,
            responses=[
                replace(r, answers={**r.answers, "jamar_stiffness": 3})
                if r.response_id == target.response_id
                else r
                for r in p.responses
            ],
        )
        for p in patients()
    ]
    with pytest.raises(ExportError) as caught:
        run_writer(fhir_writer(), tmp_path, records=records)
    assert target.response_id in str(caught.value)
    assert "jamar_stiffness" in str(caught.value)
    assert list((tmp_path / "fhir").iterdir()) == []  # nothing half-written is left behind
