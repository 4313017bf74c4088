"""`epro score FILE.json [--baseline BASE.json] [--previous PREV.json]`: score a visit, print JSON.

Input: ``{"responses": [{"form": "chaq", "respondent": "parent", "answers": {...}}, ...],
"age": 9.5, "visit": "V3"}`` or a single ``{"form": ..., "respondent": ..., "answers": ...}``.
Every answer is validated against its form file first; output is one JSON object
``{"scores", "notes"}`` with the score names of instruments.md, unrounded.

With ``"visit"`` the visit is scored as the export scores it (``epro.scoring.trial``): the
repeat-infusion rule (instruments.md §4.1) is decided at the protocol's possible repeat-infusion
visits (V3, V5) from ``--baseline`` (V1) and ``--previous`` (the response visit, V2 or V4), and
is null with a note at every other visit. Without ``"visit"`` nothing changes: the visit's own
scores and, with ``--baseline``, ACR Pedi.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from epro.errors import AnswerError, EproError
from epro.forms import Form, load_forms, validate_answers
from epro.forms.errors import did_you_mean
from epro.schedule import load_study
from epro.scoring import DEFAULT_PARAMS, ScoreResult, VisitResponse, score_visit
from epro.scoring.params import WANING_RULES
from epro.scoring.repeat_infusion import params_for_protocol
from epro.scoring.trial import score_patient

_TOP_KEYS = {"responses", "age", "visit"}
_SINGLE_KEYS = {"form", "respondent", "answers", "age", "visit"}
_RESPONSE_KEYS = {"form", "respondent", "answers"}


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``epro score``."""
    parser = subparsers.add_parser(
        "score",
        help="score a visit's answers (JSON) and print the scores as JSON",
        description="Score the answers of one visit. FILE is JSON: "
        '{"responses": [{"form": "chaq", "respondent": "parent", "answers": {...}}, ...], '
        '"age": 9.5, "visit": "V3"} or a single {"form": ..., "answers": ...}. '
        '"age" and "visit" are optional. With "visit" the visit is scored as the export '
        "scores it: at a possible repeat-infusion visit of the study protocol (V3, V5) the "
        "repeat-infusion rule is decided from --baseline (V1) and --previous (the response "
        "visit, V2 or V4); at any other visit its two scores are null with a note.",
    )
    parser.add_argument("file", metavar="FILE.json", help="the visit's responses")
    parser.add_argument(
        "--baseline", metavar="BASE.json", help="the baseline visit (V1), for ACR Pedi"
    )
    parser.add_argument(
        "--previous",
        metavar="PREV.json",
        help="the response visit before FILE (V2 before V3, V4 before V5), for the repeat-"
        'infusion rule; FILE must name its "visit"',
    )
    parser.add_argument(
        "--waning",
        choices=WANING_RULES,
        default=DEFAULT_PARAMS.waning,
        help="how the repeat-infusion rule judges that a response wanes: lost_response (no "
        "longer ACR Pedi 30 against the baseline) or flare (the preliminary JIA flare "
        "definition against the previous visit); default %(default)s",
    )
    parser.add_argument(
        "--forms", metavar="DIR", type=Path, help="the form files (default: the installed forms)"
    )
    parser.add_argument(
        "--study",
        metavar="STUDY.toml",
        type=Path,
        help='the study protocol that names the visits, used with "visit" '
        "(default: the shipped study.toml)",
    )
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class Visit:
    responses: list[VisitResponse]
    age: float | None
    #: The visit code the file names, if any.
    code: str | None = None


def run(args: argparse.Namespace) -> int:
    forms = load_forms(args.forms)
    path = Path(args.file)
    visit = read_visit(path, forms)
    baseline = None if args.baseline is None else read_visit(Path(args.baseline), forms)
    previous = None if args.previous is None else read_visit(Path(args.previous), forms)
    if visit.code is not None:
        result = _score_in_protocol(args, visit.code, visit, baseline, previous)
    elif previous is not None:
        raise EproError(
            f'{path}: --previous needs the visit\'s code; add "visit": "V3" (or "V5") to the file'
        )
    else:
        result = score_visit(
            visit.responses,
            baseline=None if baseline is None else baseline.responses,
            age_years=visit.age,
            baseline_age_years=None if baseline is None else baseline.age,
        )
    print(render(result))
    return 0


def _check_code(where: str, visit: Visit, expected: str, role: str) -> None:
    if visit.code is not None and visit.code != expected:
        raise EproError(
            f'{where}: "visit" is {visit.code}, but the {role} is {expected}; give the {role}\'s '
            "file or correct its code"
        )


