"""The pure form pipeline: TOML text → dict → checked → :class:`Form` (DESIGN §3).

Nothing here touches the disk. Every problem in the text is collected before the verdict, so
one run of ``epro forms check`` shows the author everything to fix; warnings never stop a load.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from epro.forms._reader import Reader
from epro.forms.errors import FormProblems, Problem, Severity, did_you_mean
from epro.forms.items import FormContext, parse_items
from epro.forms.model import Form, FormKind, Group, Respondent, Translation
from epro.forms.options import OptionSet, parse_option_sets

REQUIRED_KEYS = (
    "id",
    "version",
    "title",
    "kind",
    "languages",
    "translations",
    "respondents",
    "scoring",
    "items",
)
#: How each required key looks, for the fix of a missing one (before any [table] header).
EXAMPLES = {
    "id": 'add id = "my_form" (lower-case letters, digits, _)',
    "version": 'add version = "1.0.0"',
    "title": 'add title = { en = "…", nl = "…" }',
    "kind": 'add kind = "patient" (or "staff")',
    "languages": 'add languages = ["en", "nl"]',
    "translations": "add [translations.en] with validated = false, one per language",
    "respondents": 'add respondents = ["parent", "child"] (or ["staff"])',
    "scoring": 'add [scoring] with algorithm = "…" and version = "1.0.0"',
    "items": "add at least one [[items]] table",
}
OPTIONAL_KEYS = ("intro", "groups", "option_sets")
TOP_KEYS = REQUIRED_KEYS + OPTIONAL_KEYS
#: Scoring algorithms that epro.scoring implements.
ALGORITHMS = ("chaq", "jamar", "vas", "clinician")
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
LANGUAGE = re.compile(r"^[a-z]{2}$")
_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def parse_form(text: str, source: str = "<memory>") -> Form:
    """The validated form, or :class:`FormProblems` carrying every problem found."""
    form, problems = check_form_text(text, source)
    if form is None:
        raise FormProblems(problems)
    return form


def check_form_text(text: str, source: str = "<memory>") -> tuple[Form | None, list[Problem]]:
    """The form (None if any error) and all problems, warnings included."""
    return check_form(text, source, hashlib.sha256(text.encode("utf-8")).hexdigest())


def check_form(text: str, source: str, sha256: str) -> tuple[Form | None, list[Problem]]:
    """As :func:`check_form_text` with the digest of the file's exact bytes given."""
    reader = Reader(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        reader.add("F001", _toml_message(error))
        return None, reader.problems
    form = _build(reader, data, sha256)
    if any(p.severity is Severity.ERROR for p in reader.problems):
        return None, reader.problems
    return form, reader.problems


def _toml_message(error: tomllib.TOMLDecodeError) -> str:
    message = str(error)
    where = _TOML_WHERE.search(message)
    if where is None:
        return f"TOML syntax error: {message}"
    line, column = where.groups()
    return f"TOML syntax error at line {line}, column {column}: {message[: where.start()]}"


def _build(reader: Reader, data: dict[str, Any], sha256: str) -> Form | None:
    for key in REQUIRED_KEYS:
        if key not in data:
            reader.add("F002", f"the top-level key '{key}' is missing", fix=EXAMPLES[key])
    reader.unknown_keys(data, TOP_KEYS, "the top level")
    form_id = data.get("id")
    if "id" in data and (
        not isinstance(form_id, str) or not re.match(r"^[a-z][a-z0-9_]*$", form_id)
    ):
        reader.add("F005", f"form id {form_id!r} is not a valid name")
    version = data.get("version")
    if "version" in data and (not isinstance(version, str) or not SEMVER.match(version)):
        reader.add("F006", f"version {version!r} is not semantic (MAJOR.MINOR.PATCH)")
    kind = _kind(reader, data)
    reader.languages = _languages(reader, data)
    translations = _translations(reader, data)
    title = reader.text(data["title"], "title") if "title" in data else {}
    intro = reader.text(data["intro"], "intro") if "intro" in data else {}
    respondents = _respondents(reader, data, kind)
    scoring = _scoring(reader, data)
    groups = _groups(reader, data.get("groups", []))
    option_sets: dict[str, OptionSet] = {}
    if "option_sets" in data:
        option_sets = parse_option_sets(reader, data["option_sets"])
    context = FormContext(
        kind=kind,
        respondents=tuple(r.value for r in respondents),
        groups={group.id: group for group in groups},
        option_sets=option_sets,
    )
    items = parse_items(reader, data["items"], context) if "items" in data else []
    for name, option_set in option_sets.items():
        if not option_set.used:
            reader.add("W102", f"option set '{name}' is never used", item=f"option set {name}")
    if any(p.severity is Severity.ERROR for p in reader.problems):
        return None
    assert isinstance(form_id, str)
    assert isinstance(version, str)
    assert kind is not None
    return Form(
        id=form_id,
        version=version,
        title=title,
        kind=kind,
        languages=reader.languages,
        translations=translations,
        respondents=respondents,
        scoring_algorithm=scoring[0],
        scoring_version=scoring[1],
        groups=groups,
        items=tuple(items),
        sha256=sha256,
        intro=intro,
        source=reader.source,
    )


def _kind(reader: Reader, data: Mapping[str, Any]) -> FormKind | None:
    if "kind" not in data:
        return None
    try:
        return FormKind(data["kind"])
    except ValueError:
        reader.add(
            "F007",
            f"kind {data['kind']!r} is unknown",
            suggestion=did_you_mean(str(data["kind"]), [k.value for k in FormKind]),
        )
        return None


def _languages(reader: Reader, data: Mapping[str, Any]) -> tuple[str, ...]:
    raw = data.get("languages")
    if raw is None:
        return ()
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(code, str) and LANGUAGE.match(code) for code in raw)
        or len(set(raw)) != len(raw)
    ):
        reader.add("F008", "'languages' must be a non-empty list of distinct two-letter codes")
        return ()
    return tuple(raw)


