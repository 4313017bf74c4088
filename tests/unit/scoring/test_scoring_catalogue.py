"""The score catalogue lists exactly the scores the scoring code produces (instruments.md §2–4.1),
each with its rule's definition and a kind that fits its values."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from epro.forms import Form, load_forms, validate_answers
from epro.forms.model import AnswerValue, ItemType
from epro.scoring import VisitResponse
from epro.scoring.catalogue import SCORES, ScoreSpec, score_columns
from epro.scoring.result import ScoreValue
from epro.scoring.trial import score_patient

RESPONDENTS = ("parent", "child")


def answers_for(form: Form, level: int) -> dict[str, AnswerValue]:
    """An answer to every item of ``form``; ``level`` moves them so visits differ."""
    answers: dict[str, AnswerValue] = {}
    for item in form.answerable_items:
        if item.type is ItemType.CHOICE:
            answers[item.link_id] = item.options[min(level, len(item.options) - 1)].code
        elif item.type is ItemType.CHECKLIST:
            answers[item.link_id] = [str(item.options[0].code)]
        elif item.type is ItemType.BOOLEAN:
            answers[item.link_id] = True
        elif item.type is ItemType.VAS:
            answers[item.link_id] = 20 * level + 10
        elif item.type is ItemType.CIRCLES21:
            answers[item.link_id] = float(level)
        elif item.type in (ItemType.INTEGER, ItemType.DECIMAL):
            low = item.min or 0
            answers[item.link_id] = int(low) + 3 * level + 1
    return validate_answers(form, answers)


def rich_visit(forms: Mapping[str, Form], level: int) -> list[VisitResponse]:
    """Every form, each patient form answered by both parent and child."""
    responses = [
        VisitResponse(form_id, who, answers_for(forms[form_id], level + (who == "child")))
        for form_id in ("chaq", "jamar", "vas_pain", "vas_wellbeing")
        for who in RESPONDENTS
    ]
    clinician = answers_for(forms["clinician"], level)
    clinician["disqualifying_treatment"] = False
    return [*responses, VisitResponse("clinician", None, clinician)]


@pytest.fixture(scope="module")
def produced() -> dict[str, dict[str, ScoreValue]]:
    forms = load_forms()
    visits = {code: rich_visit(forms, level) for code, level in (("V1", 2), ("V2", 0), ("V3", 1))}
    scored = score_patient(visits, ages=dict.fromkeys(visits, 9.0))
    return {code: dict(result.scores) for code, result in scored.items()}


def test_every_score_produced_is_in_the_catalogue_and_every_catalogued_one_is_produced(
    produced: dict[str, dict[str, ScoreValue]],
) -> None:
    """Exports take their score columns from the catalogue: a score missing there would never
    be exported, a catalogued one never produced would be an empty column."""
    names = {name for scores in produced.values() for name in scores}
    columns = {name for name, _ in score_columns(RESPONDENTS)}
    assert names - columns == set()
    assert columns - names == set()


def test_the_repeat_infusion_scores_are_catalogued_with_their_kinds() -> None:
    """instruments.md §4.1: repeat_infusion_eligible (yes/no) and repeat_infusion_reason (text)."""
    specs = {spec.name: spec for spec in SCORES}
    assert (specs["repeat_infusion_eligible"].kind, specs["repeat_infusion_eligible"].rule) == (
        "flag",
        "§4.1",
    )
    assert (specs["repeat_infusion_reason"].kind, specs["repeat_infusion_reason"].rule) == (
        "text",
        "§4.1",
    )
    assert [spec.name for spec in SCORES][-2:] == [
        "repeat_infusion_eligible",
        "repeat_infusion_reason",
    ]


@pytest.mark.parametrize("spec", SCORES, ids=lambda spec: spec.name)
def test_every_score_has_a_definition_of_one_or_two_sentences(spec: ScoreSpec) -> None:
    text = spec.definition
    assert text.endswith(".")
    # A new sentence starts after ". " with a capital ("e.g. 'ACR" does not).
    assert 1 <= len(re.split(r"\. (?=[A-Z])", text)) <= 2


def _fits(kind: str, value: ScoreValue) -> bool:
    if value is None:
        return True
    if kind == "flag":
        return isinstance(value, bool)
    if kind == "text":
        return isinstance(value, str)
    if kind in ("integer", "category"):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


def test_every_value_fits_the_kind_its_catalogue_entry_gives(
    produced: dict[str, dict[str, ScoreValue]],
) -> None:
    kinds = {name: spec.kind for name, spec in score_columns(RESPONDENTS)}
    wrong = [
        (code, name, value)
        for code, scores in produced.items()
        for name, value in scores.items()
        if not _fits(kinds[name], value)
    ]
    assert wrong == []
    # The decision is made at V3 from rich data: a yes/no and a sentence, not nulls.
    assert isinstance(produced["V3"]["repeat_infusion_eligible"], bool)
    assert isinstance(produced["V3"]["repeat_infusion_reason"], str)
