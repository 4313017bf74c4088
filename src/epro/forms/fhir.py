"""A form as a FHIR R4 Questionnaire (JSON-ready dict), for registries and EHR integration.

The mapping keeps epro's promises: linkId is the variable name, a VAS becomes an integer slider
with no ``initial`` anywhere, and every Dutch text rides on the standard translation extension.
"""

from __future__ import annotations

from typing import Any

from epro.forms.model import Condition, Form, Item, ItemType, LocalText

EXT = "http://hl7.org/fhir/StructureDefinition/"
TRANSLATION = EXT + "translation"
ITEM_CONTROL = EXT + "questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
MIN_VALUE = EXT + "minValue"
MAX_VALUE = EXT + "maxValue"
SLIDER_STEP = EXT + "questionnaire-sliderStepValue"
#: FHIR has no standard decimal step; epro's own extension carries the 0.5 of a 21-circle scale.
STEP = "urn:epro:fhir:extension:step"
#: Identifier system of the form file digest recorded with every response.
SHA256_SYSTEM = "urn:epro:form-sha256"
FORM_URL = "urn:epro:form:"
CODE_SYSTEM = "urn:epro:codes:"
NA_CODE = "na"

_TYPES = {
    ItemType.DISPLAY: "display",
    ItemType.CHOICE: "choice",
    ItemType.CHECKLIST: "choice",
    ItemType.BOOLEAN: "boolean",
    ItemType.INTEGER: "integer",
    ItemType.DECIMAL: "decimal",
    ItemType.VAS: "integer",
    ItemType.CIRCLES21: "decimal",
    ItemType.DATE: "date",
    ItemType.TEXT: "text",
}
_OPERATORS = {"equals": "=", "not_equals": "!=", "exists": "exists"}


def to_questionnaire(
    form: Form, *, language: str = "en", respondent: str | None = None
) -> dict[str, Any]:
    """The Questionnaire resource; texts in ``language``, the others as translations."""
    exporter = _Exporter(form, language, respondent)
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": form.id.replace("_", "-"),
        "meta": {"tag": [{"system": SHA256_SYSTEM, "code": form.sha256}]},
        "language": language,
        "url": FORM_URL + form.id,
        "identifier": [{"system": SHA256_SYSTEM, "value": form.sha256}],
        "version": form.version,
        "name": "".join(part.capitalize() for part in form.id.split("_")),
        "status": "draft",
        "subjectType": ["Patient"],
    }
    resource.update(exporter.text("title", form.title))
    if form.intro:
        resource.update(exporter.text("description", form.intro))
    resource["item"] = exporter.items()
    return resource


