"""Patient records built by hand from the real form files, for the SPSS export's tests.

Twelve made-up patients (``DEMO-001`` …) with the trial's visits V1, V3 (week 8) and V8
(week 52). Answers are generated from each item's own options and scale and validated by
:func:`epro.forms.answers.validate_answers`; the outcomes the analysis compares
(``vas_wellbeing``, ``vas_pain``) are set per patient, with ties and zero differences between
baseline and week 8. Scores come from :func:`epro.scoring.score_visit`, as the export's
pipeline computes them. One visit carries every kind of missing answer:

* DEMO-001 V1, CHAQ (parent): ``chaq_dress_a`` "na", ``chaq_dress_b`` "skipped",
  ``chaq_dress_c`` not reached, ``chaq_devices_other`` skipped; CHAQ (child):
  ``chaq_devices_other`` not reached; JAMAR (child) not collected; JAMAR (parent) no morning
  stiffness, so ``jamar_stiffness_duration`` was never asked; the clinician data on an older
  form version without ``crp``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

from epro.export.records import (
    ExportContext,
    ExportResponse,
    PatientRecord,
    ResponseStatus,
    VisitRecord,
)
from epro.forms import load_form, load_forms
from epro.forms.answers import validate_answers
from epro.forms.enablement import rule_holds
from epro.forms.model import AnswerValue, Form, FormKind, ItemType
from epro.forms.parse import parse_form
from epro.schedule import load_study
from epro.scoring import ScoreValue, VisitResponse, score_visit

ROOT: Final = Path(__file__).resolve().parents[2]
FORMS_DIR: Final = ROOT / "forms"
CREATED_AT: Final = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
BASELINE_DATE: Final = date(2024, 3, 4)
#: A removed answer: the item was not reached.
ABSENT: Final = object()
OLD_CLINICIAN: Final = "0.9.0"


def older_clinician() -> Form:
    """The clinician form as an earlier version without ``crp`` (derived from the real file)."""
    text = (FORMS_DIR / "versions" / "clinician-1.0.0.toml").read_text(encoding="utf-8")
    text = text.replace('version = "1.0.0"', f'version = "{OLD_CLINICIAN}"', 1)
    text = re.sub(r'\[\[items\]\]\nlink_id = "crp".*?(?=\[\[items\]\])', "", text, flags=re.S)
    form = parse_form(text, "clinician-0.9.0.toml")
    assert "crp" not in form.link_ids
    return form


def all_forms() -> dict[tuple[str, str], Form]:
    forms = {(f.id, f.version): f for f in load_forms(FORMS_DIR).values()}
    kept = load_form(FORMS_DIR / "versions" / "clinician-1.0.0.toml")
    forms[(kept.id, kept.version)] = kept
    old = older_clinician()
    forms[(old.id, old.version)] = old
    return forms


def context(forms: Mapping[tuple[str, str], Form], *, deidentified: bool = False) -> ExportContext:
    study = load_study(FORMS_DIR / "study.toml")
    return ExportContext(
        forms=forms,
        visit_weeks={v.code: v.week for v in study.visits},
        infusion_visits=("V1", "V3", "V5"),
        baseline_visit=study.baseline_visit,
        study_id=study.id,
        study_version="1.0.0",
        deidentified=deidentified,
        created_at=CREATED_AT,
    )


def generated_answers(form: Form, seed: int) -> dict[str, AnswerValue]:
    """A complete, valid set of answers drawn from each item's own options and scale."""
    answers: dict[str, AnswerValue] = {}
    for i, item in enumerate(form.answerable_items):
        k = seed * 7 + i * 3
        value: AnswerValue
        if item.type is ItemType.CHOICE:
            value = item.options[k % len(item.options)].code
        elif item.type is ItemType.CHECKLIST:
            codes = [str(o.code) for o in item.options]
            value = [] if k % 3 == 0 else [codes[k % len(codes)]]
            if item.link_id == "chaq_devices" and seed % 2 == 0:
                value = sorted({*value, "other"})
        elif item.type is ItemType.BOOLEAN:
            value = k % 2 == 0
        elif item.type in (ItemType.INTEGER, ItemType.VAS):
            low, high = int(item.min or 0), int(item.max if item.max is not None else 100)
            value = low + k % min(high - low + 1, 40)
        elif item.type in (ItemType.DECIMAL, ItemType.CIRCLES21):
            step = item.step or 0.5
            bottom = float(item.min or 0.0)
            top = float(item.max if item.max is not None else 10.0)
            value = min(bottom + (k % 21) * step, top)
        elif item.type is ItemType.DATE:
            value = (BASELINE_DATE + timedelta(days=k)).isoformat()
        else:
            value = f"Note {k}"
        answers[item.link_id] = value
    return answers


