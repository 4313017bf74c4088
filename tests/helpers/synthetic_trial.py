"""A synthetic trial run through the real data path, for the export's end-to-end test.

Made-up patients (``DEMO-101`` …) at two sites go through all nine visits of
``forms/study.toml``: the clinician form at V0, and at V1–V8 every kiosk form due for the
respondents the protocol's age rules name, plus the clinician form. Every response is started,
answered and submitted through the real :class:`SessionService` on real kiosk stores (SQLite
files, fast KDF), each on a clock fixed to its visit day, by kiosks enrolled with a real study
server and synced to it with the real sync client.

Answers come from a seeded RNG, so every run gives the same answers. They vary on purpose:
"na" and "skipped", checklists ticked in any order (or not at all), the enable_when follow-ups
(stiffness duration, the "other" device text), answers changed, a follow-up cleared when its
condition is answered away, a form left out, a draft stopped, a draft resumed after a timeout,
a visit out of its window. The clinician's core set follows a planned course per patient, so
some patients reach ACR Pedi 30 at V2 or V4 and lose it at the next visit (instruments.md
§4.1). What each response was answered with is recorded by response id, as the test gave it:
the export must give back exactly that.
"""

from __future__ import annotations

import contextlib
import functools
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from epro.crypto import FAST_KDF
from epro.forms.model import NA, SKIPPED, AnswerValue, Form, Item, ItemType
from epro.schedule import Study, age_at
from epro.session import QuestionnaireSession, SessionService
from epro.store import Store, init_store
from epro.store.domain import AuditKind, Patient
from epro.sync_client import SyncClient, enrol_kiosk
from epro_sync.testing import RunningServer

PASSPHRASE = "synthetic trial passphrase"
NURSE = "nurse"

#: Texts for the optional "other device" line: commas, quotes, a dash and accents, which every
#: writer has to carry through unchanged.
OTHER_DEVICES = (
    'a cushion on the chair, "extra" high',
    "kussen op de stoel — verhoogd",
    "Griffverstärkung; zipper pull",
)

#: The items of the clinician's core set and composites; they follow the patient's planned
#: course instead of chance, so that the ACR Pedi and repeat-infusion rules have work to do.
CORE_SET = ("phys_global", "active_joints", "active_joints_27", "limited_joints", "esr")


@dataclass(frozen=True, slots=True)
class TrialPatient:
    """A made-up participant: where and when they take part, and how their disease runs."""

    code: str
    site: str
    birth_ym: str
    baseline: date
    language: str
    jia_course: str
    #: Disease activity 0–1 at V0 … V8; the clinician's numbers and the well-being line
    #: follow it, the other answers lean on it.
    severity: tuple[float, float, float, float, float, float, float, float, float]
    #: Visits at which a biologic or joint injection since the last infusion is reported.
    disqualified_at: tuple[str, ...] = ()
    #: V3 and V5 visits at which the infusion was repeated.
    repeat_infusions: tuple[str, ...] = ()
    #: (visit, form, respondent) of forms that are due but never filled in.
    not_collected: tuple[tuple[str, str, str], ...] = ()
    #: (visit, item) answered "skipped" on the clinician form.
    clinician_skips: tuple[tuple[str, str], ...] = ()
    #: Visits held this many days after their target date (outside the window, with a reason).
    late: Mapping[str, int] = field(default_factory=dict)