def _score_in_protocol(
    args: argparse.Namespace,
    code: str,
    visit: Visit,
    baseline: Visit | None,
    previous: Visit | None,
) -> ScoreResult:
    """The visit scored as ``score_patient`` scores it within the whole patient."""
    study = load_study(args.study)
    known = [v.code for v in study.visits]
    if code not in known:
        raise EproError(
            f'{args.file}: "visit" {code!r} is not a visit of study {study.id}; use one '
            f"of {', '.join(known)}"
        )
    params = params_for_protocol(study.visits, study.baseline_visit, DEFAULT_PARAMS)
    params = replace(params, waning=args.waning)
    base_code = study.baseline_visit
    visits: dict[str, Visit] = {code: visit}
    if baseline is not None:
        if code == base_code:
            raise EproError(f"{args.file} is the baseline visit {base_code}; leave out --baseline")
        _check_code(str(args.baseline), baseline, base_code, "baseline visit")
        visits[base_code] = baseline
    response_of = {f: r for r, f in params.repeat_infusion_visits}
    if previous is not None:
        if code not in response_of:
            decided = ", ".join(response_of) or "no visit of this protocol"
            raise EproError(
                f"--previous is only read at a possible repeat-infusion visit ({decided}); "
                f"{code} is not one, so leave it out"
            )
        _check_code(str(args.previous), previous, response_of[code], "response visit")
        visits[response_of[code]] = previous
    scored = score_patient(
        {key: v.responses for key, v in visits.items()},
        ages={key: v.age for key, v in visits.items()},
        baseline_visit=base_code,
        params=params,
    )
    return scored[code]


def render(result: ScoreResult) -> str:
    return json.dumps({"scores": result.scores, "notes": result.notes}, indent=2, allow_nan=False)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json(path: Path) -> object:
    """The parsed file; every way it can fail becomes a message naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EproError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise EproError(f"{path}: is a folder; give a JSON file") from None
    except UnicodeDecodeError:
        raise EproError(f"{path}: not UTF-8 text; save the file as UTF-8 JSON") from None
    except OSError as error:
        raise EproError(f"{path}: cannot be read ({error.strerror}); check it") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise EproError(
            f"{path}: not valid JSON at line {error.lineno}, column {error.colno}: "
            f"{error.msg}; fix the file there"
        ) from None
    except ValueError as error:
        raise EproError(f"{path}: {error}; use a number or 'na'/'skipped'") from None


def _check_keys(where: str, data: Mapping[str, object], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise EproError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"the keys are {', '.join(sorted(allowed))}"
        )


def _age(where: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 30:
        raise EproError(f"{where}: 'age' must be the age in years, a number from 0 to 30")
    return float(value)


def _code(where: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise EproError(f"{where}: 'visit' must be a visit code of the study, e.g. \"V3\"")
    return value.strip()


def read_visit(path: Path, forms: Mapping[str, Form]) -> Visit:
    """The validated responses and age in one input file."""
    data = read_json(path)
    where = str(path)
    if not isinstance(data, dict):
        raise EproError(f'{where}: expected a JSON object with "responses" (or "form")')
    if "responses" in data:
        _check_keys(where, data, _TOP_KEYS)
        items = data["responses"]
        if not isinstance(items, list) or not items:
            raise EproError(f'{where}: "responses" must be a non-empty list of responses')
    elif "form" in data:
        _check_keys(where, data, _SINGLE_KEYS)
        items = [{k: v for k, v in data.items() if k not in ("age", "visit")}]
    else:
        raise EproError(f'{where}: expected "responses" (a list) or a single "form" with answers')
    responses = [
        _response(f"{where}, response {n}", raw, forms) for n, raw in enumerate(items, start=1)
    ]
    return Visit(responses, _age(where, data.get("age")), _code(where, data.get("visit")))


def _response(where: str, raw: object, forms: Mapping[str, Form]) -> VisitResponse:
    if not isinstance(raw, dict):
        raise EproError(f'{where}: expected an object with "form" and "answers"')
    _check_keys(where, raw, _RESPONSE_KEYS)
    form_id = raw.get("form")
    if not isinstance(form_id, str):
        raise EproError(f'{where}: "form" must be the id of a form, e.g. "chaq"')
    form = forms.get(form_id)
    if form is None:
        close = did_you_mean(form_id, forms)
        hint = f" (did you mean {close!r}?)" if close else ""
        raise EproError(
            f"{where}: unknown form {form_id!r}{hint}; the forms are {', '.join(sorted(forms))}"
        )
    respondent = raw.get("respondent")
    allowed = [str(r) for r in form.respondents]
    if respondent is not None and respondent not in allowed:
        raise EproError(
            f"{where}: form {form_id} is answered by {' or '.join(allowed)}, "
            f'so "respondent" must be one of those'
        )
    answers = raw.get("answers")
    if not isinstance(answers, dict):
        raise EproError(f'{where}: "answers" must be an object of variable names to answers')
    try:
        valid = validate_answers(form, answers)
    except AnswerError as error:
        raise AnswerError(f"{where} (form {form_id}):\n{error}") from None
    return VisitResponse(form_id, respondent, valid)