def _asked_only(form: Form, answers: dict[str, AnswerValue]) -> dict[str, AnswerValue]:
    kept: dict[str, AnswerValue] = {}
    for item in form.answerable_items:
        if item.link_id in answers and rule_holds(item.enable_when, kept):
            kept[item.link_id] = answers[item.link_id]
    return kept


@dataclass
class VisitPlan:
    code: str
    vas_wellbeing: int | str | None
    vas_pain: int | str | None
    #: (form, respondent) -> answers to set (ABSENT removes one: not reached).
    overrides: dict[tuple[str, str], dict[str, object]] = field(default_factory=dict)
    #: (form, respondent) not submitted at this visit.
    not_collected: set[tuple[str, str]] = field(default_factory=set)
    clinician_version: str = "1.0.0"


@dataclass
class PatientPlan:
    code: str
    age: float
    visits: list[VisitPlan]
    site: str = "UMCU"


def _visits(
    wellbeing: Sequence[int | str | None], pain: Sequence[int | str | None]
) -> list[VisitPlan]:
    return [
        VisitPlan(code, w, p)
        for code, w, p in zip(("V1", "V3", "V8"), wellbeing, pain, strict=False)
        if w is not None or p is not None
    ]


def plans() -> list[PatientPlan]:
    """The twelve patients. vas_wellbeing V1→V3 differences: -19, 0, -10, -20, -10, 0, -10,
    -5, -8, +2, -35; vas_pain V1→V3 differences are all distinct and none is zero."""
    found = [
        PatientPlan("DEMO-001", 12.4, _visits([75, 56, 40], [60, 41, 30])),
        PatientPlan("DEMO-002", 6.2, _visits([80, 80, 70], [50, 48, 45])),
        PatientPlan("DEMO-003", 14.0, _visits([60, 50, 45], [70, 77, 50])),
        PatientPlan("DEMO-004", 10.5, _visits([90, 70], [30, 19])),
        PatientPlan("DEMO-005", 9.1, _visits([70, 60, 50], [65, 52, 40])),
        PatientPlan("DEMO-006", 15.3, _visits([55, 55, 30], [40, 26, 35])),
        PatientPlan("DEMO-007", 11.0, _visits([85, 75, 80], [80, 64, 60])),
        PatientPlan("DEMO-008", 13.2, _visits([65, 60, 20], [55, 52, 10]), site="EMC"),
        PatientPlan("DEMO-009", 16.8, _visits([70, 62, 35], [45, 54, 20]), site="EMC"),
        PatientPlan("DEMO-010", 7.4, _visits([50, 52, 58], [35, 23, 30]), site="EMC"),
        PatientPlan("DEMO-011", 12.0, _visits([95, 60, "skipped"], [90, 69, 70]), site="EMC"),
        PatientPlan("DEMO-012", 12.9, _visits([72], [20]), site="EMC"),
    ]
    first = found[0].visits[0]
    first.overrides = {
        ("chaq", "parent"): {
            "chaq_dress_a": "na",
            "chaq_dress_b": "skipped",
            "chaq_dress_c": ABSENT,
            "chaq_devices": ["other", "wheelchair"],
            "chaq_devices_other": "skipped",
        },
        ("chaq", "child"): {"chaq_devices": ["other"], "chaq_devices_other": ABSENT},
        ("jamar", "parent"): {"jamar_stiffness": False, "jamar_status": "relapse"},
    }
    first.not_collected = {("jamar", "child")}
    first.clinician_version = OLD_CLINICIAN
    return found


#: Respondents per patient form and the youngest age that answers (instruments.md §2).
_CHILD_FROM: Final = {"chaq": 8, "jamar": 7, "vas_pain": 8, "vas_wellbeing": 8}


def _response(
    plan: PatientPlan,
    visit: VisitPlan,
    form: Form,
    respondent: str,
    answers: dict[str, AnswerValue],
) -> ExportResponse:
    when = datetime.combine(BASELINE_DATE, datetime.min.time(), UTC) + timedelta(
        weeks={"V1": 0, "V3": 8, "V8": 52}[visit.code], hours=9
    )
    rid = f"{plan.code}-{visit.code}-{form.id}-{respondent}"
    return ExportResponse(
        response_id=rid,
        site=plan.site,
        device_id="KIOSK-01",
        patient=plan.code,
        visit=visit.code,
        form_id=form.id,
        form_version=form.version,
        form_sha256=form.sha256,
        respondent=respondent,
        language="en",
        started_at=when,
        submitted_at=when + timedelta(minutes=5),
        received_at=when + timedelta(hours=1),
        receipt_id=f"receipt-{rid}",
        out_of_window=False,
        out_of_window_reason=None,
        envelope_sha256="0" * 64,
        answers=answers,
    )


