"""Reading form files from disk: thin wrappers around the pure :func:`parse_form` pipeline."""

from __future__ import annotations

import hashlib
import importlib.resources
from pathlib import Path

from epro.forms.errors import FormProblems, Problem, Severity, make_problem
from epro.forms.model import Form
from epro.forms.parse import check_form

#: The study protocol lives with the forms but is read by epro.schedule, not here.
STUDY_FILE = "study.toml"


def default_forms_dir() -> Path:
    """The installed copy of the form files if there is one, else the repository's ``forms/``."""
    installed = importlib.resources.files("epro") / "_forms"
    if installed.is_dir():
        return Path(str(installed))
    return Path(__file__).resolve().parents[3] / "forms"


def read_form_file(path: Path) -> tuple[str | None, str, list[Problem]]:
    """The text of a form file, the SHA-256 of its exact bytes, and any reading problem."""
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        problem = make_problem("F044", source, f"the file cannot be read ({reason})")
        return None, "", [problem]
    digest = hashlib.sha256(data).hexdigest()
    try:
        return data.decode("utf-8"), digest, []
    except UnicodeDecodeError as error:
        problem = make_problem("F044", source, f"the file is not UTF-8 (byte {error.start})")
        return None, digest, [problem]


def check_form_file(path: Path) -> tuple[Form | None, list[Problem]]:
    """The form in ``path`` (None if any error) and every problem, warnings included."""
    text, digest, problems = read_form_file(path)
    if text is None:
        return None, problems
    return check_form(text, str(path), digest)


def load_form(path: Path) -> Form:
    """The validated form in ``path``; :class:`FormProblems` lists everything wrong with it."""
    form, problems = check_form_file(Path(path))
    if form is None:
        raise FormProblems(problems)
    return form


def form_files(directory: Path) -> list[Path]:
    """The form files of a directory, in name order, without the study protocol."""
    return sorted(p for p in directory.glob("*.toml") if p.name != STUDY_FILE)


def load_forms(directory: Path | None = None) -> dict[str, Form]:
    """Every form of ``directory`` (default :func:`default_forms_dir`) by id.

    Problems are collected across all files, so one error report covers the whole folder.
    """
    folder = default_forms_dir() if directory is None else Path(directory)
    problems: list[Problem] = []
    if not folder.is_dir():
        problems.append(make_problem("F044", str(folder), "the forms folder does not exist"))
        raise FormProblems(problems)
    forms: dict[str, Form] = {}
    for path in form_files(folder):
        form, found = check_form_file(path)
        problems.extend(found)
        if form is None:
            continue
        if form.id in forms:
            problems.append(
                make_problem(
                    "F045",
                    str(path),
                    f"form id '{form.id}' is also used by {forms[form.id].source}",
                )
            )
            continue
        forms[form.id] = form
    if any(p.severity is Severity.ERROR for p in problems):
        raise FormProblems(problems)
    return forms
