"""Deliberately broken form texts: each gives its coded, located problem (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from epro.cli import main
from epro.forms import FormProblems, Severity, check_form_text, parse_form
from epro.forms.errors import CATALOGUE

HEADER = """\
id = "demo"
version = "1.0.0"
kind = "{kind}"
languages = ["en", "nl"]
respondents = {respondents}
title = {{ en = "Demo", nl = "Demo" }}

[translations.en]
validated = false

[translations.nl]
validated = false

[scoring]
algorithm = "vas"
version = "1.0.0"
"""

PAIN = """
[[items]]
link_id = "pain"
type = "vas"
text = { en = "Pain?", nl = "Pijn?" }
anchor_low = { en = "None", nl = "Geen" }
anchor_high = { en = "Worst", nl = "Ergste" }
"""

CHOICE = """
[[items]]
link_id = "mood"
type = "choice"
text = { en = "Mood?", nl = "Stemming?" }
options = [
  { code = 0, text = { en = "Good", nl = "Goed" } },
  { code = 1, text = { en = "Bad", nl = "Slecht" } },
]
"""


def form(items: str = PAIN, *, kind: str = "patient", header: str | None = None) -> str:
    respondents = '["staff"]' if kind == "staff" else '["parent", "child"]'
    head = HEADER.format(kind=kind, respondents=respondents) if header is None else header
    return head + items


def header_with(old: str, new: str) -> str:
    base = HEADER.format(kind="patient", respondents='["parent", "child"]')
    assert old in base
    return base.replace(old, new)


def item(body: str, link_id: str = "x", type_: str = "integer") -> str:
    return (
        f'\n[[items]]\nlink_id = "{link_id}"\ntype = "{type_}"\n'
        f'text = {{ en = "Q?", nl = "V?" }}\n{body}\n'
    )


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    code: str
    item: str | None


CASES = [
    Case("bad-toml-syntax", form(PAIN + "\nlink_id = \n"), "F001", None),
    Case("missing-top-level-key", header_with('version = "1.0.0"\n', "") + PAIN, "F002", None),
    Case(
        "unknown-top-level-key", form(header=header_with("kind", 'titel = "x"\nkind')), "F003", None
    ),
    Case(
        "title-not-a-table",
        form(header=header_with('title = { en = "Demo", nl = "Demo" }', 'title = "Demo"')),
        "F004",
        None,
    ),
    Case("group-not-a-name", form(PAIN + 'group = ["a", "b"]\n'), "F004", "pain"),
    Case(
        "id-not-a-name", form(header=header_with('id = "demo"', 'id = "Demo Form"')), "F005", None
    ),
    Case(
        "version-not-semver", form(header=header_with('"1.0.0"\nkind', '"1.0"\nkind')), "F006", None
    ),
    Case("unknown-kind", form(kind="patients"), "F007", None),
    Case("languages-empty", form(header=header_with('["en", "nl"]', "[]")), "F008", None),
    Case(
        "declared-language-without-translation",
        form(header=header_with("[translations.nl]\nvalidated = false\n", "")),
        "F009",
        None,
    ),
    Case(
        "translation-not-marked",
        form(header=header_with("[translations.nl]\nvalidated = false", "[translations.nl]")),
        "F010",
        None,
    ),
    Case(
        "translation-for-undeclared-language",
        form(header=header_with("[scoring]", "[translations.de]\nvalidated = false\n\n[scoring]")),
        "F011",
        None,
    ),
    Case("text-missing-a-language", form(PAIN.replace(', nl = "Pijn?"', "")), "F012", "pain"),
    Case(
        "text-in-undeclared-language",
        form(PAIN.replace('nl = "Pijn?"', 'nl = "Pijn?", de = "Schmerz?"')),
        "F013",
        "pain",
    ),
    Case(
        "staff-respondent-in-patient-form",
        form(header=header_with('["parent", "child"]', '["staff"]')),
        "F014",
        None,
    ),
    Case(
        "unknown-scoring-algorithm",
        form(header=header_with('algorithm = "vas"', 'algorithm = "chaqq"')),
        "F015",
        None,
    ),
    Case("unknown-item-key", form(PAIN + "requried = true\n"), "F016", "pain"),
    Case("item-without-link-id", form(PAIN.replace('link_id = "pain"\n', "")), "F017", "#1"),
    Case("link-id-with-capitals", form(PAIN.replace('"pain"', '"Pain-1"')), "F018", "Pain-1"),
    Case("duplicate-link-id", form(PAIN + PAIN), "F019", "pain"),
    Case("unknown-item-type", form(PAIN.replace('"vas"', '"slider"')), "F020", "pain"),
    Case(
        "choice-with-one-option",
        form(CHOICE.replace('  { code = 1, text = { en = "Bad", nl = "Slecht" } },\n', "")),
        "F021",
        "mood",
    ),
    Case("duplicate-option-code", form(CHOICE.replace("code = 1", "code = 0")), "F022", "mood"),
    Case("item-with-initial-answer", form(PAIN + "initial = 50\n"), "F023", "pain"),
    Case(
        "option-marked-default",
        form(CHOICE.replace("code = 1,", "code = 1, default = true,")),
        "F023",
        "mood",
    ),
    Case(
        "enable-when-on-missing-item",
        form(CHOICE + item('enable_when = { question = "mod", answer = 1 }\nmin = 0\nmax = 5')),
        "F024",
        "x",
    ),
    Case(
        "enable-when-on-later-item",
        form(item('enable_when = { question = "mood", answer = 1 }\nmin = 0\nmax = 5') + CHOICE),
        "F025",
        "x",
    ),
    Case(
        "enable-when-answer-not-a-code",
        form(CHOICE + item('enable_when = { question = "mood", answer = 7 }\nmin = 0\nmax = 5')),
        "F026",
        "x",
    ),
    Case(
        "enable-when-unknown-operator",
        form(
            CHOICE
            + item(
                'enable_when = { question = "mood", operator = "equal", answer = 1 }\n'
                "min = 0\nmax = 5"
            )
        ),
        "F027",
        "x",
    ),
    Case("min-not-below-max", form(item("min = 5\nmax = 5")), "F028", "x"),
    Case("step-not-dividing-range", form(item("min = 0\nmax = 10\nstep = 3")), "F029", "x"),
    Case("integer-without-max", form(item("min = 0")), "F030", "x"),
    Case("vas-not-0-to-100", form(PAIN + "max = 10\n"), "F031", "pain"),
    Case(
        "circles-with-other-step",
        form(PAIN.replace('"vas"', '"circles21"') + "step = 1\n"),
        "F032",
        "pain",
    ),
    Case("text-item-in-patient-form", form(item("", type_="text")), "F033", "x"),
    Case("undefined-group", form(PAIN + 'group = "dres"\n'), "F034", "pain"),
    Case(
        "group-defined-twice",
        form(
            '\n[[groups]]\nid = "g"\ntext = { en = "G", nl = "G" }\n' * 2 + PAIN + 'group = "g"\n'
        ),
        "F035",
        "group g",
    ),
    Case("na-option-without-na-text", form(CHOICE + "na_option = true\n"), "F036", "mood"),
    Case("options-on-a-vas", form(PAIN + "options = []\n"), "F037", "pain"),
    Case(
        "vas-without-anchor",
        form(PAIN.replace('anchor_high = { en = "Worst", nl = "Ergste" }\n', "")),
        "F038",
        "pain",
    ),
    Case("unknown-option-set", form(item('options = "difficulty"', type_="choice")), "F039", "x"),
    Case(
        "variant-for-unknown-respondent",
        form(PAIN + 'variants.nurse = { en = "N", nl = "N" }\n'),
        "F040",
        "pain",
    ),
    Case("no-items", header_with("respondents", "items = []\nrespondents"), "F041", None),
    Case("reserved-option-code", form(CHOICE.replace("code = 1", 'code = "na"')), "F042", "mood"),
    Case(
        "item-without-text",
        form(PAIN.replace('text = { en = "Pain?", nl = "Pijn?" }\n', "")),
        "F043",
        "pain",
    ),
    Case(
        "group-split-by-other-items",
        form(
            '\n[[groups]]\nid = "g"\ntext = { en = "G", nl = "G" }\n'
            + CHOICE
            + 'group = "g"\n'
            + PAIN
            + item("min = 0\nmax = 3")
            + 'group = "g"\n'
        ),
        "F046",
        "x",
    ),
]


def test_the_table_has_at_least_25_broken_forms_covering_most_codes() -> None:
    assert len(CASES) >= 25
    errors = {code for code, entry in CATALOGUE.items() if entry.severity is Severity.ERROR}
    untested = errors - {case.code for case in CASES}
    # F044 (unreadable file) and F045 (duplicate id across files) are tested in the loader.
    assert untested == {"F044", "F045"}


def test_the_valid_base_form_of_the_table_is_accepted() -> None:
    # Without this the broken cases could pass because the base itself was broken.
    assert parse_form(form(), "demo.toml").link_ids == ("pain",)
    assert parse_form(form(CHOICE + item("min = 0\nmax = 3")), "demo.toml").link_ids == (
        "mood",
        "x",
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_broken_form_gives_its_coded_located_problem(case: Case) -> None:
    with pytest.raises(FormProblems) as caught:
        parse_form(case.text, "forms/demo.toml")
    found = [p for p in caught.value.problems if p.code == case.code]
    assert found, [str(p) for p in caught.value.problems]
    problem = found[0]
    assert problem.item == case.item
    message = str(caught.value)
    assert "forms/demo.toml" in message
    assert f"[{case.code}]" in message
    if case.item is not None:
        assert f"item {case.item}" in message
    assert problem.fix


@pytest.mark.parametrize("case", CASES[::4], ids=[case.id for case in CASES[::4]])
def test_forms_check_on_a_broken_file_exits_non_zero_without_traceback(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "demo.toml"
    path.write_text(case.text, encoding="utf-8")
    assert main(["forms", "check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert f"[{case.code}]" in out
    assert str(path) in out
    assert "Traceback" not in out + err


def test_toml_syntax_error_names_line_and_column() -> None:
    _, problems = check_form_text('id = "x"\nversion = \n', "bad.toml")
    assert [p.code for p in problems] == ["F001"]
    assert "line 2, column" in problems[0].message


def test_several_problems_in_one_file_are_all_reported() -> None:
    text = form(
        PAIN.replace('"vas"', '"slidr"') + "initial = 3\n" + CHOICE.replace("code = 1", "code = 0")
    )
    text = text.replace('version = "1.0.0"\nkind', 'version = "one"\nkind')
    with pytest.raises(FormProblems) as caught:
        parse_form(text, "demo.toml")
    codes = sorted(p.code for p in caught.value.problems)
    assert codes == ["F006", "F020", "F022", "F023"]


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        (form(PAIN.replace('"vas"', '"vass"')), "vas"),
        (form(PAIN + "requried = true\n"), "required"),
        (
            form(
                PAIN
                + 'group = "dres"\n'
                + '\n[[groups]]\nid = "dress"\ntext = { en = "D", nl = "D" }\n'
            ),
            "dress",
        ),
        (
            form(CHOICE + item('enable_when = { question = "mod", answer = 1 }\nmin = 0\nmax = 5')),
            "mood",
        ),
        (form(header=header_with("kind", 'titel = "x"\nkind')), "title"),
        (form(kind="staf"), "staff"),
        (form(PAIN.replace('nl = "Pijn?"', 'nk = "Pijn?"')), "nl"),
    ],
    ids=["type", "item-key", "group", "enable-when", "top-level-key", "kind", "language"],
)
def test_a_likely_typo_gets_did_you_mean(text: str, suggestion: str) -> None:
    with pytest.raises(FormProblems) as caught:
        parse_form(text, "demo.toml")
    assert f"did you mean {suggestion!r}?" in str(caught.value)


def test_warnings_are_returned_apart_and_do_not_stop_a_load() -> None:
    text = form(
        '\n[[groups]]\nid = "unused"\ntext = { en = "U", nl = "U" }\n'
        + CHOICE
        + 'na_text = { en = "n/a", nl = "n.v.t." }\n'
    )
    loaded, problems = check_form_text(text, "demo.toml")
    assert loaded is not None
    assert sorted(p.code for p in problems) == ["W101", "W103"]
    assert all(p.severity is Severity.WARNING for p in problems)
    assert str(problems[0]).startswith("warning: ")


def test_optional_other_describe_text_is_allowed_in_a_patient_form_with_the_escape() -> None:
    # F033 escape: allow_text = true on an optional item.
    text = form(item("allow_text = true\nrequired = false", type_="text"))
    assert parse_form(text).item("x").type == "text"
    with pytest.raises(FormProblems, match="F033"):
        parse_form(form(item("allow_text = true", type_="text")))


def test_text_items_are_fine_in_staff_forms() -> None:
    assert parse_form(form(item("", type_="text"), kind="staff")).kind == "staff"
