"""The FHIR R4 bulk-data adapter: ``fhir/Questionnaire.ndjson`` and
``fhir/QuestionnaireResponse.ndjson``, one resource per line.

Every known form version becomes a Questionnaire (:func:`epro.forms.fhir.to_questionnaire`,
with the id made unique per version: ``chaq-1.0.0``), and every response, entered-in-error ones
included, a QuestionnaireResponse whose items follow its Questionnaire's groups. The decisions:

* ``id`` and ``identifier`` are the response id; ``questionnaire`` is ``<url>|<version>``;
  ``status`` is ``completed``, or ``entered-in-error`` with the reason in an extension.
* ``subject`` is ``Patient/<code>``; ``source`` is the same patient for a child and
  ``RelatedPerson/<code>-parent`` for a parent (none for staff forms); ``author`` is
  ``Device/<kiosk>``; ``authored`` is the submission time. A code that cannot be a FHIR id
  (it holds ``_``) becomes a logical reference by identifier instead.
* ``meta.source`` is ``urn:epro:envelope-sha256:<hex>``, the signed envelope the answers came
  from; ``meta.lastUpdated`` is the study server's receipt; ``meta.tag`` the form file digest.
* Answers are typed after the item: ``valueCoding`` (system, code, English display) for choices
  and for ``na`` where the instrument offers it, one ``valueCoding`` per tick of a checklist,
  ``valueBoolean``, ``valueInteger`` (VAS too), ``valueDecimal`` (21 circles too),
  ``valueDate``, ``valueString``. ``skipped`` is an item without answer carrying the standard
  data-absent-reason extension ``asked-declined``; a checklist answered with no tick is an
  item without answer and without that extension; an item not reached is left out, as FHIR
  does with unanswered items.

Lines are compact JSON with sorted keys, so the same records give the same bytes. Responses are
written patient by patient as they come.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from epro.errors import ExportError
from epro.export.layout import form_versions
from epro.export.records import (
    ExportContext,
    ExportResponse,
    PatientRecord,
    ResponseStatus,
    WrittenFile,
)
from epro.export.verify import answer_misfit
from epro.forms.fhir import CODE_SYSTEM, FORM_URL, NA_CODE, SHA256_SYSTEM, to_questionnaire
from epro.forms.model import NA, SKIPPED, AnswerValue, Form, Item, ItemType
from epro.protocol import utc_timestamp

FOLDER: Final = "fhir"
QUESTIONNAIRES: Final = "Questionnaire.ndjson"
RESPONSES: Final = "QuestionnaireResponse.ndjson"

DATA_ABSENT: Final = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
EXTENSION: Final = "urn:epro:fhir:extension:"
ENVELOPE_SOURCE: Final = "urn:epro:envelope-sha256:"
RESPONSE_SYSTEM: Final = "urn:epro:response-id"
#: Identifier systems of logical references, for codes that cannot be FHIR ids.
PATIENT_SYSTEM: Final = "urn:epro:patient"
RELATED_SYSTEM: Final = "urn:epro:related-person"
DEVICE_SYSTEM: Final = "urn:epro:device"

_FHIR_ID = re.compile(r"[A-Za-z0-9.\-]{1,64}")
_STATUS: Final = {
    ResponseStatus.VALID: "completed",
    ResponseStatus.ENTERED_IN_ERROR: "entered-in-error",
}


def fhir_writer() -> FhirWriter:
    """The FHIR NDJSON adapter."""
    return FhirWriter()


def questionnaire_id(form: Form) -> str:
    """``chaq-1.0.0``: one id per form version (a FHIR id allows no ``_``)."""
    return f"{form.id.replace('_', '-')}-{form.version}"


def canonical(form_id: str, version: str) -> str:
    return f"{FORM_URL}{form_id}|{version}"


def dumps(resource: Mapping[str, Any]) -> str:
    """One NDJSON line: compact, keys sorted, UTF-8 as is."""
    return json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


class FhirWriter:
    """Writes the two NDJSON files: a FormatWriter (``begin``, ``add_patient``, ``finish``)."""

    def begin(self, out: Path, context: ExportContext) -> None:
        self._context = context
        self._folder = folder = out / FOLDER
        include_text = not context.deidentified
        self._plans = {
            key: ResponsePlan.of(form, include_text=include_text)
            for key, form in context.forms.items()
        }
        self._questionnaires = 0
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with (folder / QUESTIONNAIRES).open("w", encoding="utf-8", newline="\n") as target:
                for found in form_versions(context.forms).values():
                    for form in found:
                        resource = to_questionnaire(form)
                        resource["id"] = questionnaire_id(form)
                        target.write(dumps(resource))
                        self._questionnaires += 1
            self._responses: IO[str] = (folder / RESPONSES).open(
                "w", encoding="utf-8", newline="\n", buffering=1 << 20
            )
        except OSError as error:
            raise ExportError(
                f"cannot write {folder}: {error.strerror}; choose another --out"
            ) from None
        self._written = 0

    def add_patient(self, patient: PatientRecord) -> None:
        try:
            lines = [dumps(self.resource(r, patient.code)) for r in patient.responses]
            self._responses.writelines(lines)
        except BaseException:
            # A half-written export must not look like a finished one.
            self._responses.close()
            for name in (QUESTIONNAIRES, RESPONSES):
                (self._folder / name).unlink(missing_ok=True)
            raise
        self._written += len(lines)

    def finish(self) -> list[WrittenFile]:
        self._responses.close()
        return [
            WrittenFile(Path(FOLDER) / QUESTIONNAIRES, rows=self._questionnaires),
            WrittenFile(Path(FOLDER) / RESPONSES, rows=self._written),
        ]

    def resource(self, response: ExportResponse, patient: str) -> dict[str, Any]:
        """The QuestionnaireResponse of one response of the patient with code ``patient``
        (the record's code, which a de-identified export has already replaced)."""
        if not _FHIR_ID.fullmatch(response.response_id):
            raise ExportError(
                f"response id {response.response_id!r} cannot be a FHIR id (letters, digits, "
                "'-' and '.', at most 64); the bundle's response ids are UUIDs, check its source"
            )
        plan = self._plans.get((response.form_id, response.form_version))
        if plan is None:
            raise ExportError(
                f"response {response.response_id} is on form {response.form_id} "
                f"{response.form_version}, which is not among the known form versions; add "
                "the form version to forms/versions/"
            )
        deidentified = self._context.deidentified
        try:
            items = plan.items(response.answers)
        except _Misfit as misfit:
            raise answer_misfit(response, misfit.args[0]) from None
        extensions: list[dict[str, Any]] = [
            {"url": EXTENSION + "visit", "valueCode": response.visit},
            {"url": EXTENSION + "respondent", "valueCode": response.respondent},
            {"url": EXTENSION + "receipt-id", "valueString": response.receipt_id},
        ]
        if response.out_of_window:
            extensions.append({"url": EXTENSION + "out-of-window", "valueBoolean": True})
            if response.out_of_window_reason and not deidentified:
                extensions.append(
                    {
                        "url": EXTENSION + "out-of-window-reason",
                        "valueString": response.out_of_window_reason,
                    }
                )
        if response.status_reason and not deidentified:
            extensions.append(
                {"url": EXTENSION + "status-reason", "valueString": response.status_reason}
            )
        resource: dict[str, Any] = {
            "resourceType": "QuestionnaireResponse",
            "id": response.response_id,
            "meta": {
                "source": ENVELOPE_SOURCE + response.envelope_sha256,
                "lastUpdated": utc_timestamp(response.received_at),
                "tag": [{"system": SHA256_SYSTEM, "code": response.form_sha256}],
            },
            "extension": extensions,
            "identifier": {"system": RESPONSE_SYSTEM, "value": response.response_id},
            "questionnaire": canonical(response.form_id, response.form_version),
            "status": _STATUS[response.status],
            "subject": reference("Patient", PATIENT_SYSTEM, patient),
            "author": reference("Device", DEVICE_SYSTEM, response.device_id),
            "authored": utc_timestamp(response.submitted_at),
            "language": response.language,
        }
        source = _source(response.respondent, patient)
        if source is not None:
            resource["source"] = source
        if items:
            resource["item"] = items
        return resource


def reference(kind: str, system: str, value: str) -> dict[str, Any]:
    """``{"reference": "Patient/DEMO-001"}``, or a logical reference if ``value`` is no id."""
    if _FHIR_ID.fullmatch(value):
        return {"reference": f"{kind}/{value}"}
    return {"type": kind, "identifier": {"system": system, "value": value}}


def _source(respondent: str, patient: str) -> dict[str, Any] | None:
    """The child themself, a related person (``<code>-parent``), or none for staff forms."""
    if respondent == "child":
        return reference("Patient", PATIENT_SYSTEM, patient)
    if respondent == "staff":
        return None
    return reference("RelatedPerson", RELATED_SYSTEM, f"{patient}-{respondent}")


# --------------------------------------------------------------------------------- answers


class _Misfit(Exception):
    """An answer with no place in its item (a type the form does not allow)."""


#: Turns one answer (``None``: not reached) into its QuestionnaireResponse item, or nothing.
Answer = Callable[[AnswerValue | None], dict[str, Any] | None]


def _absent(link_id: str, reason: str) -> dict[str, Any]:
    return {"linkId": link_id, "extension": [{"url": DATA_ABSENT, "valueCode": reason}]}


def _answer_of(form: Form, item: Item) -> Answer:
    link_id = item.link_id
    skipped = _absent(link_id, "asked-declined")
    not_applicable = _absent(link_id, "not-applicable")
    system = CODE_SYSTEM + f"{form.id}:{link_id}"
    codings: dict[object, dict[str, Any]] = {
        option.code: {
            "valueCoding": {
                "system": system,
                "code": str(option.code),
                "display": option.text.get("en", str(option.code)),
            }
        }
        for option in item.options
    }
    if item.na_option:
        not_applicable = {
            "linkId": link_id,
            "answer": [
                {
                    "valueCoding": {
                        "system": system,
                        "code": NA_CODE,
                        "display": item.na_text.get("en", NA_CODE),
                    }
                }
            ],
        }
    by_text = {str(code): coding for code, coding in codings.items()}
    kind = item.type

    def answer(value: AnswerValue | None) -> dict[str, Any] | None:
        if value is None:
            return None
        if value == SKIPPED:
            return skipped
        if value == NA:
            return not_applicable
        if kind is ItemType.CHOICE and not isinstance(value, bool | list):
            found = codings.get(value)
            if found is not None:
                return {"linkId": link_id, "answer": [found]}
        elif kind is ItemType.CHECKLIST and isinstance(value, list):
            ticks = [by_text.get(code) for code in value]
            if all(tick is not None for tick in ticks):
                return {"linkId": link_id, "answer": ticks} if ticks else {"linkId": link_id}
        elif kind is ItemType.BOOLEAN and isinstance(value, bool):
            return {"linkId": link_id, "answer": [{"valueBoolean": value}]}
        elif kind in (ItemType.INTEGER, ItemType.VAS) and _whole(value):
            return {"linkId": link_id, "answer": [{"valueInteger": int(value)}]}  # type: ignore[arg-type]
        elif kind in (ItemType.DECIMAL, ItemType.CIRCLES21) and _number(value):
            return {"linkId": link_id, "answer": [{"valueDecimal": float(value)}]}  # type: ignore[arg-type]
        elif kind is ItemType.DATE and isinstance(value, str):
            return {"linkId": link_id, "answer": [{"valueDate": value}]}
        elif kind is ItemType.TEXT and isinstance(value, str):
            return {"linkId": link_id, "answer": [{"valueString": value}]}
        raise _Misfit(link_id)

    return answer


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _whole(value: object) -> bool:
    return _number(value) and float(value).is_integer()  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class _Node:
    """One item of the Questionnaire tree: a group with children, or a question."""

    link_id: str
    children: tuple[_Node, ...] = ()
    answer: Answer | None = None


@dataclass(frozen=True, slots=True)
class ResponsePlan:
    """The item tree of one form version's Questionnaire, ready to take answers."""

    nodes: tuple[_Node, ...]
    known: frozenset[str]

    @classmethod
    def of(cls, form: Form, *, include_text: bool) -> ResponsePlan:
        questionnaire = to_questionnaire(form)
        answerable = {item.link_id: item for item in form.answerable_items}

        def build(entries: list[dict[str, Any]]) -> tuple[_Node, ...]:
            nodes = []
            for entry in entries:
                link_id = entry["linkId"]
                if entry["type"] == "group":
                    nodes.append(_Node(link_id, build(entry.get("item", []))))
                elif link_id in answerable:
                    item = answerable[link_id]
                    if item.type is ItemType.TEXT and not include_text:
                        continue
                    nodes.append(_Node(link_id, answer=_answer_of(form, item)))
            return tuple(nodes)

        return cls(build(questionnaire["item"]), frozenset(answerable))

    def items(self, answers: Mapping[str, AnswerValue]) -> list[dict[str, Any]]:
        unknown = [key for key in answers if key not in self.known]
        if unknown:
            raise _Misfit(sorted(unknown)[0])
        return _fill(self.nodes, answers)


def _fill(nodes: tuple[_Node, ...], answers: Mapping[str, AnswerValue]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for node in nodes:
        if node.answer is not None:
            item = node.answer(answers.get(node.link_id))
            if item is not None:
                found.append(item)
            continue
        children = _fill(node.children, answers)
        if children:
            found.append({"linkId": node.link_id, "item": children})
    return found