#: Ages at baseline 5, 7 (8 from week 20: CHAQ and the VAS pass from parent to child),
#: 9, 12, 15 and 17 at site A; 6 at site B (7 from week 16: the JAMAR child version starts).
PATIENTS: tuple[TrialPatient, ...] = (
    # ACR Pedi 30 at V2, lost at V3: eligible for a repeat infusion at V3.
    TrialPatient(
        "DEMO-101",
        "SITE-A",
        "2020-06",
        date(2025, 9, 1),
        "en",
        "poly",
        (0.8, 0.8, 0.4, 0.78, 0.6, 0.55, 0.5, 0.45, 0.4),
        repeat_infusions=("V3",),
    ),
    # Improves steadily; turns 8 between V5 and V6.
    TrialPatient(
        "DEMO-102",
        "SITE-A",
        "2018-02",
        date(2025, 9, 8),
        "en",
        "oligo",
        (0.6, 0.6, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25),
        not_collected=(("V7", "jamar", "child"),),
    ),
    # Pedi 30 at V2 lost at V3, and again at V4 lost at V5: both repeat infusions.
    TrialPatient(
        "DEMO-103",
        "SITE-A",
        "2016-05",
        date(2025, 9, 15),
        "nl",
        "poly",
        (0.9, 0.9, 0.45, 0.85, 0.4, 0.8, 0.5, 0.45, 0.4),
        repeat_infusions=("V3", "V5"),
    ),
    # Pedi 30 at V2 lost at V3, but a biologic since the last infusion: not eligible.
    TrialPatient(
        "DEMO-104",
        "SITE-A",
        "2013-07",
        date(2025, 9, 22),
        "en",
        "poly",
        (0.7, 0.7, 0.35, 0.68, 0.6, 0.55, 0.5, 0.5, 0.45),
        disqualified_at=("V3",),
    ),
    # No response at all; the ESR skipped at V6, a late V7.
    TrialPatient(
        "DEMO-105",
        "SITE-A",
        "2010-04",
        date(2025, 9, 29),
        "en",
        "oligo",
        (0.5, 0.5, 0.5, 0.52, 0.5, 0.48, 0.5, 0.5, 0.5),
        clinician_skips=(("V6", "esr"),),
        late={"V7": 10},
    ),
    # Pedi 30 at V2 that holds: no waning, no repeat infusion.
    TrialPatient(
        "DEMO-106",
        "SITE-A",
        "2008-03",
        date(2025, 10, 6),
        "nl",
        "poly",
        (0.75, 0.75, 0.35, 0.3, 0.3, 0.25, 0.25, 0.2, 0.2),
    ),
    # Site B: one kiosk, one patient.
    TrialPatient(
        "DEMO-201",
        "SITE-B",
        "2019-01",
        date(2025, 9, 10),
        "nl",
        "oligo",
        (0.65, 0.65, 0.6, 0.55, 0.5, 0.5, 0.45, 0.4, 0.4),
    ),
)

#: Kiosks per site: two at site A (answers of one visit spread over both), one at site B.
KIOSKS: Mapping[str, tuple[str, ...]] = {"SITE-A": ("a1", "a2"), "SITE-B": ("b1",)}


@dataclass(frozen=True, slots=True)
class GivenResponse:
    """One submitted response, as the test answered it."""

    response_id: str
    site: str
    kiosk: str
    patient: str
    visit: str
    form_id: str
    form_version: str
    respondent: str
    language: str
    day: date
    #: The kiosk clock at Submit.
    submitted_at: datetime
    out_of_window_reason: str | None
    #: Every answer the response holds at Submit (items never answered are absent).
    answers: Mapping[str, AnswerValue]


@dataclass(slots=True)
class Trial:
    """What the run made: every submitted response, and the drafts that must stay behind."""

    patients: tuple[TrialPatient, ...]
    given: dict[str, GivenResponse] = field(default_factory=dict)
    #: Response ids started but never submitted (stopped or left as drafts).
    unsubmitted: list[str] = field(default_factory=list)

    def visit_days(self, code: str) -> dict[str, date]:
        """The day each visit of a patient was held (all its forms on that one day)."""
        return {g.visit: g.day for g in self.given.values() if g.patient == code}

    def of_visit(self, code: str, visit: str) -> list[GivenResponse]:
        return [g for g in self.given.values() if (g.patient, g.visit) == (code, visit)]


@dataclass
class _Kiosk:
    name: str
    site: str
    store: Store


