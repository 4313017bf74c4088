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

Two renderings of a response live here side by side. :meth:`FhirWriter.resource` builds the
resource as a dict, the plain statement of the decisions above; :meth:`FhirWriter.line`, which
the writer uses, assembles the same line from JSON text fragments made once per form version,
item and patient, serialising only the values that vary, because building the nested dicts and
sorting their keys for every response was most of an export's time. A test holds the two
byte-equal.
"""

from __future__ import annotations

import json
import math
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
    # An earlier submission a later one of the same form replaced: it was completed; the
    # status-reason extension says it is not the one scored.
    ResponseStatus.SUPERSEDED: "completed",
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


class FhirRenderer:
    """A patient's ``QuestionnaireResponse`` lines, in any process (a PatientRenderer)."""

    def __init__(self, context: ExportContext) -> None:
        self._context = context
        include_text = not context.deidentified
        self._plans = {
            key: ResponsePlan.of(form, include_text=include_text)
            for key, form in context.forms.items()
        }
        self._devices: dict[str, str] = {}

    def __getstate__(self) -> dict[str, object]:
        # The plans are made again where the renderer is unpickled.
        return {"context": self._context}

    def __setstate__(self, state: dict[str, object]) -> None:
        context = state["context"]
        assert isinstance(context, ExportContext)
        FhirRenderer.__init__(self, context)

    def render(self, patient: PatientRecord) -> tuple[str, int]:
        """The patient's lines as one text, and how many there are."""
        refs = PatientText(patient.code)
        lines = [self.line(r, refs) for r in patient.responses]
        return "".join(lines), len(lines)

    def _plan(self, response: ExportResponse) -> ResponsePlan:
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
        return plan

    def resource(self, response: ExportResponse, patient: str) -> dict[str, Any]:
        """The QuestionnaireResponse of one response of the patient with code ``patient``
        (the record's code, which a de-identified export has already replaced)."""
        plan = self._plan(response)
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

    def line(self, response: ExportResponse, patient: PatientText) -> str:
        """``dumps(self.resource(response, patient.code))``, assembled from text fragments.

        Keys appear in the order ``sort_keys`` gives them; ``response_id`` (checked as a FHIR
        id) and the timestamps hold no character JSON escapes, so they are quoted as they are.
        """
        plan = self._plan(response)
        deidentified = self._context.deidentified
        try:
            items = plan.items_text(response.answers)
        except _Misfit as misfit:
            raise _misfit_error(response, misfit) from None
        extensions = (
            _EXT_VISIT + _text(response.visit) + "},"
            + _EXT_RESPONDENT + _text(response.respondent) + "},"
            + _EXT_RECEIPT + _text(response.receipt_id) + "}"
        )  # fmt: skip
        if response.out_of_window:
            extensions += _EXT_OUT_OF_WINDOW
            if response.out_of_window_reason and not deidentified:
                extensions += _EXT_OUT_OF_WINDOW_REASON + _text(response.out_of_window_reason) + "}"
        if response.status_reason and not deidentified:
            extensions += _EXT_STATUS_REASON + _text(response.status_reason) + "}"
        rid = response.response_id
        source = patient.source(response.respondent)
        return (
            f'{{"author":{self._device(response.device_id)}'
            f',"authored":"{utc_timestamp(response.submitted_at)}"'
            f',"extension":[{extensions}]'
            f',"id":"{rid}"'
            f',"identifier":{{"system":{_RESPONSE_SYSTEM},"value":"{rid}"}}'
            + (f',"item":[{items}]' if items else "")
            + f',"language":{_text(response.language)}'
            f',"meta":{{"lastUpdated":"{utc_timestamp(response.received_at)}"'
            f',"source":{_text(ENVELOPE_SOURCE + response.envelope_sha256)}'
            f',"tag":[{{"code":{_text(response.form_sha256)},"system":{_SHA256_SYSTEM}}}]}}'
            f',"questionnaire":{plan.questionnaire}'
            ',"resourceType":"QuestionnaireResponse"'
            + (f',"source":{source}' if source is not None else "")
            + f',"status":{_STATUS_TEXT[response.status]}'
            f',"subject":{patient.subject}}}\n'
        )

    def _device(self, device_id: str) -> str:
        found = self._devices.get(device_id)
        if found is None:
            found = self._devices[device_id] = _compact(
                reference("Device", DEVICE_SYSTEM, device_id)
            )
        return found


