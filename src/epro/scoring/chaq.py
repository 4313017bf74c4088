"""CHAQ scoring (instruments.md §2.1): domain scores, aids and help, the disability index."""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from epro.scoring import answers as read
from epro.scoring.answers import Answers
from epro.scoring.params import DEFAULT_PARAMS, ScoringParams
from epro.scoring.result import ScoreResult, ScoreSheet


def _items(domain: str, count: int) -> tuple[str, ...]:
    return tuple(f"chaq_{domain}_{letter}" for letter in "abcde"[:count])


#: Domain code -> its item variables, in the order of the instrument.
DOMAINS: Final[dict[str, tuple[str, ...]]] = {
    "dress": _items("dress", 4),
    "arise": _items("arise", 2),
    "eat": _items("eat", 3),
    "walk": _items("walk", 2),
    "hygiene": _items("hygiene", 5),
    "reach": _items("reach", 4),
    "grip": _items("grip", 5),
    "activ": _items("activ", 5),
}

#: Device code -> the domain it raises ("other" raises none).
DEVICE_DOMAINS: Final[dict[str, str | None]] = {
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

ITEM_TOP: Final = 3  # 0 without difficulty … 3 unable to do
UNSCORED_NOTE: Final = "no scored item in this domain (all not applicable, skipped or unanswered)"


def assisted_domains(answers: Answers) -> frozenset[str]:
    """Domains for which an aid or device is ticked, or help from another person."""
    devices = read.codes(answers, "chaq_devices", DEVICE_DOMAINS)
    helped = read.codes(answers, "chaq_help", DOMAINS)
    raised = {DEVICE_DOMAINS[device] for device in devices} | set(helped)
    return frozenset(domain for domain in raised if domain is not None)


def domain_scores(
    answers: Answers, params: ScoringParams = DEFAULT_PARAMS
) -> dict[str, int | None]:
    """Each domain's score: its highest answered item, raised by aids/help; None if unscored."""
    assisted = assisted_domains(answers)
    scores: dict[str, int | None] = {}
    for domain, items in DOMAINS.items():
        answered = [s for item in items if (s := read.code(answers, item, ITEM_TOP)) is not None]
        if not answered:
            # Aids or help never create a score for a domain nobody scored.
            scores[domain] = None
            continue
        score = max(answered)
        if domain in assisted:
            score = max(score, params.chaq_aid_floor)  # a 3 stays 3
        scores[domain] = score
    return scores


def disability_index(
    scores: dict[str, int | None], params: ScoringParams = DEFAULT_PARAMS
) -> Fraction | None:
    """The exact mean of the scored domains, or None below the minimum number of domains."""
    scored = [s for s in scores.values() if s is not None]
    if len(scored) < params.chaq_min_domains:
        return None
    return Fraction(sum(scored), len(scored))


def di_note(scored: int, params: ScoringParams = DEFAULT_PARAMS) -> str:
    noun = "domain" if scored == 1 else "domains"
    return f"only {scored} scored {noun}, {params.chaq_min_domains} needed"


def chaq_di(answers: Answers, params: ScoringParams = DEFAULT_PARAMS) -> Fraction | None:
    """The CHAQ disability index of one response, exact; None when too few domains are scored."""
    return disability_index(domain_scores(answers, params), params)


def score_chaq(answers: Answers, params: ScoringParams = DEFAULT_PARAMS) -> ScoreResult:
    """``chaq_<domain>`` for the eight domains, ``chaq_di`` and ``chaq_domains_scored``."""
    sheet = ScoreSheet()
    scores = domain_scores(answers, params)
    for domain, score in scores.items():
        sheet.put(f"chaq_{domain}", score, UNSCORED_NOTE)
    scored = sum(score is not None for score in scores.values())
    sheet.put("chaq_di", disability_index(scores, params), di_note(scored, params))
    sheet.put("chaq_domains_scored", scored)
    # The two VAS of the CHAQ are read here only to reject values outside 0-100 early.
    read.number(answers, "chaq_pain_vas", 0, 100, integer=True)
    read.number(answers, "chaq_wellbeing_vas", 0, 100, integer=True)
    return sheet.result()