class _VisitClock:
    """The kiosk clock on a visit day, a few minutes on per questionnaire.

    It starts at 10:00 UTC, which is on the visit day in the kiosk's local calendar (which the
    visit windows use) in every time zone from UTC−10 to UTC+13, and is also the day in UTC
    (which is all a submission time carries): so the test means the same wherever it runs.
    """

    def __init__(self, day: date) -> None:
        self.now = datetime.combine(day, time(10, 0), tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> None:
        self.now += timedelta(minutes=4, seconds=13)


def visit_number(study: Study, visit: str) -> int:
    """0 for the first visit of the protocol (V0), 8 for the last."""
    return [v.code for v in study.visits].index(visit)


def visit_day(study: Study, patient: TrialPatient, visit: str) -> date:
    target = patient.baseline + timedelta(days=7 * study.visit(visit).week)
    return target + timedelta(days=patient.late.get(visit, 0))


def run_trial(
    server: RunningServer,
    folder: Path,
    forms: Mapping[str, Form],
    study: Study,
    patients: Sequence[TrialPatient] = PATIENTS,
) -> Trial:
    """Enrol kiosks and patients, hold every visit, sync everything; return what was given."""
    trial = Trial(tuple(patients))
    with _kiosks(server, folder) as kiosks:
        for patient in patients:
            # Each patient is enrolled on the first kiosk of their site; the others learn of
            # them from the server's roster.
            _enrol(kiosks[patient.site][0].store, patient)
        for _ in range(2):  # once to push each kiosk's patients, once to pull the others'
            _sync_all(kiosks)
        for site, group in kiosks.items():
            expected = sorted(p.code for p in patients if p.site == site)
            for kiosk in group:
                with kiosk.store.unit_of_work() as uow:
                    known = sorted(p.code for p in uow.patients.list())
                assert known == expected, f"kiosk {kiosk.name} roster {known}"
        for visit in study.visits:
            for index, patient in enumerate(patients):
                _hold_visit(trial, kiosks[patient.site], forms, study, patient, visit.code, index)
            if visit.code in ("V1", "V4"):
                _sync_all(kiosks)  # the clinic syncs now and then, not only at the end
        _sync_all(kiosks)
    return trial


@contextlib.contextmanager
def _kiosks(server: RunningServer, folder: Path) -> Iterator[dict[str, list[_Kiosk]]]:
    made: dict[str, list[_Kiosk]] = {}
    try:
        for site, names in KIOSKS.items():
            for name in names:
                store = init_store(
                    folder / f"kiosk-{name}.db",
                    passphrase=PASSPHRASE,
                    site=site,
                    nurse_name=NURSE,
                    nurse_pin="1234",
                    kdf=FAST_KDF,
                )
                made.setdefault(site, []).append(_Kiosk(name, site, store))
                enrol_kiosk(store, server_url=server.url, code=server.code(site), label=name)
        yield made
    finally:
        for group in made.values():
            for kiosk in group:
                kiosk.store.close()


def _enrol(store: Store, patient: TrialPatient) -> None:
    with store.unit_of_work() as uow:
        uow.patients.add(
            Patient(
                code=patient.code,
                birth_ym=patient.birth_ym,
                baseline_date=patient.baseline,
                site=patient.site,
                language=patient.language,
            )
        )
        uow.audit.append(AuditKind.ENROL, NURSE, detail=patient.code)
        uow.commit()


def _sync_all(kiosks: Mapping[str, list[_Kiosk]]) -> None:
    for group in kiosks.values():
        for kiosk in group:
            report = SyncClient(kiosk.store, batch_size=50).sync_until_empty(max_attempts=3)
            assert report.error is None, f"kiosk {kiosk.name}: {report.error}"
            assert report.remaining == 0, report
            assert not report.flagged, report


def _hold_visit(
    trial: Trial,
    kiosks: Sequence[_Kiosk],
    forms: Mapping[str, Form],
    study: Study,
    patient: TrialPatient,
    visit: str,
    index: int,
) -> None:
    day = visit_day(study, patient, visit)
    clock = _VisitClock(day)
    late = patient.late.get(visit)
    reason = f"visit held {late} days late (family holiday)" if late else None
    age = age_at(patient.birth_ym, day)
    for form_id in study.visit(visit).forms:
        for number, respondent in enumerate(study.respondents_for(form_id, age)):
            if (visit, form_id, respondent) in patient.not_collected:
                continue
            # The nurse enters clinician data on the first kiosk; the patient forms go to
            # whichever kiosk is free, so one visit's answers arrive from both.
            which = 0 if form_id == "clinician" else index + number + visit_number(study, visit)
            kiosk = kiosks[which % len(kiosks)]
            service = SessionService(kiosk.store, forms, study, clock=clock)
            rng = random.Random(f"{patient.code}/{visit}/{form_id}/{respondent}")
            language = "en" if respondent == "staff" else patient.language
            start = functools.partial(
                service.start,
                patient=patient.code,
                visit=visit,
                form_id=form_id,
                respondent=respondent,
                language=language,
                actor=NURSE,
                out_of_window_reason=reason,
            )
            _interruptions(trial, service, clock, rng, start, form_id)
            session = start()
            level = patient.severity[visit_number(study, visit)]
            plan = _plan(patient, visit, form_id, level, rng)
            pause = form_id == "chaq" and rng.random() < 0.25
            session, answers = _answer(service, session, rng, plan, level, pause=pause)
            submitted_at = clock.now
            result = session.submit(actor=NURSE)
            trial.given[result.response_id] = GivenResponse(
                response_id=result.response_id,
                site=patient.site,
                kiosk=kiosk.name,
                patient=patient.code,
                visit=visit,
                form_id=form_id,
                form_version=session.form.version,
                respondent=respondent,
                language=language,
                day=day,
                submitted_at=submitted_at,
                out_of_window_reason=reason,
                answers=answers,
            )
            clock.tick()


def _interruptions(
    trial: Trial,
    service: SessionService,
    clock: _VisitClock,
    rng: random.Random,
    start: Callable[[], QuestionnaireSession],
    form_id: str,
) -> None:
    """Now and then a questionnaire is started, half answered and stopped for good: its
    answers stay encrypted on the kiosk and are never exported; the form is started again."""
    if form_id == "clinician" or rng.random() >= 0.04:
        return
    draft = start()
    for item in draft.items()[:3]:
        if item.type is ItemType.CHOICE:
            draft.answer(item.link_id, item.codes[0])
    service.stop(draft.response_id, actor=NURSE, reason="the child felt unwell")
    trial.unsubmitted.append(draft.response_id)
    clock.tick()


def _plan(
    patient: TrialPatient, visit: str, form_id: str, level: float, rng: random.Random
) -> dict[str, AnswerValue | None]:
    """Answers fixed by the patient's course instead of chance (None: leave unanswered)."""
    if form_id == "vas_wellbeing":
        return {"vas_wellbeing": max(0, min(100, round(level * 85) + rng.randint(-2, 2)))}
    if form_id != "clinician":
        return {}
    active = round(level * 18)
    plan: dict[str, AnswerValue | None] = {
        "phys_global": round(level * 16) / 2,
        "active_joints": active,
        "active_joints_27": round(active * 0.75),
        "limited_joints": round(level * 12),
        "esr": round(8 + level * 50 + rng.uniform(-1, 1), 1),
        "crp": None if rng.random() < 0.4 else round(rng.uniform(0, 40), 1),
        "jia_course": patient.jia_course,
        # Clinician 1.1.0 (instruments.md §4.1): the infusion is asked at the infusion visits,
        # other treatment since the last infusion at every visit after the first one; both
        # are left empty elsewhere, as the form's help says.
        "infusion_given": (
            visit == "V1" or visit in patient.repeat_infusions
            if visit in ("V1", "V3", "V5")
            else None
        ),
        "disqualifying_treatment": (
            None if visit in ("V0", "V1") else visit in patient.disqualified_at
        ),
    }
    for skipped_visit, link_id in patient.clinician_skips:
        if skipped_visit == visit:
            plan[link_id] = SKIPPED
    return plan


def _is(value: object, code: str) -> bool:
    return isinstance(value, str) and value == code


def _put(session: QuestionnaireSession, item: Item, value: AnswerValue) -> None:
    if _is(value, NA):
        session.not_applicable(item.link_id)
    elif _is(value, SKIPPED):
        session.skip(item.link_id, confirmed=True)
    else:
        session.answer(item.link_id, value)


def _answer(
    service: SessionService,
    session: QuestionnaireSession,
    rng: random.Random,
    plan: Mapping[str, AnswerValue | None],
    level: float,
    *,
    pause: bool,
) -> tuple[QuestionnaireSession, dict[str, AnswerValue]]:
    """Answer the questionnaire item by item as shown; return the session (a new one if it
    was resumed) and the answers it holds at the end."""
    given: dict[str, AnswerValue] = {}
    left: set[str] = set()
    while True:
        done = left | set(given)
        pending = [
            item
            for item in session.items()
            if item.type is not ItemType.DISPLAY and item.link_id not in done
        ]
        if not pending:
            break
        if pause and len(given) == 12:
            # Locked for inactivity half-way; the nurse resumes the draft, nothing is lost.
            session.timeout()
            session = service.resume(session.response_id, actor=NURSE)
            pause = False
        item = pending[0]
        value = plan[item.link_id] if item.link_id in plan else _chance(item, rng, level)
        if value is None:
            left.add(item.link_id)
            continue
        _put(session, item, value)
        given[item.link_id] = value
        if item.link_id not in plan and rng.random() < 0.05:
            # The respondent goes back and changes the answer: only the last one counts.
            changed = _chance(item, rng, rng.random())
            if changed is not None and not _is(changed, SKIPPED):
                _put(session, item, changed)
                given[item.link_id] = changed
    stiff = session.form.id == "jamar" and given.get("jamar_stiffness") is True
    if stiff and "jamar_stiffness_duration" in given and rng.random() < 0.3:
        # Stiffness answered away after its duration: the duration is no longer asked, and
        # its answer is cleared (DESIGN §3), so the response must not carry it.
        session.answer("jamar_stiffness", False)
        given["jamar_stiffness"] = False
        del given["jamar_stiffness_duration"]
    return session, given


def _chance(item: Item, rng: random.Random, level: float) -> AnswerValue | None:
    """A valid answer leaning on ``level`` (0 best … 1 worst), now and then "na" or "skipped"."""
    roll = rng.random()
    if item.type is ItemType.TEXT:
        return rng.choice(OTHER_DEVICES) if roll < 0.7 else None
    if item.na_option and roll < 0.06:
        return NA
    if item.allow_skip and roll > 0.975:
        return SKIPPED
    jitter = min(1.0, max(0.0, level + rng.uniform(-0.3, 0.3)))
    kind = item.type
    if kind is ItemType.CHOICE:
        return item.codes[min(len(item.codes) - 1, int(jitter * len(item.codes)))]
    if kind is ItemType.CHECKLIST:
        # "other" more often than the rest, so its follow-up text is asked now and then.
        ticked = [
            str(code)
            for code in item.codes
            if rng.random() < (0.3 if code == "other" else jitter * 0.3)
        ]
        rng.shuffle(ticked)  # ticked in any order; the answer is the set
        return ticked
    if kind is ItemType.BOOLEAN:
        return rng.random() < jitter
    if kind is ItemType.VAS:
        return round(jitter * 100)
    if kind is ItemType.CIRCLES21:
        return round(jitter * 20) / 2
    if kind is ItemType.INTEGER:
        bottom = int(item.min or 0)
        return bottom + round(jitter * min(20, int(item.max or 20) - bottom))
    if kind is ItemType.DECIMAL:
        return round(float(item.min or 0) + jitter * 20, 1)
    if kind is ItemType.DATE:
        return "2025-10-01"
    raise AssertionError(f"no answer rule for item type {kind}")
