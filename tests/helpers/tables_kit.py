"""A small study built by hand from the real form files, for the CSV and codebook tests.

Forms: ``chaq`` and ``vas_pain`` as shipped (parent and child), ``clinician`` 1.0.0 as kept in
``forms/versions/`` and a made-up ``clinician`` 1.1.0 that adds ``infusion_given`` (a yes/no
item whose label holds markup characters, to see them escaped).

Patients (the tests spell out every expected cell from these answers):

* ``DEMO-001`` at site ``S01``:
  - V1 (2024-03-04, 9.5 years): CHAQ by the parent (answered, ``na``, skipped, a checklist
    ticked out of order, a checklist with nothing ticked, the rest not reached); no CHAQ by the
    child; VAS pain by the parent twice (20, then 25) and by the child (40); clinician 1.0.0;
    and a clinician 1.1.0 response entered in error.
  - V2 (2024-04-01, 9.75 years): CHAQ by the child with "other" device and its free text, help
    skipped; clinician 1.1.0 with ``infusion_given`` yes.
  - V3: only a VAS pain response entered in error, so no visit record.
* ``DEMO-002`` at site ``S02``: V0 (2024-01-08, age unknown), clinician 1.1.0 only.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from epro.export.csv_files import csv_writers
from epro.export.records import (
    ExportContext,
    ExportResponse,
    PatientRecord,
    ResponseStatus,
    VisitRecord,
    WrittenFile,
)
from epro.forms import Form, load_form, load_forms, parse_form, validate_answers
from epro.forms.model import AnswerValue
from epro.scoring.result import ScoreValue

INFUSION_LABEL = "MSC infusion given <V1, V3 or V5 only> & recorded"
INFUSION_ITEM = f'''
[[items]]
link_id = "infusion_given"
type = "boolean"
text = {{ en = "{INFUSION_LABEL}", nl = "MSC-infusie gegeven" }}
'''


def clinician_1_1_0(forms_dir: Path) -> Form:
    """The kept clinician 1.0.0 text, as version 1.1.0 with one item more."""
    text = (forms_dir / "versions" / "clinician-1.0.0.toml").read_text(encoding="utf-8")
    assert 'version = "1.0.0"\nkind' in text
    text = text.replace('version = "1.0.0"\nkind', 'version = "1.1.0"\nkind', 1)
    return parse_form(text + INFUSION_ITEM, "clinician-1.1.0")


def make_context(forms_dir: Path, names: tuple[str, ...], *, deidentified: bool) -> ExportContext:
    shipped = load_forms(forms_dir)
    forms: dict[tuple[str, str], Form] = {
        (form.id, form.version): form
        for form in shipped.values()
        if form.id in names and form.id != "clinician"
    }
    old = load_form(forms_dir / "versions" / "clinician-1.0.0.toml")
    new = clinician_1_1_0(forms_dir)
    forms[(old.id, old.version)] = old
    forms[(new.id, new.version)] = new
    return ExportContext(
        forms=forms,
        visit_weeks={"V0": -12, "V1": 0, "V2": 4, "V3": 8},
        infusion_visits=("V1", "V3"),
        baseline_visit="V1",
        study_id="MSC-JIA-DEMO",
        study_version="1.0.0",
        deidentified=deidentified,
        created_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    )


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


V0_DATE = date(2024, 1, 8)
V1_DATE = date(2024, 3, 4)
V2_DATE = date(2024, 4, 1)
V3_DATE = date(2024, 4, 29)
#: A time given in another zone (UTC+1): written as 08:30Z.
CET_0930 = datetime(2024, 3, 4, 9, 30, tzinfo=timezone(timedelta(hours=1)))


def response(
    response_id: str,
    form: str,
    version: str,
    respondent: str,
    visit: str,
    submitted: datetime,
    answers: Mapping[str, AnswerValue],
    *,
    patient: str = "DEMO-001",
    site: str = "S01",
    status: ResponseStatus = ResponseStatus.VALID,
    reason: str | None = None,
    out_of_window: bool = False,
    language: str = "nl",
) -> ExportResponse:
    return ExportResponse(
        response_id=response_id,
        site=site,
        device_id="kiosk-1",
        patient=patient,
        visit=visit,
        form_id=form,
        form_version=version,
        form_sha256="0" * 64,
        respondent=respondent,
        language=language,
        started_at=submitted - timedelta(minutes=10),
        submitted_at=submitted,
        received_at=submitted + timedelta(hours=2),
        receipt_id=f"receipt-{response_id}",
        out_of_window=out_of_window,
        out_of_window_reason="late" if out_of_window else None,
        envelope_sha256="1" * 64,
        answers=dict(answers),
        status=status,
        status_reason=reason,
    )


CHAQ_PARENT_V1 = response(
    "r-chaq-p-v1",
    "chaq",
    "1.0.0",
    "parent",
    "V1",
    at(V1_DATE, 9, 0),
    {
        "chaq_dress_a": 0,
        "chaq_dress_b": 1,
        "chaq_dress_c": "na",
        "chaq_dress_d": "skipped",
        "chaq_devices": ["wheelchair", "walking_aid"],
        "chaq_help": [],
        "chaq_pain_vas": 35,
    },
)
VAS_PARENT_V1_FIRST = response(
    "r-vas-p-v1-a", "vas_pain", "1.0.0", "parent", "V1", CET_0930, {"vas_pain": 20}
)
VAS_PARENT_V1_LAST = response(
    "r-vas-p-v1-b",
    "vas_pain",
    "1.0.0",
    "parent",
    "V1",
    at(V1_DATE, 9, 45),
    {"vas_pain": 25},
    out_of_window=True,
)
VAS_CHILD_V1 = response(
    "r-vas-c-v1", "vas_pain", "1.0.0", "child", "V1", at(V1_DATE, 9, 50), {"vas_pain": 40}
)
CLINICIAN_V1 = response(
    "r-clin-v1",
    "clinician",
    "1.0.0",
    "staff",
    "V1",
    at(V1_DATE, 11, 0),
    {
        "phys_global": 3.5,
        "active_joints": 4,
        "active_joints_27": 3,
        "limited_joints": 2,
        "esr": 12.0,
        "jia_course": "poly",
    },
    language="en",
)
CLINICIAN_V1_IN_ERROR = response(
    "r-clin-v1-error",
    "clinician",
    "1.1.0",
    "staff",
    "V1",
    at(V1_DATE, 11, 5),
    {"phys_global": 9, "infusion_given": False},
    status=ResponseStatus.ENTERED_IN_ERROR,
    reason="entered for the wrong patient, see note 4",
    language="en",
)
CHAQ_CHILD_V2 = response(
    "r-chaq-c-v2",
    "chaq",
    "1.0.0",
    "child",
    "V2",
    at(V2_DATE, 10, 0),
    {
        "chaq_dress_a": 3,
        "chaq_devices": ["other"],
        "chaq_devices_other": 'a thick pen, and a "grip" ruler',
        "chaq_help": "skipped",
    },
)
CLINICIAN_V2 = response(
    "r-clin-v2",
    "clinician",
    "1.1.0",
    "staff",
    "V2",
    at(V2_DATE, 11, 0),
    {
        "phys_global": 2,
        "active_joints": 0,
        "esr": 7.25,
        "crp": 0.5,
        "jia_course": "oligo",
        "infusion_given": True,
    },
    language="en",
)
VAS_PARENT_V3_IN_ERROR = response(
    "r-vas-p-v3-error",
    "vas_pain",
    "1.0.0",
    "parent",
    "V3",
    at(V3_DATE, 9, 0),
    {"vas_pain": 70},
    status=ResponseStatus.ENTERED_IN_ERROR,
    reason="kiosk left on the wrong patient",
)
CLINICIAN_DEMO_002_V0 = response(
    "r-clin-002-v0",
    "clinician",
    "1.1.0",
    "staff",
    "V0",
    at(V0_DATE, 8, 0),
    {
        "phys_global": 6.5,
        "active_joints": 12,
        "active_joints_27": 9,
        "limited_joints": 5,
        "esr": 40,
        "crp": 3.25,
        "jia_course": "poly",
        "infusion_given": False,
    },
    patient="DEMO-002",
    site="S02",
    language="en",
)

V1_SCORES: dict[str, ScoreValue] = {
    "chaq_di": 1.125,
    "chaq_domains_scored": 8,
    "chaq_di_parent": 1.125,
    "chaq_di_child": None,
    "vas_pain": 25,
    "phys_global": 3.5,
    "esr": 12.0,
    "jadas71": 1 / 3,
    "jadas71_category": 2,
    "acr_pedi_30": True,
    "acr_pedi_50": False,
}
V1_NOTES = {"chaq_di_child": "missing: chaq (child)"}


@dataclass(frozen=True)
class Scenario:
    context: ExportContext
    patients: list[PatientRecord] = field(default_factory=list)


def make_patients() -> list[PatientRecord]:
    first = PatientRecord(
        code="DEMO-001",
        site="S01",
        birth_ym="2014-08",
        baseline_date=V1_DATE,
        visits=[
            VisitRecord(
                visit="V1",
                visit_date=V1_DATE,
                age_years=9.5,
                responses=[
                    CHAQ_PARENT_V1,
                    VAS_PARENT_V1_FIRST,
                    VAS_PARENT_V1_LAST,
                    VAS_CHILD_V1,
                    CLINICIAN_V1,
                ],
                scores=V1_SCORES,
                notes=V1_NOTES,
            ),
            VisitRecord(
                visit="V2",
                visit_date=V2_DATE,
                age_years=9.75,
                responses=[CHAQ_CHILD_V2, CLINICIAN_V2],
                scores={"phys_global": 2, "chaq_di": None},
                notes={"chaq_di": "missing: 7 domains"},
            ),
        ],
        responses=[
            CHAQ_PARENT_V1,
            VAS_PARENT_V1_FIRST,
            VAS_PARENT_V1_LAST,
            VAS_CHILD_V1,
            CLINICIAN_V1,
            CLINICIAN_V1_IN_ERROR,
            CHAQ_CHILD_V2,
            CLINICIAN_V2,
            VAS_PARENT_V3_IN_ERROR,
        ],
    )
    second = PatientRecord(
        code="DEMO-002",
        site="S02",
        birth_ym=None,
        baseline_date=None,
        visits=[
            VisitRecord(
                visit="V0",
                visit_date=V0_DATE,
                age_years=None,
                responses=[CLINICIAN_DEMO_002_V0],
                scores={"esr": 40, "phys_global": 6.5},
            )
        ],
        responses=[CLINICIAN_DEMO_002_V0],
    )
    return [first, second]


FORMS = ("chaq", "vas_pain", "clinician")


def checked(context: ExportContext) -> Scenario:
    """The patients, after checking that every made-up answer is one the form accepts."""
    patients = make_patients()
    for patient in patients:
        for given in patient.responses:
            validate_answers(context.forms[(given.form_id, given.form_version)], given.answers)
    return Scenario(context, patients)


def write_all(scenario: Scenario, out: Path) -> list[WrittenFile]:
    """Runs every CSV writer the way the export pipeline does: begin, each patient, finish."""
    out.mkdir(parents=True, exist_ok=True)
    writers = csv_writers()
    for writer in writers:
        writer.begin(out, scenario.context)
    for patient in scenario.patients:
        for writer in writers:
            writer.add_patient(patient)
    return [written for writer in writers for written in writer.finish()]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))
