"""The FHIR writer's two renderings of a response agree byte for byte.

``FhirWriter.line`` assembles each QuestionnaireResponse line from JSON text fragments;
``FhirWriter.resource`` builds the same resource as a dict, and ``dumps`` of that dict (compact,
keys sorted) is the line the module's rules describe. These tests hold the two equal on the
hand-built export records and on many generated answer sets and response fields, including
the values JSON must escape, numbers at their edges and answers that do not fit their item.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from epro.errors import ExportError
from epro.export.fhir_ndjson import RESPONSES, FhirWriter, PatientText, dumps, fhir_writer
from epro.export.records import ExportResponse, ResponseStatus
from epro.forms.model import NA, SKIPPED, AnswerValue, Form, Item, ItemType
from tests.helpers.interchange_records import context, export_forms, patients, run_writer

FORMS = export_forms()
#: One response of each form version to vary (ids, digests and times stay valid).
TEMPLATES = {(r.form_id, r.form_version): r for p in patients() for r in p.responses}
#: Text with what JSON escapes (quotes, backslash, control characters) and what it keeps.
AWKWARD = st.text(
    st.sampled_from(['"', "\\", "\n", "\t", "\x00", "\x1f", "\u2028", "é", "😀", "/", "a", "_"])
    | st.characters(),
    max_size=12,
)


def writer(*, deidentified: bool, folder: Path) -> FhirWriter:
    made = fhir_writer()
    made.begin(folder, context(deidentified=deidentified))
    return made


def _value(item: Item) -> st.SearchStrategy[AnswerValue]:
    kind = item.type
    codes = [option.code for option in item.options]
    if kind is ItemType.CHOICE:
        # Also a whole float for an integer code: the dict lookup finds it, so must the text.
        numeric = [float(c) for c in codes if isinstance(c, int)]
        return st.sampled_from(codes + numeric)
    if kind is ItemType.CHECKLIST:
        return st.lists(st.sampled_from([str(c) for c in codes]), max_size=len(codes) + 1)
    if kind is ItemType.BOOLEAN:
        return st.booleans()
    if kind in (ItemType.INTEGER, ItemType.VAS):
        whole = st.integers(-(10**20), 10**20)
        return whole | whole.map(float)
    if kind in (ItemType.DECIMAL, ItemType.CIRCLES21):
        return st.floats() | st.integers(-1000, 1000)
    return AWKWARD


@st.composite
def responses(draw: st.DrawFn) -> tuple[ExportResponse, str, bool]:
    key = draw(st.sampled_from(sorted(TEMPLATES)))
    form: Form = FORMS[key]
    answers: dict[str, AnswerValue] = {}
    for item in form.answerable_items:
        choice = draw(st.sampled_from(["value", "value", "value", "skipped", "na", "absent"]))
        if choice == "value":
            answers[item.link_id] = draw(_value(item))
        elif choice != "absent":
            answers[item.link_id] = SKIPPED if choice == "skipped" else NA
    if draw(st.integers(0, 3)) == 0:
        # Now and then one answer of a type its item may not take, or an item of no form.
        link_id = draw(st.sampled_from([i.link_id for i in form.answerable_items] + ["nope"]))
        odd: list[AnswerValue] = ["x", 2.5, True, ["x"], 7]
        answers[link_id] = draw(st.sampled_from(odd))
    reason = st.none() | AWKWARD
    code = st.sampled_from(["DEMO-001", "DEMO_002", "DEMO-003.b"])
    response = replace(
        TEMPLATES[key],
        answers=answers,
        visit=draw(st.sampled_from(["V0", "V1", "V2", 'V"3'])),
        respondent=draw(st.sampled_from(["child", "parent", "staff"])),
        device_id=draw(st.sampled_from(["kiosk-01", "kiosk_02"])),
        receipt_id=draw(AWKWARD),
        language=draw(st.sampled_from(["nl", "en"])),
        out_of_window=draw(st.booleans()),
        out_of_window_reason=draw(reason),
        # The two statuses the FHIR writer maps (a superseded response is not mapped yet).
        status=draw(st.sampled_from([ResponseStatus.VALID, ResponseStatus.ENTERED_IN_ERROR])),
        status_reason=draw(reason),
        envelope_sha256=draw(st.sampled_from(["ab" * 32, "é\\"])),
    )
    return response, draw(code), draw(st.booleans())


def _line(made: FhirWriter, response: ExportResponse, patient: str) -> str | ExportError:
    try:
        return made.line(response, PatientText(patient))
    except ExportError as error:
        return error


def _reference(made: FhirWriter, response: ExportResponse, patient: str) -> str | ExportError:
    try:
        return dumps(made.resource(response, patient))
    except ExportError as error:
        return error


@pytest.mark.parametrize("deidentified", [False, True])
def test_the_written_file_is_dumps_of_each_dict_resource_on_the_export_records(
    tmp_path: Path, deidentified: bool
) -> None:
    """fhir_ndjson.py: lines are compact JSON with sorted keys; the assembled lines the writer
    writes equal ``dumps`` of the dict resources, byte for byte, plain and de-identified."""
    run_writer(fhir_writer(), tmp_path, deidentified=deidentified)
    reference = writer(deidentified=deidentified, folder=tmp_path / "reference")
    expected = "".join(
        dumps(reference.resource(r, p.code)) for p in patients() for r in p.responses
    )
    reference.finish()
    written = (tmp_path / "fhir" / RESPONSES).read_bytes()
    assert written == expected.encode("utf-8")
    assert written.count(b"\n") == sum(len(p.responses) for p in patients())


@pytest.fixture(scope="module")
def writers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[bool, FhirWriter]]:
    """One writer per de-identification setting, shared by the generated examples."""
    made = {
        deidentified: writer(deidentified=deidentified, folder=tmp_path_factory.mktemp("fhir"))
        for deidentified in (False, True)
    }
    yield made
    for each in made.values():
        each.finish()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=responses())
def test_an_assembled_line_equals_dumps_of_the_dict_resource_for_any_answers(
    writers: dict[bool, FhirWriter], case: tuple[ExportResponse, str, bool]
) -> None:
    """fhir_ndjson.py: the same records give the same bytes whichever rendering made them;
    an answer that does not fit its item is refused with the same message by both."""
    response, patient, deidentified = case
    made = writers[deidentified]
    fast, reference = _line(made, response, patient), _reference(made, response, patient)
    if isinstance(reference, ExportError):
        assert isinstance(fast, ExportError)
        assert str(fast) == str(reference)
    else:
        assert fast == reference
