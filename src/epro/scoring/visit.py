"""Scoring one form, and one whole visit: respondent choice, well-being, JADAS, ACR Pedi.

Rules chosen here (instruments.md leaves them open; each is tested):

- Several respondents for one form (parent and child): the plain score names hold one
  respondent's scores, chosen like well-being in §3 — among the respondents whose main score
  (``chaq_di``, ``jafs_total``, the VAS value) could be computed, the child's from the form's
  child age (CHAQ and the VAS forms 8, JAMAR 7), else the parent's. Every respondent's scores are
  also given as ``<score>_<respondent>`` (``chaq_di_parent``). The chosen CHAQ is the
  ``chaq_di`` that enters ACR Pedi.
- Age unknown and both answered: the child's answer is used (self-report is the primary source;
  the proxy is the fallback when the child cannot answer).
- ``wb``: the first source of §3 that anyone answered, then the child/parent rule above.
- ACR Pedi compares like with like: at the baseline visit, ``wb`` and ``chaq_di`` come from the
  same source and respondent as at this visit when the baseline has them; otherwise the
  baseline's own choice (made with ``baseline_age_years``).
- The clinician's five core values (``phys_global``, the joint counts, ``esr``) are also scores
  of the visit, the exact values the composites and ACR Pedi used (null with a note when not
  entered), so every export lists them with the scores.
- Respondents are ``parent``/``child`` (or unnamed) on patient forms and ``staff`` (or unnamed)
  on the clinician form, which comes once per visit: anything else would be settled by list
  order, so it is refused.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Final

from epro.errors import AnswerError, FormError
from epro.forms.model import AnswerValue
from epro.scoring import answers as read
from epro.scoring import chaq
from epro.scoring.acr_pedi import score_acr_pedi
from epro.scoring.answers import Answers
from epro.scoring.composites import COURSES, esr_normalised, score_composites
from epro.scoring.jamar import CIRCLES_STEP, CIRCLES_TOP, score_jamar
from epro.scoring.params import DEFAULT_PARAMS, ScoringParams
from epro.scoring.result import ScoreResult, ScoreSheet, missing_note
from epro.scoring.vas import score_vas, vas_value

CHILD: Final = "child"
PARENT: Final = "parent"
STAFF: Final = "staff"
#: §2.4: the physician global is 0.0–10.0 in steps of 0.5.
PHYS_GLOBAL_STEP: Final = 0.5
#: §2.4: the clinician's values, each also given as a score of the visit (the value used).
CLINICIAN_VALUES: Final = (
    "phys_global",
    "active_joints",
    "active_joints_27",
    "limited_joints",
    "esr",
)
_COUNTS: Final = ("active_joints", "active_joints_27", "limited_joints")
#: §4.1: the clinician form's yes/no items of the repeat-infusion rule (version 1.1.0 on).
INFUSION_FLAGS: Final = ("infusion_given", "disqualifying_treatment")


@dataclass(frozen=True)
class VisitResponse:
    """One submitted form of a visit: which form, who answered (None for staff), the answers."""

    form: str
    respondent: str | None
    answers: Mapping[str, AnswerValue] = field(default_factory=dict)


def _score_clinician(answers: Answers, params: ScoringParams) -> ScoreResult:
    # Clinician data are inputs of the composites, not scores; checked here, scored per visit.
    _clinician_inputs(answers)
    return ScoreResult()


_SCORERS: Final[dict[str, Callable[[Answers, ScoringParams], ScoreResult]]] = {
    "chaq": chaq.score_chaq,
    "jamar": score_jamar,
    "vas_pain": lambda answers, _: score_vas("vas_pain", answers),
    "vas_wellbeing": lambda answers, _: score_vas("vas_wellbeing", answers),
    "clinician": _score_clinician,
}

#: The score that decides whether a respondent's form "counts" when two respondents answered.
_MAIN_SCORE: Final = {
    "chaq": "chaq_di",
    "jamar": "jafs_total",
    "vas_pain": "vas_pain",
    "vas_wellbeing": "vas_wellbeing",
}


def _child_age(form_id: str, params: ScoringParams) -> float:
    if form_id == "jamar":
        return params.jamar_child_age
    if form_id == "chaq":
        return params.chaq_child_age
    return params.vas_child_age


def score_form(
    form_id: str, answers: Mapping[str, AnswerValue], params: ScoringParams = DEFAULT_PARAMS
) -> ScoreResult:
    """The scores of one submitted form (clinician data give none of their own)."""
    scorer = _SCORERS.get(form_id)
    if scorer is None:
        close = difflib.get_close_matches(form_id, _SCORERS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise FormError(f"unknown form {form_id!r}{hint}; the forms are {', '.join(_SCORERS)}")
    return scorer(answers, params)


def _clinician_inputs(answers: Answers) -> tuple[dict[str, Fraction | None], str | None]:
    values = {
        "phys_global": read.number(answers, "phys_global", 0, 10, step=PHYS_GLOBAL_STEP),
        "active_joints": read.number(answers, "active_joints", 0, 71, integer=True),
        "active_joints_27": read.number(answers, "active_joints_27", 0, 27, integer=True),
        "limited_joints": read.number(answers, "limited_joints", 0, 69, integer=True),
        "esr": read.number(answers, "esr", 0),
    }
    read.number(answers, "crp", 0)
    # Read only to reject an answer that is not yes/no (clinician form 1.1.0, §4.1).
    for name in INFUSION_FLAGS:
        read.flag(answers, name)
    return values, read.choice(answers, "jia_course", COURSES)


def pick_respondent(
    candidates: Sequence[str | None], age: float | None, child_from: float
) -> str | None:
    """The child from ``child_from`` years (or at unknown age), else the other respondent."""
    if len(candidates) == 1 or CHILD not in candidates:
        return candidates[0]
    others = [c for c in candidates if c != CHILD]
    if age is None or age >= child_from:
        return CHILD
    return others[0]


Responses = dict[str, dict[str | None, Answers]]


def _check_respondent(response: VisitResponse) -> None:
    # Only "child" versus "parent" can be decided by the age rules (§2.1–§3); any other name
    # would leave the choice to list order, so it is refused rather than guessed.
    allowed: tuple[str | None, ...] = (
        (None, STAFF) if response.form == "clinician" else (None, PARENT, CHILD)
    )
    if response.respondent not in allowed:
        names = " or ".join(repr(a) for a in allowed if a is not None)
        raise AnswerError(
            f"form {response.form!r}: unknown respondent; name the respondent as {names}"
        )


def _group(responses: Sequence[VisitResponse]) -> Responses:
    grouped: Responses = {}
    for response in responses:
        if response.form not in _SCORERS:
            score_form(response.form, {})  # raises the unknown-form message
        _check_respondent(response)
        by_respondent = grouped.setdefault(response.form, {})
        if response.form == "clinician" and by_respondent:
            # §2.4: one set of clinician data per visit; two ESRs cannot both be the visit's.
            raise AnswerError(
                "form 'clinician' appears twice in one visit; give the clinician data once"
            )
        if response.respondent in by_respondent:
            who = response.respondent or "an unnamed respondent"
            raise AnswerError(
                f"form {response.form!r} appears twice for {who} in one visit; give each "
                "form once per respondent"
            )
        by_respondent[response.respondent] = response.answers
        if len(by_respondent) > 1 and (None in by_respondent or len(by_respondent) > 2):
            raise AnswerError(
                f"form {response.form!r} has several responses; name the respondent of each "
                "as 'parent' or 'child'"
            )
    return grouped


@dataclass
class _Visit:
    """One visit's inputs for the composites and ACR Pedi, and where they came from."""

    sheet: ScoreSheet
    inputs: dict[str, Fraction | None]
    course: str | None
    chaq_respondent: str | None = None
    wb_choice: tuple[str, str | None] | None = None


