"""Every form version an export can recognise, and the study protocol it scores against.

The kiosk loads only the current forms (``forms/*.toml``); a study that ran for a while has
responses answered on earlier versions too, kept byte for byte in ``forms/versions/``. The
export loads both and recognises a response's form by the SHA-256 the kiosk recorded of the
exact file it was answered on, and by (id, version).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from epro.errors import FormError
from epro.forms import FormProblems, Problem, Severity, default_forms_dir
from epro.forms.loader import STUDY_FILE, check_form_file, form_files
from epro.forms.model import Form
from epro.schedule import Study, load_study

#: The folder, inside the forms folder, that keeps earlier form versions.
VERSIONS_DIR: Final = "versions"

#: Visits at which the trial may give an infusion (instruments.md §1 and §4.1: the first at
#: the baseline V1, repeats possible at V3 and V5). Not part of the protocol file yet.
INFUSION_VISITS: Final = ("V1", "V3", "V5")


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Known form versions by (id, version) and by file SHA-256, and the study protocol."""

    forms: Mapping[tuple[str, str], Form]
    by_sha256: Mapping[str, Form]
    study: Study

    def versions(self) -> list[tuple[str, str, str]]:
        """(id, version, sha256) of every known form version, sorted: for manifests."""
        return sorted((f.id, f.version, f.sha256) for f in self.forms.values())

    def form_for(self, form_id: str, version: str) -> Form | None:
        return self.forms.get((form_id, version))


def load_catalogue(forms_dir: Path | None = None) -> Catalogue:
    """The forms of ``forms_dir`` (default: the installed forms) and of its ``versions/``.

    Problems of every file are reported together (:class:`FormProblems`); two different files
    claiming the same form id and version are refused, since a response could not say which
    of them it was answered on except by hash, and a codebook could not describe both.
    """
    folder = default_forms_dir() if forms_dir is None else Path(forms_dir)
    if not folder.is_dir():
        raise FormError(f"the forms folder {folder} does not exist; pass --forms DIR")
    paths = form_files(folder)
    if (folder / VERSIONS_DIR).is_dir():
        paths += form_files(folder / VERSIONS_DIR)
    problems: list[Problem] = []
    forms: dict[tuple[str, str], Form] = {}
    by_sha256: dict[str, Form] = {}
    for path in paths:
        form, found = check_form_file(path)
        problems.extend(p for p in found if p.severity is Severity.ERROR)
        if form is None:
            continue
        key = (form.id, form.version)
        known = forms.get(key)
        if known is not None and known.sha256 != form.sha256:
            raise FormError(
                f"{path.name} and {Path(known.source).name} are both form {form.id} version "
                f"{form.version} but differ; an earlier version must be kept byte for byte — "
                "restore it, or give the changed form a new version"
            )
        forms.setdefault(key, form)
        by_sha256.setdefault(form.sha256, form)
    if problems:
        raise FormProblems(problems)
    study = load_study(folder / STUDY_FILE, known_forms={form_id for form_id, _ in forms})
    return Catalogue(forms=forms, by_sha256=by_sha256, study=study)
