"""Read ``study.toml`` into a :class:`Study`, collecting every problem before giving up.

``parse_study`` is pure (text in, ``Study`` out); ``load_study`` only adds reading the file.
Problems carry the stable codes of ``epro.schedule.collect.STUDY_CODES`` (S000 …).
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Collection, Mapping
from itertools import pairwise
from pathlib import Path
from typing import Any

from epro.forms.errors import FormProblems, Problem, Severity
from epro.forms.loader import default_forms_dir
from epro.forms.model import Respondent
from epro.schedule.collect import Collector
from epro.schedule.model import FormRespondents, Study, Visit
from epro.schedule.parse_ages import parse_respondents

_TOP_KEYS = ("study", "visits", "respondents")
_STUDY_KEYS = (
    "id",
    "title",
    "version",
    "baseline_visit",
    "min_age_years",
    "max_age_years",
    "study_key_fingerprint",
)
_VISIT_KEYS = ("code", "name", "week", "window_before_days", "window_after_days", "kiosk", "forms")
_PATIENTS = frozenset({Respondent.PARENT.value, Respondent.CHILD.value})


def parse_study(
    text: str, source: str = "<memory>", *, known_forms: Collection[str] | None = None
) -> Study:
    """Validate a study protocol text. Raises ``FormProblems`` listing every error found.

    With ``known_forms`` (the ids of the loaded form files) a visit naming another form is an
    error (S012); without it form ids are not checked against files.
    """
    out = Collector(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        out.add("S001", None, f"not valid TOML: {error}", "fix the syntax at the place named")
        raise FormProblems(out.problems) from None

    out.unknown_keys(data, _TOP_KEYS, "top level")
    study_table = _table(out, data, "study", "[study]")
    study_id = out.text(study_table, "id", "[study]", required=True)
    title = out.text(study_table, "title", "[study]", required=True)
    version = out.text(study_table, "version", "[study]", required=False)
    baseline_code = out.text(study_table, "baseline_visit", "[study]", required=True)
    out.unknown_keys(study_table, _STUDY_KEYS, "[study]")
    min_age, max_age = _age_range(out, study_table)
    fingerprint = _fingerprint(out, study_table)

    respondents = parse_respondents(out, data)
    # Forms with a respondents table, valid or not: a broken table is reported once, by itself.
    raw_respondents = data.get("respondents")
    declared = set(raw_respondents) if isinstance(raw_respondents, dict) else set()
    visits = _visits(out, data, baseline_code, respondents, declared, known_forms)
    if visits and baseline_code:
        _check_baseline(out, visits, baseline_code)
    used = {form for visit in visits for form in visit.forms}
    for entry in respondents:
        if entry.form_id not in used:
            out.add(
                "S021",
                f"respondents.{entry.form_id}",
                f"form {entry.form_id!r} has respondent rules but no visit lists it",
                "add it to a visit's forms or remove the rules",
                severity=Severity.WARNING,
            )
    if out.has_errors:
        raise FormProblems(out.problems)
    warnings = tuple(p for p in out.problems if p.severity is Severity.WARNING)
    return Study(
        id=study_id,
        title=title,
        visits=tuple(visits),
        respondents=tuple(respondents),
        baseline_visit=baseline_code,
        min_age_years=min_age,
        max_age_years=max_age,
        source=source,
        warnings=warnings,
        version=version,
        study_key_fingerprint=fingerprint,
    )


def normalise_fingerprint(text: str) -> str:
    """A key fingerprint as people copy it: without spaces, dashes, colons or a ``sha256:``
    prefix, in lower case."""
    plain = "".join(text.split()).lower().removeprefix("sha256:")
    return plain.replace("-", "").replace(":", "")


def _fingerprint(out: Collector, table: Mapping[str, Any]) -> str:
    """``study_key_fingerprint``: the study public key's SHA-256 fingerprint (at least its
    first 32 hex digits), as ``epro keys study-keypair`` prints it. Kiosks refuse to enrol
    with a server handing out any other study key."""
    raw = out.text(table, "study_key_fingerprint", "[study]", required=False)
    if not raw:
        return ""
    value = normalise_fingerprint(raw)
    if not 32 <= len(value) <= 64 or any(ch not in "0123456789abcdef" for ch in value):
        out.add(
            "S022",
            "[study]",
            "study_key_fingerprint is not a key fingerprint (32 to 64 hex digits)",
            "copy the full fingerprint `epro keys study-keypair` printed for the study key",
        )
        return ""
    return value


def default_study_path() -> Path:
    """``study.toml`` in the forms directory (the installed copy, else the source checkout)."""
    return default_forms_dir() / "study.toml"


def load_study(path: Path | None = None, *, known_forms: Collection[str] | None = None) -> Study:
    """Read and validate a study file (default: the shipped ``forms/study.toml``)."""
    path = default_study_path() if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = Problem("S000", str(path), "the study file does not exist", "check the path")
        raise FormProblems([problem]) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        fix = "make it a readable UTF-8 text file"
        raise FormProblems([Problem("S000", str(path), f"cannot read: {reason}", fix)]) from None
    return parse_study(text, str(path), known_forms=known_forms)


def _table(out: Collector, data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        out.add("S002", None, f"the {where} table is missing", f"add a {where} table")
        return {}
    if not isinstance(value, dict):
        out.add("S003", None, f"{key!r} must be a table", f"write it as {where}")
        return {}
    return value


def _age_range(out: Collector, table: Mapping[str, Any]) -> tuple[int, int]:
    low = out.integer(table, "min_age_years", "[study]")
    high = out.integer(table, "max_age_years", "[study]")
    if low is None or high is None:
        return 0, 0
    if low < 0 or high < low:
        out.add(
            "S019",
            "[study]",
            f"age range {low}–{high} is not a range of ages",
            "set 0 ≤ min_age_years ≤ max_age_years (completed years at baseline)",
        )
    return low, high


def _visits(
    out: Collector,
    data: Mapping[str, Any],
    baseline_code: str,
    respondents: list[FormRespondents],
    declared: set[str],
    known_forms: Collection[str] | None,
) -> list[Visit]:
    raw = data.get("visits")
    if raw is None or raw == []:
        out.add("S005", None, "the study has no visits", "add [[visits]] tables, one per visit")
        return []
    if not isinstance(raw, list) or not all(isinstance(v, dict) for v in raw):
        out.add("S003", None, "'visits' must be a list of tables", "write each as [[visits]]")
        return []
    rules = {entry.form_id: entry for entry in respondents}
    visits: list[Visit] = []
    seen: set[str] = set()
    for index, table in enumerate(raw, start=1):
        code = out.text(table, "code", f"visits[{index}]", required=True)
        where = f"visit {code}" if code else f"visits[{index}]"
        out.unknown_keys(table, _VISIT_KEYS, where)
        if code and code in seen:
            out.add(
                "S006", where, f"visit code {code!r} is used twice", "give each visit its own code"
            )
        seen.add(code)
        week = out.integer(table, "week", where)
        before = out.integer(table, "window_before_days", where)
        after = out.integer(table, "window_after_days", where)
        for key, days in (("window_before_days", before), ("window_after_days", after)):
            if days is not None and days < 0:
                out.add(
                    "S008",
                    where,
                    f"{key} is {days}; a window counts days away from the target",
                    f"write a number ≥ 0 (e.g. {key} = {-days})",
                )
        kiosk = table.get("kiosk", True)
        if not isinstance(kiosk, bool):
            out.add("S003", where, f"'kiosk' must be true or false, not {kiosk!r}", "fix it")
            kiosk = True
        forms = _visit_forms(out, table, where, known_forms)
        for form in forms:
            entry = rules.get(form)
            if entry is None:
                if form not in declared and (known_forms is None or form in known_forms):
                    out.add(
                        "S014",
                        where,
                        f"form {form!r} has no respondent rules",
                        f"add a [respondents.{form}] table with mode and rules",
                    )
            elif not kiosk and _PATIENTS.intersection(entry.respondents):
                out.add(
                    "S020",
                    where,
                    f"form {form!r} is answered by a child or parent but this visit has no kiosk",
                    "set kiosk = true or remove the form from this visit",
                )
        name = table.get("name", "")
        if not isinstance(name, str):
            out.add("S003", where, "'name' must be a text", 'write name = "..."')
            name = ""
        if week is None or before is None or after is None:
            continue
        visits.append(
            Visit(
                code=code,
                week=week,
                window_before_days=before,
                window_after_days=after,
                forms=forms,
                kiosk=kiosk,
                is_baseline=code == baseline_code,
                name=name,
            )
        )
    _check_order(out, visits)
    return visits


def _visit_forms(
    out: Collector, table: Mapping[str, Any], where: str, known_forms: Collection[str] | None
) -> tuple[str, ...]:
    raw = table.get("forms")
    if raw is None:
        out.add("S002", where, "'forms' is missing", 'add forms = ["form_id", ...]')
        return ()
    if not isinstance(raw, list) or not all(isinstance(f, str) and f for f in raw):
        out.add("S003", where, "'forms' must be a list of form ids", 'write forms = ["chaq", ...]')
        return ()
    if not raw:
        out.add("S013", where, "the visit lists no form", "add at least one form id")
        return ()
    forms: list[str] = []
    for form in raw:
        if form in forms:
            out.add("S013", where, f"form {form!r} is listed twice", "list each form once")
            continue
        if known_forms is not None and form not in known_forms:
            close = difflib.get_close_matches(form, list(known_forms), n=1)
            out.add(
                "S012",
                where,
                f"unknown form {form!r}",
                f"use the id of a form file; known: {', '.join(sorted(known_forms))}",
                suggestion=close[0] if close else None,
            )
        forms.append(form)
    return tuple(forms)


def _check_order(out: Collector, visits: list[Visit]) -> None:
    for earlier, later in pairwise(visits):
        if later.week <= earlier.week:
            out.add(
                "S007",
                f"visit {later.code}",
                f"week {later.week} does not come after week {earlier.week} of {earlier.code}",
                "list visits in increasing week order, each at its own week",
            )
            continue
        # Overlapping windows would make "which visit is open today" ambiguous.
        last_day = earlier.week * 7 + earlier.window_after_days
        first_day = later.week * 7 - later.window_before_days
        if first_day <= last_day:
            out.add(
                "S009",
                f"visit {later.code}",
                f"its window overlaps the window of {earlier.code} "
                f"(day {first_day} ≤ day {last_day} from baseline)",
                "narrow one of the two windows",
            )


def _check_baseline(out: Collector, visits: list[Visit], code: str) -> None:
    match = [visit for visit in visits if visit.code == code]
    if not match:
        close = difflib.get_close_matches(code, [v.code for v in visits], n=1)
        out.add(
            "S010",
            "[study]",
            f"baseline_visit {code!r} is not one of the visits",
            "name the code of the baseline visit",
            suggestion=close[0] if close else None,
        )
    elif match[0].week != 0:
        # Target dates are counted from the baseline date, so the baseline must be week 0.
        out.add(
            "S011",
            f"visit {code}",
            f"the baseline visit is at week {match[0].week}",
            "set its week to 0 and the other weeks relative to it",
        )