class FhirWriter:
    """Writes the two NDJSON files: a FormatWriter (``begin``, ``add_patient``, ``finish``)
    and a PartWriter, whose lines :class:`FhirRenderer` renders."""

    def begin(self, out: Path, context: ExportContext) -> None:
        self._context = context
        self._folder = folder = out / FOLDER
        self._renderer = FhirRenderer(context)
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

    def renderer(self) -> FhirRenderer:
        return FhirRenderer(self._context)

    def add_patient(self, patient: PatientRecord) -> None:
        try:
            part = self._renderer.render(patient)
        except BaseException:
            self._discard()
            raise
        self.add_part(part)

    def add_part(self, part: tuple[str, int]) -> None:
        text, lines = part
        try:
            self._responses.write(text)
        except BaseException:
            self._discard()
            raise
        self._written += lines

    def _discard(self) -> None:
        """A half-written export must not look like a finished one."""
        self._responses.close()
        for name in (QUESTIONNAIRES, RESPONSES):
            (self._folder / name).unlink(missing_ok=True)

    def finish(self) -> list[WrittenFile]:
        self._responses.close()
        return [
            WrittenFile(Path(FOLDER) / QUESTIONNAIRES, rows=self._questionnaires),
            WrittenFile(Path(FOLDER) / RESPONSES, rows=self._written),
        ]

    def resource(self, response: ExportResponse, patient: str) -> dict[str, Any]:
        """:meth:`FhirRenderer.resource`: the dict reference of one line."""
        return self._renderer.resource(response, patient)

    def line(self, response: ExportResponse, patient: PatientText) -> str:
        """:meth:`FhirRenderer.line`: one line as the file holds it."""
        return self._renderer.line(response, patient)


def _misfit_error(response: ExportResponse, misfit: _Misfit) -> ExportError:
    return answer_misfit(response, misfit.args[0])


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


# ------------------------------------------------------------------------- text fragments

#: JSON text of one string, escaped as ``dumps`` escapes it.
_text: Final = json.JSONEncoder(ensure_ascii=False).encode