def _translations(reader: Reader, data: Mapping[str, Any]) -> tuple[Translation, ...]:
    raw = data.get("translations")
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        reader.add("F004", "'translations' must be a table of [translations.<lang>] tables")
        return ()
    translations: list[Translation] = []
    for language, table in raw.items():
        if reader.languages and language not in reader.languages:
            reader.add(
                "F011",
                f"[translations.{language}] is for a language not in 'languages'",
                suggestion=did_you_mean(language, reader.languages),
            )
            continue
        if not isinstance(table, dict) or not isinstance(table.get("validated"), bool):
            reader.add("F010", f"[translations.{language}] has no validated = true/false")
            continue
        reader.unknown_keys(table, ("validated",), f"[translations.{language}]")
        translations.append(Translation(language=language, validated=table["validated"]))
    for language in reader.languages:
        if language not in raw:
            reader.add(
                "F009",
                f"language '{language}' has no [translations.{language}] entry",
                fix=f"add [translations.{language}] with validated = false (true only for "
                "an officially validated text)",
            )
    return tuple(translations)


def _respondents(
    reader: Reader, data: Mapping[str, Any], kind: FormKind | None
) -> tuple[Respondent, ...]:
    raw = data.get("respondents")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        reader.add("F014", "'respondents' must be a non-empty list")
        return ()
    respondents: list[Respondent] = []
    for name in raw:
        try:
            respondents.append(Respondent(name))
        except ValueError:
            reader.add(
                "F014",
                f"respondent {name!r} is unknown",
                suggestion=did_you_mean(str(name), [r.value for r in Respondent]),
            )
    staff = Respondent.STAFF in respondents
    if kind is FormKind.PATIENT and staff:
        reader.add("F014", "a patient form cannot have respondent 'staff'")
    if kind is FormKind.STAFF and respondents != [Respondent.STAFF]:
        reader.add("F014", 'a staff form has respondents = ["staff"] only')
    if len(set(respondents)) != len(respondents):
        reader.add("F014", "a respondent is listed twice")
    return tuple(respondents)


def _scoring(reader: Reader, data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    raw = data.get("scoring")
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        reader.add("F015", "'scoring' must be a table with 'algorithm' and 'version'")
        return None, None
    reader.unknown_keys(raw, ("algorithm", "version"), "[scoring]")
    algorithm = raw.get("algorithm")
    version = raw.get("version")
    if algorithm not in ALGORITHMS:
        reader.add(
            "F015",
            f"scoring algorithm {algorithm!r} is unknown",
            suggestion=did_you_mean(str(algorithm), ALGORITHMS),
        )
    if not isinstance(version, str) or not SEMVER.match(version):
        reader.add("F015", f"scoring version {version!r} is not semantic (MAJOR.MINOR.PATCH)")
    return (
        algorithm if isinstance(algorithm, str) else None,
        version if isinstance(version, str) else None,
    )


def _groups(reader: Reader, raw: object) -> tuple[Group, ...]:
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        reader.add("F004", "'groups' must be a list of [[groups]] tables")
        return ()
    groups: list[Group] = []
    for entry in raw:
        group_id = entry.get("id")
        label = f"group {group_id}"
        reader.unknown_keys(entry, ("id", "text"), "a [[groups]] table", item=label)
        if not isinstance(group_id, str) or not re.match(r"^[a-z][a-z0-9_]*$", group_id):
            reader.add("F035", f"group id {group_id!r} is not a valid name", item=label)
            continue
        if any(group.id == group_id for group in groups):
            reader.add("F035", f"group '{group_id}' is defined twice", item=label)
            continue
        if "text" in entry:
            text = reader.text(entry["text"], "text", label)
        else:
            reader.add("F002", "the group has no 'text'", item=label)
            text = {}
        groups.append(Group(id=group_id, text=text))
    return tuple(groups)
