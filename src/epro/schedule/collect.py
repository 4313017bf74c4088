"""Collecting coded problems while reading the study file: every check adds one and carries on."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any

from epro.forms.errors import Problem, Severity

#: The stable problem codes of study files. A code never changes meaning; new checks get new
#: codes. Only S021 is a warning.
STUDY_CODES: dict[str, str] = {
    "S000": "the study file cannot be read",
    "S001": "the text is not valid TOML",
    "S002": "a required key or table is missing",
    "S003": "a value has the wrong type or is out of range",
    "S004": "an unknown key (usually a typo; 'did you mean' given)",
    "S005": "the study has no visits",
    "S006": "two visits share a code",
    "S007": "visits are not in strictly increasing week order",
    "S008": "a visit window is negative",
    "S009": "the windows of two consecutive visits overlap",
    "S010": "the baseline visit is not one of the visits",
    "S011": "the baseline visit is not at week 0",
    "S012": "a visit names a form that does not exist (checked only with known_forms)",
    "S013": "a visit lists the same form twice, or no form",
    "S014": "a form due at a visit has no respondent rules",
    "S015": "unknown respondent or respondent mode",
    "S016": "an age rule has an empty or negative age band",
    "S017": "age rules overlap",
    "S018": "age rules leave an age without respondent",
    "S019": "the study age range is invalid",
    "S020": "a visit without kiosk lists a form answered by a child or parent",
    "S021": "respondent rules for a form that no visit uses (warning)",
    "S022": "study_key_fingerprint is not a key fingerprint",
}


class Collector:
    """Gathers problems of one study text; each check adds and carries on."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def add(
        self,
        code: str,
        item: str | None,
        message: str,
        fix: str,
        *,
        suggestion: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        if code not in STUDY_CODES:  # a programming error, not a problem of the file
            raise KeyError(f"uncatalogued study problem code {code}")
        problem = Problem(code, self.source, message, fix, item, severity, suggestion)
        self.problems.append(problem)

    @property
    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)

    def unknown_keys(self, table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                self.add(
                    "S004",
                    where,
                    f"unknown key {key!r}",
                    f"remove it or use one of: {', '.join(allowed)}",
                    suggestion=close[0] if close else None,
                )

    def text(self, table: Mapping[str, Any], key: str, where: str, *, required: bool) -> str:
        if key not in table:
            if required:
                self.add("S002", where, f"{key!r} is missing", f'add {key} = "..."')
            return ""
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.add("S003", where, f"{key!r} must be a non-empty text", f'write {key} = "..."')
            return ""
        return value

    def integer(self, table: Mapping[str, Any], key: str, where: str) -> int | None:
        if key not in table:
            self.add("S002", where, f"{key!r} is missing", f"add {key} = <whole number>")
            return None
        value = table[key]
        # bool is an int in Python; `kiosk = true` typed into a number slot must not pass.
        if isinstance(value, bool) or not isinstance(value, int):
            self.add("S003", where, f"{key!r} must be a whole number, not {value!r}", "fix it")
            return None
        return value

    def age(self, table: Mapping[str, Any], key: str, where: str) -> float | None:
        value = table.get(key)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self.add("S003", where, f"{key!r} must be an age in years, not {value!r}", "fix it")
            return None
        return float(value)