def _form_scores(
    grouped: Responses, age: float | None, params: ScoringParams, visit: _Visit
) -> None:
    for form_id, by_respondent in grouped.items():
        results = {
            who: score_form(form_id, answers, params) for who, answers in by_respondent.items()
        }
        if form_id == "clinician":
            continue
        main = _MAIN_SCORE[form_id]
        counted = [who for who, r in results.items() if r.scores.get(main) is not None]
        chosen = pick_respondent(counted or list(results), age, _child_age(form_id, params))
        visit.sheet.add(results[chosen])
        if len(results) > 1:
            for who, result in results.items():
                visit.sheet.add(result, f"_{who}")
        if form_id == "chaq":
            visit.chaq_respondent = chosen


def _wellbeing_candidates(grouped: Responses, source: str) -> dict[str | None, Fraction]:
    form_id, scale = {
        "vas_wellbeing": ("vas_wellbeing", Fraction(1, 10)),
        "chaq_wellbeing_vas": ("chaq", Fraction(1, 10)),
        "jamar_wellbeing": ("jamar", Fraction(1)),
    }[source]
    found: dict[str | None, Fraction] = {}
    for who, answers in grouped.get(form_id, {}).items():
        if source == "jamar_wellbeing":
            value = read.number(answers, source, 0, CIRCLES_TOP, step=CIRCLES_STEP)
        else:
            raw = vas_value(answers, source)
            value = None if raw is None else Fraction(raw)
        if value is not None:
            found[who] = value * scale
    return found


def _wellbeing(
    grouped: Responses,
    age: float | None,
    params: ScoringParams,
    prefer: tuple[str, str | None] | None,
) -> tuple[Fraction, tuple[str, str | None]] | None:
    if prefer is not None:
        source, who = prefer
        found = _wellbeing_candidates(grouped, source)
        if who in found:
            return found[who], prefer
    for source in params.wellbeing_sources:
        found = _wellbeing_candidates(grouped, source)
        if found:
            who = pick_respondent(list(found), age, params.wellbeing_child_age)
            return found[who], (source, who)
    return None


