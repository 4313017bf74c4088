"""FHIR Questionnaire export: every shipped form is a valid resource (DESIGN §3).

fhir.resources 8 models FHIR R5 by default; the R4-compatible models live in
``fhir.resources.R4B``, which is what these tests validate against.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from epro.cli import main
from epro.forms import Form
from epro.forms.fhir import ITEM_CONTROL, MAX_VALUE, MIN_VALUE, TRANSLATION, to_questionnaire

#: FHIR R4 value set questionnaire-item-type.
R4_ITEM_TYPES = {
    "group",
    "display",
    "boolean",
    "decimal",
    "integer",
    "date",
    "dateTime",
    "time",
    "string",
    "text",
    "url",
    "choice",
    "open-choice",
    "attachment",
    "reference",
    "quantity",
}
FORM_IDS = ["chaq", "jamar", "vas_pain", "vas_wellbeing", "clinician"]


def walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from walk(item.get("item", []))


def by_link_id(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["linkId"]: item for item in walk(resource["item"])}


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_every_shipped_form_exports_to_a_valid_r4_questionnaire(
    shipped: dict[str, Form], form_id: str
) -> None:
    resource = to_questionnaire(shipped[form_id])
    parsed = Questionnaire.model_validate(resource)
    assert parsed.version == shipped[form_id].version
    assert resource["identifier"][0]["value"] == shipped[form_id].sha256
    exported = {item["linkId"] for item in walk(resource["item"])}
    assert set(shipped[form_id].link_ids) <= exported


def test_the_validator_used_here_does_reject_a_broken_resource(shipped: dict[str, Form]) -> None:
    without_link_id = to_questionnaire(shipped["vas_pain"])
    del without_link_id["item"][0]["linkId"]
    with pytest.raises(ValueError, match="linkId"):
        Questionnaire.model_validate(without_link_id)
    unknown_key = to_questionnaire(shipped["vas_pain"])
    unknown_key["item"][0]["slider"] = True
    with pytest.raises(ValueError, match="slider"):
        Questionnaire.model_validate(unknown_key)


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_every_exported_item_type_is_an_r4_item_type(
    shipped: dict[str, Form], form_id: str
) -> None:
    # fhir.resources does not check code values, so the R4 item-type codes are checked here.
    for item in walk(to_questionnaire(shipped[form_id])["item"]):
        assert item["type"] in R4_ITEM_TYPES, item["linkId"]


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_no_exported_item_has_an_initial_answer(shipped: dict[str, Form], form_id: str) -> None:
    # instruments.md §5: no item has a default or pre-selected answer.
    for item in walk(to_questionnaire(shipped[form_id])["item"]):
        assert not any(key.startswith("initial") for key in item), item["linkId"]
        for option in item.get("answerOption", []):
            assert "initialSelected" not in option


def test_vas_exports_as_an_integer_slider_from_0_to_100(shipped: dict[str, Form]) -> None:
    item = by_link_id(to_questionnaire(shipped["chaq"]))["chaq_pain_vas"]
    assert item["type"] == "integer"
    extensions = {ext["url"]: ext for ext in item["extension"]}
    control = extensions[ITEM_CONTROL]["valueCodeableConcept"]["coding"][0]["code"]
    assert control == "slider"
    assert extensions[MIN_VALUE]["valueInteger"] == 0
    assert extensions[MAX_VALUE]["valueInteger"] == 100
    assert [child["linkId"] for child in item["item"]] == [
        "chaq_pain_vas.lower",
        "chaq_pain_vas.upper",
    ]


def test_chaq_domains_become_groups_and_choices_carry_the_na_code(
    shipped: dict[str, Form],
) -> None:
    resource = to_questionnaire(shipped["chaq"])
    top = [item["linkId"] for item in resource["item"]]
    assert top[:8] == ["dress", "arise", "eat", "walk", "hygiene", "reach", "grip", "activ"]
    dress = resource["item"][0]
    assert dress["type"] == "group"
    assert [i["linkId"] for i in dress["item"]] == [f"chaq_dress_{c}" for c in "abcd"]
    codes = [o["valueCoding"]["code"] for o in dress["item"][0]["answerOption"]]
    assert codes == ["0", "1", "2", "3", "na"]
    assert by_link_id(resource)["chaq_devices"]["repeats"] is True


def test_circles21_exports_as_decimal_with_min_max_and_step(shipped: dict[str, Form]) -> None:
    item = by_link_id(to_questionnaire(shipped["jamar"]))["jamar_pain"]
    assert item["type"] == "decimal"
    values = [ext.get("valueDecimal") for ext in item["extension"]]
    assert values == [0.0, 10.0, 0.5]


def test_enable_when_exports_with_the_coded_answer(shipped: dict[str, Form]) -> None:
    items = by_link_id(to_questionnaire(shipped["jamar"]))
    assert items["jamar_stiffness_duration"]["enableWhen"] == [
        {"question": "jamar_stiffness", "operator": "=", "answerBoolean": True}
    ]
    other = by_link_id(to_questionnaire(shipped["chaq"]))["chaq_devices_other"]
    assert other["enableWhen"][0]["answerCoding"]["code"] == "other"


def test_dutch_texts_ride_on_the_translation_extension(shipped: dict[str, Form]) -> None:
    item = by_link_id(to_questionnaire(shipped["jamar"], respondent="child"))["jamar_pain"]
    (translation,) = item["_text"]["extension"]
    assert translation["url"] == TRANSLATION
    parts = {ext["url"]: ext for ext in translation["extension"]}
    assert parts["lang"]["valueCode"] == "nl"
    assert parts["content"]["valueString"] == shipped["jamar"].item("jamar_pain").text_for(
        "nl", "child"
    )
    assert item["text"] == shipped["jamar"].item("jamar_pain").text_for("en", "child")


def test_forms_export_writes_the_fhir_file(
    tmp_path: Path, forms_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "jamar.json"
    argv = ["forms", "export", "jamar", "--fhir", "-o", str(out), "--forms", str(forms_dir)]
    assert main(argv) == 0
    Questionnaire.model_validate(json.loads(out.read_text(encoding="utf-8")))
    assert main(["forms", "export", "vas_pain", "--fhir", "--lang", "nl"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["language"] == "nl"
    assert printed["item"][0]["text"].startswith("Hoeveel pijn")