class _Exporter:
    def __init__(self, form: Form, language: str, respondent: str | None) -> None:
        self.form = form
        self.language = language
        self.respondent = respondent

    def text(self, key: str, texts: LocalText) -> dict[str, Any]:
        """``key`` in the main language and ``_key`` with the other languages as translations."""
        out: dict[str, Any] = {key: texts[self.language]}
        others = [
            {
                "url": TRANSLATION,
                "extension": [
                    {"url": "lang", "valueCode": lang},
                    {"url": "content", "valueString": value},
                ],
            }
            for lang, value in texts.items()
            if lang != self.language
        ]
        if others:
            out["_" + key] = {"extension": others}
        return out

    def items(self) -> list[dict[str, Any]]:
        """Top-level items; a run of items of one group becomes one group item."""
        groups = {group.id: group for group in self.form.groups}
        result: list[dict[str, Any]] = []
        current: dict[str, Any] | None = None
        for item in self.form.items:
            if item.group is None:
                current = None
                result.append(self.item(item))
                continue
            if current is None or current["linkId"] != item.group:
                current = {"linkId": item.group, "type": "group"}
                current.update(self.text("text", groups[item.group].text))
                current["item"] = []
                result.append(current)
            current["item"].append(self.item(item))
        return result

    def item(self, item: Item) -> dict[str, Any]:
        wording: LocalText = item.text
        if self.respondent is not None and self.respondent in item.variants:
            wording = item.variants[self.respondent]
        out: dict[str, Any] = {"linkId": item.link_id}
        out.update(self.text("text", wording))
        out["type"] = _TYPES[item.type]
        if item.type is not ItemType.DISPLAY:
            out["required"] = item.required
        if item.type is ItemType.CHECKLIST:
            out["repeats"] = True
        extensions = self.extensions(item)
        if extensions:
            out["extension"] = extensions
        if item.enable_when is not None:
            out["enableWhen"] = [self.condition(c) for c in item.enable_when.conditions]
            if len(item.enable_when.conditions) > 1:
                out["enableBehavior"] = item.enable_when.behavior
        if item.options:
            out["answerOption"] = [
                {"valueCoding": self.coding(item, str(option.code), option.text)}
                for option in item.options
            ]
            if item.na_option:
                out["answerOption"].append(
                    {"valueCoding": self.coding(item, NA_CODE, item.na_text)}
                )
        if item.anchor_low and item.anchor_high:
            out["item"] = [
                self.anchor(item, "lower", item.anchor_low),
                self.anchor(item, "upper", item.anchor_high),
            ]
        return out

    def coding(self, item: Item, code: str, texts: LocalText) -> dict[str, Any]:
        coding: dict[str, Any] = {"system": CODE_SYSTEM + f"{self.form.id}:{item.link_id}"}
        coding["code"] = code
        coding.update(self.text("display", texts))
        return coding

    def anchor(self, item: Item, position: str, texts: LocalText) -> dict[str, Any]:
        """A scale end label: a display child with item control lower/upper (SDC style)."""
        anchor: dict[str, Any] = {"linkId": f"{item.link_id}.{position}"}
        anchor.update(self.text("text", texts))
        anchor["type"] = "display"
        anchor["extension"] = [_control(position)]
        return anchor

    def extensions(self, item: Item) -> list[dict[str, Any]]:
        if item.min is None or item.max is None:
            return []
        whole = item.type in (ItemType.INTEGER, ItemType.VAS)
        value = "valueInteger" if whole else "valueDecimal"

        def number(x: float) -> float | int:
            return int(x) if whole else float(x)

        extensions: list[dict[str, Any]] = []
        if item.type is ItemType.VAS:
            extensions.append(_control("slider"))
            extensions.append({"url": SLIDER_STEP, "valueInteger": 1})
        extensions.append({"url": MIN_VALUE, value: number(item.min)})
        extensions.append({"url": MAX_VALUE, value: number(item.max)})
        if item.step is not None:
            if whole:
                extensions.append({"url": SLIDER_STEP, "valueInteger": int(item.step)})
            else:
                extensions.append({"url": STEP, "valueDecimal": float(item.step)})
        return extensions

    def condition(self, condition: Condition) -> dict[str, Any]:
        target = self.form.item(condition.question)
        out: dict[str, Any] = {
            "question": condition.question,
            "operator": _OPERATORS[condition.operator],
        }
        answer = condition.answer
        if condition.operator == "exists":
            out["answerBoolean"] = bool(answer)
        elif target.type in (ItemType.CHOICE, ItemType.CHECKLIST):
            out["answerCoding"] = {
                "system": CODE_SYSTEM + f"{self.form.id}:{target.link_id}",
                "code": str(answer),
            }
        elif isinstance(answer, bool):
            out["answerBoolean"] = answer
        elif target.type in (ItemType.INTEGER, ItemType.VAS):
            out["answerInteger"] = answer
        elif target.type in (ItemType.DECIMAL, ItemType.CIRCLES21):
            out["answerDecimal"] = answer
        elif target.type is ItemType.DATE:
            out["answerDate"] = answer
        else:
            out["answerString"] = answer
        return out


def _control(code: str) -> dict[str, Any]:
    return {
        "url": ITEM_CONTROL,
        "valueCodeableConcept": {"coding": [{"system": ITEM_CONTROL_SYSTEM, "code": code}]},
    }