def _chaq_di(
    grouped: Responses, visit: _Visit, params: ScoringParams, like: _Visit | None
) -> Fraction | None:
    by_respondent = grouped.get("chaq", {})
    # At the baseline, the respondent chosen at the visit, if that respondent has a DI here.
    if like is not None and like.chaq_respondent in by_respondent:
        preferred = chaq.chaq_di(by_respondent[like.chaq_respondent], params)
        if preferred is not None:
            visit.chaq_respondent = like.chaq_respondent
            return preferred
    if visit.chaq_respondent in by_respondent:
        return chaq.chaq_di(by_respondent[visit.chaq_respondent], params)
    return None


def _score(
    responses: Sequence[VisitResponse],
    age: float | None,
    params: ScoringParams,
    like: _Visit | None = None,
) -> _Visit:
    grouped = _group(responses)
    clinician = grouped.get("clinician", {})
    inputs, course = _clinician_inputs(next(iter(clinician.values()), {}))
    visit = _Visit(ScoreSheet(), inputs, course)
    for name in CLINICIAN_VALUES:
        value = inputs[name]
        # Joint counts are whole numbers and leave as such; phys_global and esr as decimals.
        shown = int(value) if value is not None and name in _COUNTS else value
        visit.sheet.put(name, shown, missing_note([name]))
    _form_scores(grouped, age, params, visit)

    wb = _wellbeing(grouped, age, params, like.wb_choice if like else None)
    if wb is None:
        visit.inputs["wb"] = None
        visit.sheet.put("wb", None, missing_note(params.wellbeing_sources))
    else:
        visit.inputs["wb"], visit.wb_choice = wb
        visit.sheet.put("wb", wb[0])
    esr = visit.inputs["esr"]
    visit.sheet.put("esrn", None if esr is None else esr_normalised(esr), missing_note(["esr"]))
    visit.inputs["chaq_di"] = _chaq_di(grouped, visit, params, like)
    return visit


def _check_age(age: float | None, name: str) -> None:
    # A negative or non-finite age would silently count as "below 8" and pick the parent.
    if age is not None and (isinstance(age, bool) or not math.isfinite(age) or age < 0):
        raise AnswerError(f"{name}: the age must be a number of years, 0 or more")


def _baseline_like(
    baseline: Sequence[VisitResponse],
    visit: _Visit,
    age_years: float | None,
    baseline_age_years: float | None,
    params: ScoringParams,
) -> _Visit:
    base_age = age_years if baseline_age_years is None else baseline_age_years
    try:
        return _score(baseline, base_age, params, like=visit)
    except AnswerError as error:
        # The same variable names occur in both visits: say which visit is wrong.
        raise AnswerError(f"baseline visit: {error}") from None


CoreInputs = dict[str, Fraction | None]


def compared_core_sets(
    responses: Sequence[VisitResponse],
    baseline: Sequence[VisitResponse],
    *,
    age_years: float | None = None,
    params: ScoringParams = DEFAULT_PARAMS,
    baseline_age_years: float | None = None,
) -> tuple[CoreInputs, CoreInputs]:
    """The ACR core-set inputs of ``baseline`` and of this visit, as ACR Pedi compares them.

    ``baseline`` is any earlier visit: its well-being and CHAQ are taken from the same source
    and respondent as this visit's where it has them (see the module's rules).
    """
    _check_age(age_years, "age_years")
    _check_age(baseline_age_years, "baseline_age_years")
    visit = _score(responses, age_years, params)
    before = _baseline_like(baseline, visit, age_years, baseline_age_years, params)
    return before.inputs, visit.inputs


def core_set(
    responses: Sequence[VisitResponse],
    age_years: float | None = None,
    params: ScoringParams = DEFAULT_PARAMS,
) -> CoreInputs:
    """The ACR core-set inputs of one visit on its own (no other visit to match)."""
    _check_age(age_years, "age_years")
    return _score(responses, age_years, params).inputs


def clinician_flag(responses: Sequence[VisitResponse], name: str) -> bool | None:
    """A yes/no answer of the visit's clinician form; None when absent, skipped or no form."""
    grouped = _group(responses)
    answers = next(iter(grouped.get("clinician", {}).values()), {})
    return read.flag(answers, name)


def score_visit(
    responses: Sequence[VisitResponse],
    *,
    baseline: Sequence[VisitResponse] | None = None,
    age_years: float | None = None,
    params: ScoringParams = DEFAULT_PARAMS,
    baseline_age_years: float | None = None,
) -> ScoreResult:
    """Every score of a visit: each form's, the clinician's values, ``wb``, ``esrn``, the
    JADAS, and ACR Pedi (the repeat-infusion rule needs several visits: see ``score_patient``).

    ``baseline`` is the baseline visit's responses (V1); without it the ACR Pedi scores are null.
    ``baseline_age_years`` defaults to ``age_years``.
    """
    _check_age(age_years, "age_years")
    _check_age(baseline_age_years, "baseline_age_years")
    visit = _score(responses, age_years, params)
    result = visit.sheet.result().merged(score_composites(visit.inputs, visit.course))
    before = None
    if baseline is not None:
        before = _baseline_like(baseline, visit, age_years, baseline_age_years, params).inputs
    return result.merged(score_acr_pedi(before, visit.inputs, params))
