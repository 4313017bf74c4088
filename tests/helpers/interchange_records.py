"""Hand-built export records for the ODM and FHIR adapters, on the real form files.

Two made-up patients of the demonstration protocol: DEMO-001 (10 years old: the child answers
CHAQ and the VAS, parent and child both answer JAMAR) and DEMO-002 (6 years old: the parent
answers CHAQ). Between them they carry every item type, ``na``, ``skipped`` and not-reached
items, a checklist with ticks and one left empty, free text with characters XML and JSON must
escape, two versions of the clinician form (1.0.0 as kept in ``forms/versions/`` and a 1.1.0
made here from it with a date, a boolean and a note), a response entered in error next to its
replacement, and a response started outside the visit window.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from epro.demo import demo_answer
from epro.export.records import (
    ExportContext,
    ExportResponse,
    FormatWriter,
    PatientRecord,
    ResponseStatus,
    VisitRecord,
    WrittenFile,
)
from epro.forms import Form, load_form, load_forms, parse_form, validate_answers
from epro.forms.model import NA, SKIPPED, AnswerValue
from epro.schedule import Study, load_study

ROOT: Final = Path(__file__).resolve().parents[2]
FORMS: Final = ROOT / "forms"
CREATED: Final = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)

#: Leave the item out of the answers: it was not reached.
NOT_REACHED: Final = object()

CLINICIAN_1_1_ITEMS: Final = """
[[items]]
link_id = "esr_date"
type = "date"
required = false
text = { en = "Date the ESR sample was taken", nl = "Datum van de BSE-afname" }

[[items]]
link_id = "uveitis"
type = "boolean"
text = { en = "Uveitis since the last visit", nl = "Uveïtis sinds het vorige bezoek" }