def _compact(value: object) -> str:
    """``dumps`` of one part of a resource, without the line end."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _extension_head(name: str, value_key: str) -> str:
    """``{"url":"…<name>","<value_key>":``: an extension up to its value."""
    return '{"url":' + _text(EXTENSION + name) + ',"' + value_key + '":'


_EXT_VISIT: Final = _extension_head("visit", "valueCode")
_EXT_RESPONDENT: Final = _extension_head("respondent", "valueCode")
_EXT_RECEIPT: Final = _extension_head("receipt-id", "valueString")
_EXT_OUT_OF_WINDOW: Final = "," + _extension_head("out-of-window", "valueBoolean") + "true}"
_EXT_OUT_OF_WINDOW_REASON: Final = "," + _extension_head("out-of-window-reason", "valueString")
_EXT_STATUS_REASON: Final = "," + _extension_head("status-reason", "valueString")
_RESPONSE_SYSTEM: Final = _text(RESPONSE_SYSTEM)
_SHA256_SYSTEM: Final = _text(SHA256_SYSTEM)
_STATUS_TEXT: Final = {status: _text(code) for status, code in _STATUS.items()}


class PatientText:
    """The patient's references as JSON text, made once per patient."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.subject = _compact(reference("Patient", PATIENT_SYSTEM, code))
        self._sources: dict[str, str | None] = {}

    def source(self, respondent: str) -> str | None:
        if respondent not in self._sources:
            found = _source(respondent, self.code)
            self._sources[respondent] = None if found is None else _compact(found)
        return self._sources[respondent]


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


#: :data:`Answer` as the JSON text of the item, or ``""``.
AnswerText = Callable[[AnswerValue | None], str]


def _answer_text_of(form: Form, item: Item) -> AnswerText:
    """The item's :data:`Answer` as JSON text: what depends only on the item is taken once
    from the dict answer itself, so the two cannot drift apart; numbers, dates and free text
    are serialised as they come."""
    answer = _answer_of(form, item)
    kind = item.type
    skipped = _compact(answer(SKIPPED))
    not_applicable = _compact(answer(NA))
    tail = '],"linkId":' + _text(item.link_id) + "}"
    choices: dict[object, str] = {}
    ticks: dict[str, str] = {}
    if kind is ItemType.CHOICE:
        choices = {o.code: _compact(answer(o.code)) for o in item.options if _is_code(o.code)}
    elif kind is ItemType.CHECKLIST:
        ticks = {
            str(o.code): _compact(_one(answer([str(o.code)]))["answer"][0]) for o in item.options
        }
    booleans = {True: "", False: ""}
    if kind is ItemType.BOOLEAN:
        booleans = {value: _compact(answer(value)) for value in (True, False)}
    empty = '{"linkId":' + _text(item.link_id) + "}"

    def text(value: AnswerValue | None) -> str:
        if value is None:
            return ""
        if value == SKIPPED:
            return skipped
        if value == NA:
            return not_applicable
        if kind is ItemType.CHOICE and not isinstance(value, bool | list):
            found = choices.get(value)
            if found is not None:
                return found
        elif kind is ItemType.CHECKLIST and isinstance(value, list):
            if all(code in ticks for code in value):
                return '{"answer":[' + ",".join(ticks[c] for c in value) + tail if value else empty
        elif kind is ItemType.BOOLEAN and isinstance(value, bool):
            return booleans[value]
        elif kind in (ItemType.INTEGER, ItemType.VAS) and _whole(value):
            return '{"answer":[{"valueInteger":' + str(int(value)) + "}" + tail  # type: ignore[arg-type]
        elif kind in (ItemType.DECIMAL, ItemType.CIRCLES21) and _number(value):
            number = float(value)  # type: ignore[arg-type]
            digits = repr(number) if math.isfinite(number) else _compact(number)
            return '{"answer":[{"valueDecimal":' + digits + "}" + tail
        elif kind is ItemType.DATE and isinstance(value, str):
            return '{"answer":[{"valueDate":' + _text(value) + "}" + tail
        elif kind is ItemType.TEXT and isinstance(value, str):
            return '{"answer":[{"valueString":' + _text(value) + "}" + tail
        raise _Misfit(item.link_id)

    return text


def _is_code(code: object) -> bool:
    """A code the dict answer takes as a choice (the same test it makes)."""
    return code not in (SKIPPED, NA) and not isinstance(code, bool | list)


def _one(item: dict[str, Any] | None) -> dict[str, Any]:
    assert item is not None  # an answered item is never left out
    return item


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
    text: AnswerText | None = None
    #: ``{"item":[`` … ``],"linkId":"<link_id>"}`` around a group's children.
    tail: str = ""


@dataclass(frozen=True, slots=True)
class ResponsePlan:
    """The item tree of one form version's Questionnaire, ready to take answers."""

    nodes: tuple[_Node, ...]
    known: frozenset[str]
    #: ``"<url>|<version>"`` as JSON text.
    questionnaire: str

    @classmethod
    def of(cls, form: Form, *, include_text: bool) -> ResponsePlan:
        questionnaire = to_questionnaire(form)
        answerable = {item.link_id: item for item in form.answerable_items}

        def build(entries: list[dict[str, Any]]) -> tuple[_Node, ...]:
            nodes = []
            for entry in entries:
                link_id = entry["linkId"]
                if entry["type"] == "group":
                    tail = '],"linkId":' + _text(link_id) + "}"
                    nodes.append(_Node(link_id, build(entry.get("item", [])), tail=tail))
                elif link_id in answerable:
                    item = answerable[link_id]
                    if item.type is ItemType.TEXT and not include_text:
                        continue
                    nodes.append(
                        _Node(
                            link_id,
                            answer=_answer_of(form, item),
                            text=_answer_text_of(form, item),
                        )
                    )
            return tuple(nodes)

        return cls(
            build(questionnaire["item"]),
            frozenset(answerable),
            _text(canonical(form.id, form.version)),
        )

    def items(self, answers: Mapping[str, AnswerValue]) -> list[dict[str, Any]]:
        unknown = [key for key in answers if key not in self.known]
        if unknown:
            raise _Misfit(sorted(unknown)[0])
        return _fill(self.nodes, answers)

    def items_text(self, answers: Mapping[str, AnswerValue]) -> str:
        """``_compact(self.items(answers))`` without its brackets: ``""`` for no items."""
        if not self.known.issuperset(answers):
            raise _Misfit(min(answers.keys() - self.known))
        return _fill_text(self.nodes, answers)


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


def _fill_text(nodes: tuple[_Node, ...], answers: Mapping[str, AnswerValue]) -> str:
    found: list[str] = []
    for node in nodes:
        if node.text is not None:
            item = node.text(answers.get(node.link_id))
            if item:
                found.append(item)
            continue
        children = _fill_text(node.children, answers)
        if children:
            found.append('{"item":[' + children + node.tail)
    return ",".join(found)
