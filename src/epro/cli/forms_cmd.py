"""``epro forms``: check form files, show a form's outline, export it as FHIR."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from epro.errors import FormError
from epro.forms.errors import FormProblems, Problem, make_problem
from epro.forms.fhir import to_questionnaire
from epro.forms.loader import (
    STUDY_FILE,
    check_form_file,
    default_forms_dir,
    load_forms,
    read_form_file,
)
from epro.forms.model import Form
from epro.forms.outline import outline
from epro.schedule import parse_study


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``epro forms check|show|export``."""
    forms = subparsers.add_parser("forms", help="check, show and export form files")
    actions = forms.add_subparsers(dest="forms_command", metavar="ACTION", required=True)

    check = actions.add_parser("check", help="validate form files and the study protocol")
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or folders")
    check.set_defaults(func=run_check)

    show = actions.add_parser("show", help="print a readable outline of a form")
    show.add_argument("form_id", metavar="ID")
    show.add_argument("--lang", choices=("en", "nl"), default="en")
    show.add_argument("--respondent", choices=("parent", "child"))
    show.add_argument("--forms", type=Path, help="forms folder (default: the installed forms)")
    show.set_defaults(func=run_show)

    export = actions.add_parser("export", help="write a form as a FHIR R4 Questionnaire")
    export.add_argument("form_id", metavar="ID")
    export.add_argument("--fhir", action="store_true", required=True, help="FHIR R4 JSON")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    export.add_argument("--lang", choices=("en", "nl"), default="en", help="main language")
    export.add_argument("--respondent", choices=("parent", "child"))
    export.add_argument("--forms", type=Path, help="forms folder (default: the installed forms)")
    export.set_defaults(func=run_export)


def run_check(args: argparse.Namespace) -> int:
    paths: list[Path] = args.paths or [default_forms_dir()]
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.toml")))
        elif path.is_file():
            files.append(path)
        else:
            raise FormError(f"{path}: no such file or folder — give form files or a forms folder")
    if not files:
        raise FormError("no .toml files found — give form files or a forms folder")
    failed = 0
    ids: dict[str, Path] = {}
    # Study protocols last, so the forms beside them are known when their visits are checked.
    studies = [path for path in files if path.name == STUDY_FILE]
    for path in [path for path in files if path.name != STUDY_FILE]:
        ok, problems = _check_one(path, ids)
        for problem in problems:
            print(problem)
        failed += not ok
    for path in studies:
        ok, problems = _check_study(path, _form_ids_beside(path, ids))
        for problem in problems:
            print(problem)
        failed += not ok
    print(f"{len(files)} file(s) checked, {failed} with errors")
    return 1 if failed else 0


def _check_one(path: Path, ids: dict[str, Path]) -> tuple[bool, list[Problem]]:
    form, problems = check_form_file(path)
    if form is None:
        return False, problems
    if form.id in ids:
        message = f"form id '{form.id}' is also used by {ids[form.id]}"
        return False, [*problems, make_problem("F045", str(path), message)]
    ids[form.id] = path
    print(f"ok {path} {form.id} {form.version} sha256:{form.sha256[:12]}")
    return True, problems


def _form_ids_beside(study: Path, checked: dict[str, Path]) -> set[str]:
    """Ids of the valid form files in the study's folder (checked now, or read quietly)."""
    folder = study.resolve().parent
    seen = {path.resolve() for path in checked.values()}
    known = {form_id for form_id, path in checked.items() if path.resolve().parent == folder}
    for path in sorted(folder.glob("*.toml")):
        if path.name != STUDY_FILE and path.resolve() not in seen:
            form, _ = check_form_file(path)
            if form is not None:
                known.add(form.id)
    return known


def _check_study(path: Path, known_forms: set[str]) -> tuple[bool, list[Problem]]:
    """The study protocol is epro.schedule's to parse; it reports problems like a form."""
    text, digest, problems = read_form_file(path)
    if text is None:
        return False, problems
    try:
        study = parse_study(text, str(path), known_forms=known_forms)
    except FormProblems as error:
        return False, error.problems
    print(f"ok {path} {study.id} {study.version or '-'} sha256:{digest[:12]}")
    return True, list(study.warnings)


def _form(args: argparse.Namespace) -> Form:
    forms = load_forms(args.forms)
    if args.form_id not in forms:
        known = ", ".join(sorted(forms))
        raise FormError(f"there is no form {args.form_id!r} — the forms are: {known}")
    return forms[args.form_id]


def run_show(args: argparse.Namespace) -> int:
    sys.stdout.write(outline(_form(args), args.lang, args.respondent))
    return 0


def run_export(args: argparse.Namespace) -> int:
    resource = to_questionnaire(_form(args), language=args.lang, respondent=args.respondent)
    text = json.dumps(resource, ensure_ascii=False, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise FormError(f"{args.output}: cannot write the export ({reason})") from None
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