[[items]]
link_id = "clinician_note"
type = "text"
required = false
text = { en = "Note", nl = "Opmerking" }
"""


def clinician_versions() -> tuple[Form, Form]:
    """Clinician 1.0.0 from ``forms/versions/`` and a 1.1.0 made from it with three items."""
    kept = FORMS / "versions" / "clinician-1.0.0.toml"
    old = load_form(kept)
    text = kept.read_text(encoding="utf-8").replace('version = "1.0.0"', 'version = "1.1.0"', 1)
    new = parse_form(text + CLINICIAN_1_1_ITEMS, "clinician-1.1.0.toml")
    assert (old.version, new.version) == ("1.0.0", "1.1.0")
    return old, new


def export_forms() -> dict[tuple[str, str], Form]:
    forms = {(f.id, f.version): f for f in load_forms(FORMS).values() if f.id != "clinician"}
    for form in clinician_versions():
        forms[(form.id, form.version)] = form
    return forms


def study() -> Study:
    return load_study(FORMS / "study.toml")


def context(*, deidentified: bool = False) -> ExportContext:
    protocol = study()
    return ExportContext(
        forms=export_forms(),
        visit_weeks={visit.code: visit.week for visit in protocol.visits},
        infusion_visits=("V1", "V3", "V5"),
        baseline_visit=protocol.baseline_visit,
        study_id=protocol.id,
        study_version=protocol.version,
        deidentified=deidentified,
        created_at=CREATED,
    )


class _Builder:
    """Makes responses with ids, digests and times that are the same on every run."""

    def __init__(self, forms: Mapping[tuple[str, str], Form]) -> None:
        self.forms = forms
        self.count = 0

    def answers(self, form: Form, seed: int, overrides: Mapping[str, object]) -> dict[str, object]:
        rng = random.Random(seed)
        answers: dict[str, object] = {
            item.link_id: demo_answer(item, rng, 0.5)
            for item in form.answerable_items
            if item.enable_when is None and item.type.value != "text"
        }
        for link_id, value in overrides.items():
            if value is NOT_REACHED:
                answers.pop(link_id, None)
            else:
                answers[link_id] = value
        return answers

    def response(
        self,
        form_id: str,
        version: str,
        *,
        patient: str,
        site: str,
        device: str,
        visit: str,
        respondent: str,
        submitted: datetime,
        overrides: Mapping[str, object] | None = None,
        language: str = "nl",
        **extra: Any,
    ) -> ExportResponse:
        self.count += 1
        form = self.forms[(form_id, version)]
        answers: dict[str, AnswerValue] = validate_answers(
            form, self.answers(form, self.count, overrides or {})
        )
        response_id = str(uuid.UUID(int=0x0190_0000_0000_7000_8000_0000_0000_0000 + self.count))
        made = ExportResponse(
            response_id=response_id,
            site=site,
            device_id=device,
            patient=patient,
            visit=visit,
            form_id=form_id,
            form_version=version,
            form_sha256=form.sha256,
            respondent=respondent,
            language=language,
            started_at=submitted - timedelta(minutes=12),
            submitted_at=submitted,
            received_at=submitted + timedelta(minutes=3, seconds=self.count),
            receipt_id=str(uuid.UUID(int=0x0190_0000_0000_7000_9000_0000_0000_0000 + self.count)),
            out_of_window=False,
            out_of_window_reason=None,
            envelope_sha256=hashlib.sha256(f"envelope {response_id}".encode()).hexdigest(),
            answers=answers,
        )
        return replace(made, **extra)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def patients() -> list[PatientRecord]:
    """DEMO-001 and DEMO-002, responses in submission order."""
    make = _Builder(export_forms())
    v0, v1, v2 = date(2024, 12, 9), date(2025, 3, 3), date(2025, 3, 31)
    one: dict[str, Any] = {"patient": "DEMO-001", "site": "site-a", "device": "kiosk-01"}
    first = [
        make.response(
            "clinician",
            "1.0.0",
            visit="V0",
            respondent="staff",
            submitted=_at(v0, 9),
            overrides={"crp": NOT_REACHED},
            **one,
        ),
        make.response(
            "chaq",
            "1.0.0",
            visit="V1",
            respondent="child",
            submitted=_at(v1, 9),
            **one,
            overrides={
                "chaq_dress_a": 2,
                "chaq_dress_b": NA,
                "chaq_arise_a": SKIPPED,
                "chaq_grip_e": NOT_REACHED,
                "chaq_activ_e": NOT_REACHED,
                "chaq_devices": ["wheelchair", "other"],
                "chaq_devices_other": 'a "soft" cushion & <pillow>\nat school',
                "chaq_help": [],
                "chaq_pain_vas": 0,
            },
        ),
        make.response(
            "jamar",
            "1.0.0",
            visit="V1",
            respondent="parent",
            submitted=_at(v1, 9, 20),
            overrides={
                "jamar_pain": 7.5,
                "jamar_stiffness": False,
                "jamar_joints": ["knee", "wrist"],
                "jamar_satisfied": SKIPPED,
            },
            **one,
        ),
        make.response(
            "jamar",
            "1.0.0",
            visit="V1",
            respondent="child",
            submitted=_at(v1, 9, 40),
            overrides={
                "jamar_pain": 10.0,
                "jamar_stiffness": True,
                "jamar_stiffness_duration": NOT_REACHED,
                "jamar_joints": SKIPPED,
                "jamar_jafs_03": NA,
            },
            language="en",
            **one,
        ),
        make.response(
            "vas_pain",
            "1.0.0",
            visit="V1",
            respondent="child",
            submitted=_at(v1, 9, 45),
            overrides={"vas_pain": 35},
            **one,
        ),
        make.response(
            "clinician",
            "1.1.0",
            visit="V1",
            respondent="staff",
            submitted=_at(v1, 11),
            overrides={
                "phys_global": 4.5,
                "esr": 21.0,
                "esr_date": "2025-03-03",
                "uveitis": False,
                "clinician_note": "réviewed; joint count 27/71",
                "jia_course": "poly",
            },
            **one,
        ),
        make.response(
            "chaq",
            "1.0.0",
            visit="V2",
            respondent="child",
            submitted=_at(v2, 10),
            status=ResponseStatus.ENTERED_IN_ERROR,
            status_reason="answered by the parent on the child's session",
            **one,
        ),
        make.response(
            "chaq",
            "1.0.0",
            visit="V2",
            respondent="child",
            submitted=_at(v2, 10, 30),
            overrides={"chaq_devices": NOT_REACHED, "chaq_help": ["walk", "grip"]},
            **one,
        ),
        make.response(
            "vas_pain",
            "1.0.0",
            visit="V2",
            respondent="child",
            submitted=_at(v2 + timedelta(days=5), 14),
            out_of_window=True,
            out_of_window_reason="visit moved by the family",
            **one,
        ),
    ]
    two = {"patient": "DEMO-002", "site": "site-b", "device": "kiosk-02"}
    second = [
        make.response(
            "chaq",
            "1.0.0",
            visit="V1",
            respondent="parent",
            submitted=_at(v1, 13),
            overrides={"chaq_devices": SKIPPED, "chaq_eat_c": NA},
            **two,
        ),
        make.response(
            "vas_pain",
            "1.0.0",
            visit="V1",
            respondent="parent",
            submitted=_at(v1, 13, 10),
            overrides={"vas_pain": 100},
            **two,
        ),
    ]
    return [
        _patient("DEMO-001", "site-a", "2014-05", v1, first),
        _patient("DEMO-002", "site-b", "2019-01", v1, second),
    ]


def _patient(
    code: str, site: str, birth: str, baseline: date, responses: list[ExportResponse]
) -> PatientRecord:
    visits: dict[str, list[ExportResponse]] = {}
    for response in responses:
        if response.status is ResponseStatus.VALID:
            visits.setdefault(response.visit, []).append(response)
    return PatientRecord(
        code=code,
        site=site,
        birth_ym=birth,
        baseline_date=baseline,
        visits=[
            VisitRecord(
                visit=visit,
                visit_date=min(r.submitted_at for r in found).date(),
                age_years=None,
                responses=found,
                scores={},
            )
            for visit, found in visits.items()
        ],
        responses=responses,
    )


def run_writer(
    writer: FormatWriter,
    out: Path,
    *,
    deidentified: bool = False,
    records: list[PatientRecord] | None = None,
) -> list[WrittenFile]:
    """Drive a writer the way the export pipeline does: begin, each patient, finish."""
    writer.begin(out, context(deidentified=deidentified))
    for patient in patients() if records is None else records:
        writer.add_patient(patient)
    return writer.finish()
