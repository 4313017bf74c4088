"""The error catalogue of form files: coded, located, actionable problems.

Every check in the loader produces a :class:`Problem` with a stable code (``F001`` …), the file,
the item it concerns, what is wrong and how to fix it. The loader collects *all* problems of a
file before it gives up; warnings never stop a load.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from epro.errors import FormError


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    source: str
    message: str
    fix: str
    item: str | None = None
    severity: Severity = Severity.ERROR
    suggestion: str | None = None

    def __str__(self) -> str:
        where = self.source if self.item is None else f"{self.source}, item {self.item}"
        text = f"{where}: [{self.code}] {self.message} — {self.fix}"
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        if self.severity is Severity.WARNING:
            text = "warning: " + text
        return text


class FormProblems(FormError):
    """Raised when a form file has at least one error; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity is Severity.ERROR]
        super().__init__("\n".join(str(p) for p in errors) or "invalid form")


@dataclass(frozen=True, slots=True)
class Entry:
    """One catalogue entry: what the code means and the usual fix."""

    title: str
    fix: str
    severity: Severity = Severity.ERROR


#: The stable codes. Codes are never reused for another meaning; new checks get new codes.
CATALOGUE: dict[str, Entry] = {
    "F001": Entry("the file is not valid TOML", "correct the syntax at the line and column shown"),
    "F002": Entry(
        "a required key is missing", "add the key; forms/vas_pain.toml is a small example"
    ),
    "F003": Entry("unknown key", "remove the key or correct its spelling"),
    "F004": Entry("a value has the wrong type", "use the type named in the message"),
    "F005": Entry(
        "the form id is not a valid name",
        "use lower-case letters, digits and '_', starting with a letter",
    ),
    "F006": Entry("the version is not semantic", "write it as MAJOR.MINOR.PATCH, e.g. 1.0.0"),
    "F007": Entry("unknown form kind", 'use kind = "patient" or kind = "staff"'),
    "F008": Entry(
        "the languages list is invalid",
        'list distinct two-letter codes, e.g. languages = ["en", "nl"]',
    ),
    "F009": Entry(
        "a declared language has no [translations] entry",
        "add [translations.<lang>] with validated = true or false",
    ),
    "F010": Entry(
        "a translation is not marked validated or unvalidated",
        "add validated = false (or true for an officially validated text)",
    ),
    "F011": Entry(
        "a translation is given for an undeclared language",
        "add the language to 'languages' or remove the translation",
    ),
    "F012": Entry("a text is missing a declared language", "add the text in that language"),
    "F013": Entry(
        "a text is in an undeclared language",
        "add the language to 'languages' or remove the text",
    ),
    "F014": Entry(
        "the respondents do not fit the form",
        "patient forms use parent and/or child; staff forms use staff",
    ),
    "F015": Entry(
        "the scoring table is invalid",
        "give [scoring] algorithm (chaq, jamar, vas, clinician) and a semantic version",
    ),
    "F016": Entry("unknown item key", "remove the key or correct its spelling"),
    "F017": Entry("an item has no link_id", 'add link_id = "<variable name>"'),
    "F018": Entry(
        "the link_id is not a valid variable name",
        "use lower-case letters, digits and '_', starting with a letter, at most 63 characters",
    ),
    "F019": Entry("the link_id is used twice", "give every item its own variable name"),
    "F020": Entry(
        "unknown item type",
        "use display, choice, checklist, boolean, integer, decimal, vas, circles21, date or text",
    ),
    "F021": Entry("a choice needs at least two options", "add options (or use type boolean)"),
    "F022": Entry("an option code is used twice", "give every option its own code"),
    "F023": Entry(
        "a default or initial answer is present",
        "remove it: no item may have a pre-selected answer (instruments.md §5)",
    ),
    "F024": Entry(
        "enable_when names an item that does not exist",
        "name the link_id of an earlier item",
    ),
    "F025": Entry(
        "enable_when names this item or a later one",
        "a condition may only depend on an item asked before it",
    ),
    "F026": Entry(
        "the enable_when answer cannot be given to the item it names",
        "use one of that item's answer codes",
    ),
    "F027": Entry(
        "the enable_when table is invalid",
        "use operator equals, not_equals or exists and behavior all or any",
    ),
    "F028": Entry("min is not below max", "make min smaller than max"),
    "F029": Entry("the step does not fit the range", "use a positive step that divides max − min"),
    "F030": Entry("a number item needs min and max", "add min = … and max = …"),
    "F031": Entry("a VAS runs from 0 to 100", "remove min/max or set min = 0, max = 100"),
    "F032": Entry(
        "a 21-circle scale runs from 0 to 10 in steps of 0.5",
        "remove min/max/step or set min = 0, max = 10, step = 0.5",
    ),
    "F033": Entry(
        "free text is not allowed in a patient form",
        "use a coded item, or for an optional 'other, describe' item set "
        "allow_text = true and required = false",
    ),
    "F034": Entry("the item names a group that is not defined", "add the [[groups]] entry"),
    "F035": Entry("a group id is invalid or used twice", "give every group its own valid id"),
    "F036": Entry(
        "na_option needs a text for 'not applicable'",
        "add na_text = { en = …, nl = … } (or use an option set that has one)",
    ),
    "F037": Entry("the key does not apply to this item type", "remove the key"),
    "F038": Entry("a scale needs text anchors at both ends", "add anchor_low and anchor_high"),
    "F039": Entry("the option set is not defined", "add [option_sets.<name>] or fix the name"),
    "F040": Entry(
        "the wording variants do not match the respondents",
        "give one variant per respondent of the form, and none for others",
    ),
    "F041": Entry("the form has no items", "add at least one [[items]] entry"),
    "F042": Entry(
        "the option code is invalid",
        "use whole numbers or lower-case names; 'na' and 'skipped' are reserved; "
        "checklist codes must be names",
    ),
    "F043": Entry("the item has no text", "add text = { en = …, nl = … } or variants"),
    "F044": Entry("the file cannot be read", "check the path and that the file is UTF-8 text"),
    "F045": Entry("two form files have the same id", "give each form its own id"),
    "F046": Entry(
        "the items of a group are not together",
        "put all items of a group one after another",
    ),
    "W101": Entry("the group has no items", "remove the group or use it", Severity.WARNING),
    "W102": Entry("the option set is never used", "remove it or use it", Severity.WARNING),
    "W103": Entry(
        "na_text is given but na_option is not set",
        "set na_option = true or remove na_text",
        Severity.WARNING,
    ),
}


def make_problem(
    code: str,
    source: str,
    message: str,
    *,
    item: str | None = None,
    fix: str | None = None,
    suggestion: str | None = None,
) -> Problem:
    """A catalogued problem; the fix defaults to the catalogue's."""
    entry = CATALOGUE[code]
    return Problem(
        code=code,
        source=source,
        message=message,
        fix=fix or entry.fix,
        item=item,
        severity=entry.severity,
        suggestion=suggestion,
    )


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The closest known name to a probable typo, or None."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None
