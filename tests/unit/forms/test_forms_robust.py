"""Any wrong value anywhere in a form file gives coded problems, never a crash (DESIGN §10)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from epro.forms import Severity, check_form_text
from epro.forms.errors import CATALOGUE

#: One value of every TOML kind; they replace, in turn, the value of every `key = value` line.
WRONG_VALUES = ["true", '"x"', "[]", "{}", "1.5", "-3", '[1, "a", true]', "{ a = 1 }", '"na"']
ASSIGNMENT = re.compile(r"^([A-Za-z_][\w.]*) = (.*)$")


@pytest.mark.parametrize("name", ["chaq", "jamar", "vas_pain", "vas_wellbeing", "clinician"])
def test_every_wrong_value_in_a_shipped_form_is_a_coded_problem(forms_dir: Path, name: str) -> None:
    lines = (forms_dir / f"{name}.toml").read_text(encoding="utf-8").splitlines()
    mutated = 0
    for index, line in enumerate(lines):
        match = ASSIGNMENT.match(line)
        if match is None:
            continue
        # One kind per line, rotating, keeps the test fast while every kind hits every section.
        for value in (WRONG_VALUES[index % len(WRONG_VALUES)],):
            if value == match.group(2):
                continue
            text = "\n".join([*lines[:index], f"{match.group(1)} = {value}", *lines[index + 1 :]])
            form, problems = check_form_text(text, f"{name}.toml")
            mutated += 1
            assert all(p.code in CATALOGUE for p in problems)
            if form is None:
                assert any(p.severity is Severity.ERROR for p in problems), (index, value)
    assert mutated > 10
