"""The problem-collecting reader shared by the form validators.

It turns loosely typed TOML values into typed ones, and every time something does not fit it
records a catalogued :class:`Problem` and carries on, so one run reports every problem in a file.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from epro.forms.errors import Problem, did_you_mean, make_problem

#: Variable names, form ids, group ids and option codes: safe as CSV columns and ODM OIDs.
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass
class Reader:
    source: str
    problems: list[Problem] = field(default_factory=list)
    #: The declared languages; empty while unknown, which turns the language checks off
    #: so one bad ``languages`` list does not drown the report in follow-up problems.
    languages: tuple[str, ...] = ()

    def add(
        self,
        code: str,
        message: str,
        *,
        item: str | None = None,
        fix: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        self.problems.append(
            make_problem(code, self.source, message, item=item, fix=fix, suggestion=suggestion)
        )

    def unknown_keys(
        self,
        table: Mapping[str, Any],
        allowed: Collection[str],
        where: str,
        *,
        code: str = "F003",
        item: str | None = None,
    ) -> None:
        for key in table:
            if key not in allowed:
                self.add(
                    code,
                    f"unknown key '{key}' in {where}",
                    item=item,
                    suggestion=did_you_mean(key, allowed),
                )

    def text(self, raw: object, key: str, item: str | None = None) -> dict[str, str]:
        """A text per declared language, e.g. ``title = { en = "…", nl = "…" }``."""
        if not isinstance(raw, dict):
            self.add(
                "F004",
                f"'{key}' must be a table of texts per language",
                item=item,
                fix=f'write {key} = {{ en = "…", nl = "…" }}',
            )
            return {}
        texts: dict[str, str] = {}
        missing = [language for language in self.languages if language not in raw]
        for language, value in raw.items():
            if self.languages and language not in self.languages:
                # Language codes are too short for difflib; the one missing code is the guess.
                guess = missing[0] if len(missing) == 1 else None
                self.add(
                    "F013",
                    f"'{key}' has a text in '{language}', which is not a declared language "
                    f"({', '.join(self.languages)})",
                    item=item,
                    suggestion=guess or did_you_mean(language, self.languages),
                )
            elif not isinstance(value, str) or not value.strip():
                self.add("F004", f"'{key}.{language}' must be a non-empty text", item=item)
            else:
                texts[language] = value.strip()
        for language in self.languages:
            if language not in raw:
                self.add(
                    "F012",
                    f"'{key}' has no '{language}' text",
                    item=item,
                    fix=f'add {key}.{language} = "…"',
                )
        return texts

    def boolean(self, table: Mapping[str, Any], key: str, default: bool, item: str | None) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.add("F004", f"'{key}' must be true or false", item=item)
            return default
        return value

    def number(self, table: Mapping[str, Any], key: str, item: str | None) -> float | int | None:
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add("F004", f"'{key}' must be a number", item=item)
            return None
        return value

    def name(self, raw: object, key: str, code: str, item: str | None = None) -> str | None:
        """A lower-case identifier, or None after recording ``code``."""
        if not isinstance(raw, str) or not NAME.match(raw):
            self.add(code, f"'{key}' must be a name like 'chaq_walk_a'", item=item)
            return None
        return raw
