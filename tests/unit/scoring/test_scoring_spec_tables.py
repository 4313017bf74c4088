"""The tables of instruments.md, copied here by hand, against the scorer and the form files.

The other tests take cut-offs and mappings from the code; these hold the code to an
independent transcription, so a wrong number in the code cannot also be the expected value.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import pytest

from epro.forms import load_forms
from epro.forms.model import AnswerValue, Form
from epro.scoring import score_form
from epro.scoring.chaq import DOMAINS, domain_scores
from epro.scoring.composites import activity_category

# instruments.md §2.1, domain table: code -> number of items.
SPEC_DOMAINS = {
    "dress": 4,
    "arise": 2,
    "eat": 3,
    "walk": 2,
    "hygiene": 5,
    "reach": 4,
    "grip": 5,
    "activ": 5,
}

# instruments.md §2.1, aids and devices table: code -> domain raised (None: raises nothing).
SPEC_DEVICES: dict[str, str | None] = {
    "walking_aid": "walk",
    "wheelchair": "walk",
    "dressing_aid": "dress",
    "builtup_utensils": "eat",
    "special_chair": "arise",
    "raised_toilet_seat": "hygiene",
    "bath_seat": "hygiene",
    "bath_bar": "hygiene",
    "long_handled_bath": "hygiene",
    "long_handled_reach": "reach",
    "jar_opener": "grip",
    "other": None,
}

# instruments.md §3, Consolaro cut-offs "inactive / low / moderate / high", as printed.
SPEC_CUTOFFS = {
    ("jadas10", "oligo"): ("1", "2", "4.2"),
    ("jadas71", "oligo"): ("1", "2", "4.2"),
    ("jadas10", "poly"): ("1", "3.8", "10.5"),
    ("jadas71", "poly"): ("1", "3.8", "10.5"),
    ("jadas27", "oligo"): ("1", "2", "4.2"),
    ("jadas27", "poly"): ("1", "3.8", "8.5"),
    ("cjadas10", "oligo"): ("1", "1.5", "4"),
    ("cjadas10", "poly"): ("1", "2.5", "8.5"),
}


def all_zero(**extra: AnswerValue) -> dict[str, AnswerValue]:
    answers: dict[str, AnswerValue] = {item: 0 for items in DOMAINS.values() for item in items}
    answers.update(extra)
    return answers


def test_chaq_has_the_thirty_items_of_the_domain_table() -> None:
    """§2.1: 30 items in 8 domains, chaq_<domain>_a, _b, … in the counts of the table."""
    expected = {
        domain: tuple(f"chaq_{domain}_{letter}" for letter in "abcde"[:count])
        for domain, count in SPEC_DOMAINS.items()
    }
    assert expected == DOMAINS
    assert sum(SPEC_DOMAINS.values()) == 30


@pytest.mark.parametrize(("device", "domain"), SPEC_DEVICES.items())
def test_each_device_raises_exactly_its_domain(device: str, domain: str | None) -> None:
    """§2.1 aids table: a ticked device raises its own scored domain from 0 to 2, no other."""
    scores = domain_scores(all_zero(chaq_devices=[device]))
    raised = {name for name, score in scores.items() if score == 2}
    assert raised == (set() if domain is None else {domain})
    assert all(score in (0, 2) for score in scores.values())


@pytest.mark.parametrize("domain", SPEC_DOMAINS)
def test_help_raises_exactly_its_domain(domain: str) -> None:
    """§2.1: help is a checklist of domain codes; help with a domain raises only that one."""
    scores = domain_scores(all_zero(chaq_help=[domain]))
    assert {name for name, score in scores.items() if score == 2} == {domain}


@pytest.mark.parametrize(("device", "domain"), [(d, m) for d, m in SPEC_DEVICES.items() if m])
def test_device_never_scores_a_domain_with_only_na_items(device: str, domain: str) -> None:
    """§2.1 rule: aids/help never create a score for an unscored domain."""
    answers = all_zero(chaq_devices=[device], chaq_help=[domain])
    answers.update(dict.fromkeys(DOMAINS[domain], "na"))
    result = score_form("chaq", answers)
    assert result.scores[f"chaq_{domain}"] is None
    assert result.scores["chaq_domains_scored"] == 7
    assert result.scores["chaq_di"] == 0  # seven scored domains, all 0


def spec_category_cases() -> list[object]:
    """At each printed cut-off: the cut-off itself is in the lower category (≤), 0.01 above is
    in the next; the table is read left to right as inactive, low, moderate, high."""
    labels = ("inactive", "low", "moderate", "high")
    cases: list[object] = []
    for (score, course), uppers in SPEC_CUTOFFS.items():
        for code, upper in enumerate(uppers):
            at, above = Fraction(upper), Fraction(upper) + Fraction(1, 100)
            cases.append(pytest.param(score, course, at, code, id=f"§3 {score} {course} {upper}"))
            label = f"§3 {score} {course} {upper}+0.01 {labels[code + 1]}"
            cases.append(pytest.param(score, course, above, code + 1, id=label))
    return cases


@pytest.mark.parametrize(("score", "course", "value", "expected"), spec_category_cases())
def test_category_against_the_printed_table(
    score: str, course: str, value: Fraction, expected: int
) -> None:
    assert activity_category(score, course, value) == expected


# --- the form files carry every name and code the scorer reads (instruments.md §2) ---------

FORMS_DIR = Path(__file__).resolve().parents[3] / "forms"


@pytest.fixture(scope="module")
def forms() -> dict[str, Form]:
    return dict(load_forms(FORMS_DIR))


def codes_of(form: Form, link_id: str) -> list[int | str]:
    return [option.code for option in next(i for i in form.items if i.link_id == link_id).options]


def test_chaq_form_items_domains_and_scale(forms: dict[str, Form]) -> None:
    """§2.1: the 30 items by domain, codes 0–3 plus "na", in the form file."""
    form = forms["chaq"]
    by_group = {
        domain: tuple(item.link_id for item in form.items if item.group == domain)
        for domain in SPEC_DOMAINS
    }
    assert by_group == dict(DOMAINS)
    for item in itertools.chain.from_iterable(DOMAINS.values()):
        assert codes_of(form, item) == [0, 1, 2, 3], item
        assert next(i for i in form.items if i.link_id == item).na_option, item


def test_chaq_form_device_and_help_codes(forms: dict[str, Form]) -> None:
    """§2.1: the device codes of the aids table and the eight domain codes for help."""
    form = forms["chaq"]
    assert codes_of(form, "chaq_devices") == list(SPEC_DEVICES)
    assert codes_of(form, "chaq_help") == list(SPEC_DOMAINS)


def test_jamar_form_scales(forms: dict[str, Form]) -> None:
    """§2.2: JAFS 01–15 coded 0/1/2 plus "na"; PRQL 01–10 coded 0–3 without "na"."""
    form = forms["jamar"]
    items = {item.link_id: item for item in form.items}
    for n in range(1, 16):
        item = items[f"jamar_jafs_{n:02d}"]
        assert (list(item.codes), item.na_option) == ([0, 1, 2], True), item.link_id
    for n in range(1, 11):
        item = items[f"jamar_prql_{n:02d}"]
        assert (list(item.codes), item.na_option) == ([0, 1, 2, 3], False), item.link_id
    for name in ("jamar_pain", "jamar_wellbeing", "jamar_activity"):
        assert (items[name].min, items[name].max, items[name].step) == (0, 10, 0.5), name


def test_clinician_form_ranges(forms: dict[str, Form]) -> None:
    """§2.4: phys_global 0–10 step 0.5, joint counts 0–71 / 0–27 / 0–69, esr ≥ 0, course."""
    items = {item.link_id: item for item in forms["clinician"].items}
    assert (items["phys_global"].min, items["phys_global"].max) == (0, 10)
    assert items["phys_global"].step == 0.5
    assert (items["active_joints"].min, items["active_joints"].max) == (0, 71)
    assert (items["active_joints_27"].min, items["active_joints_27"].max) == (0, 27)
    assert (items["limited_joints"].min, items["limited_joints"].max) == (0, 69)
    assert items["esr"].min == 0
    assert list(items["jia_course"].codes) == ["oligo", "poly"]