def _visit_responses(
    plan: PatientPlan, visit: VisitPlan, forms: Mapping[tuple[str, str], Form], seed: int
) -> list[ExportResponse]:
    responses = []
    for form_id in ("chaq", "jamar", "vas_pain", "vas_wellbeing", "clinician"):
        version = visit.clinician_version if form_id == "clinician" else "1.0.0"
        form = forms[(form_id, version)]
        if form.kind is FormKind.STAFF:
            respondents = ["staff"]
        else:
            respondents = ["parent"] + (["child"] if plan.age >= _CHILD_FROM[form_id] else [])
        for n, respondent in enumerate(respondents):
            if (form_id, respondent) in visit.not_collected:
                continue
            answers = generated_answers(form, seed + n)
            value = {"vas_wellbeing": visit.vas_wellbeing, "vas_pain": visit.vas_pain}.get(form_id)
            if value is not None:
                # The child's answer is the score from 8 years; the parent's differs from it.
                chosen = respondent == respondents[-1]
                answers[form_id] = value if chosen or not isinstance(value, int) else 99 - value
            for link_id, override in visit.overrides.get((form_id, respondent), {}).items():
                if override is ABSENT:
                    answers.pop(link_id, None)
                else:
                    answers[link_id] = override  # type: ignore[assignment]
            answers = _asked_only(form, answers)
            responses.append(
                _response(plan, visit, form, respondent, validate_answers(form, answers))
            )
    return responses


#: Clinician data the score catalogue lists as scores (instruments.md §2.4); the scoring
#: functions read them as inputs of the composites, the export reports them as they are.
_CLINICIAN_SCORES: Final = (
    "phys_global",
    "active_joints",
    "active_joints_27",
    "limited_joints",
    "esr",
)


def _clinician_scores(responses: Sequence[ExportResponse]) -> dict[str, ScoreValue]:
    found: dict[str, ScoreValue] = {}
    for response in responses:
        if response.form_id == "clinician":
            for name in _CLINICIAN_SCORES:
                value = response.answers.get(name)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    found[name] = value
    return found


def _scoring_input(responses: Sequence[ExportResponse]) -> list[VisitResponse]:
    return [VisitResponse(r.form_id, r.respondent, r.answers) for r in responses]


def patients(forms: Mapping[tuple[str, str], Form]) -> list[PatientRecord]:
    """The twelve patients as the export's pipeline hands them to a writer."""
    records = []
    for number, plan in enumerate(plans()):
        visits = []
        baseline: list[VisitResponse] | None = None
        every: list[ExportResponse] = []
        for index, visit in enumerate(plan.visits):
            responses = _visit_responses(plan, visit, forms, seed=number * 5 + index)
            scoring = _scoring_input(responses)
            if visit.code == "V1":
                baseline = scoring
            result = score_visit(scoring, baseline=baseline, age_years=plan.age)
            scores = {**_clinician_scores(responses), **result.scores}
            every.extend(responses)
            visits.append(
                VisitRecord(
                    visit=visit.code,
                    visit_date=responses[0].submitted_at.date(),
                    age_years=plan.age,
                    responses=tuple(responses),
                    scores=scores,
                    notes=result.notes,
                )
            )
        if plan.code == "DEMO-001":
            # A response a data manager marked entered in error: kept in the long file only.
            wrong = every[-1]
            every.append(
                replace(
                    wrong,
                    response_id="DEMO-001-V3-error",
                    status=ResponseStatus.ENTERED_IN_ERROR,
                    status_reason="entered for the wrong patient",
                )
            )
        records.append(
            PatientRecord(
                code=plan.code,
                site=plan.site,
                birth_ym="2012-01",
                baseline_date=BASELINE_DATE,
                visits=tuple(visits),
                responses=tuple(every),
            )
        )
    return records


def given_answers(
    forms: Mapping[tuple[str, str], Form], patients: Sequence[PatientRecord]
) -> Iterator[tuple[str, str, str, AnswerValue]]:
    """(patient, visit, column, value) for every answer of every valid response, as the wide
    table holds it by its rules: a flag per ticked option, 1/0 for yes/no, text codes
    numbered from 1 in option order. The missing codes are left to tests of their own."""
    for patient in patients:
        for visit in patient.visits:
            for response in visit.responses:
                form = forms[(response.form_id, response.form_version)]
                staff = form.kind is FormKind.STAFF
                for link_id, value in response.answers.items():
                    item = form.item(link_id)
                    name = link_id if staff else f"{link_id}_{response.respondent}"
                    where = (patient.code, visit.visit)
                    if value == "skipped" or (value == "na" and item.type is not ItemType.TEXT):
                        continue
                    if item.type is ItemType.CHECKLIST:
                        assert isinstance(value, list)
                        for option in item.options:
                            yield (*where, f"{name}__{option.code}", int(option.code in value))
                    elif item.type is ItemType.CHOICE and isinstance(value, str):
                        yield (*where, name, 1 + list(item.codes).index(value))
                    elif item.type is ItemType.BOOLEAN and isinstance(value, bool | int):
                        yield (*where, name, int(value))
                    else:
                        yield (*where, name, value)
