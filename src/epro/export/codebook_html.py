"""``codebook.html``: the codebook as one page a person can read, print or mail.

Self-contained (styles inline, no scripts, no links out), and every text escaped with the
standard library's :func:`html.escape`, since labels come from form files and reasons from
people. The page is built from the same :class:`~epro.export.codebook.Variable` list as
``codebook.csv``, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, Final

from epro.export import csv_cells as cell
from epro.export.records import MISSING_CODES, MISSING_LABELS, ExportContext

if TYPE_CHECKING:
    from epro.export.codebook import Variable

#: What each file is, in one sentence, in the order the page lists them.
FILE_NOTES: Final = {
    "long.csv": (
        "One row per answerable item of every response, valid and entered in error, in each "
        "patient's submission order."
    ),
    "wide.csv": (
        "One row per patient and visit, valid responses only; a block of columns per form and "
        "respondent. When a form was validly submitted twice for one respondent at a visit, "
        "the row holds the last submitted, the one the scores are computed from. An answer "
        "column reads not_collected when the form was not submitted for that respondent at "
        "that visit, and also when the version submitted has no such item or option."
    ),
    "scores.csv": "One row per patient and visit; an empty cell is a null score.",
    "score_notes.csv": "One row per empty cell of scores.csv: why the score is null.",
}

_READING: Final = (
    "UTF-8 without a byte-order mark, comma-separated, one line per row.",
    "Whole numbers are written without a decimal point, other numbers with as many digits as "
    "they need; yes/no as 1/0.",
    "Dates as YYYY-MM-DD; times in UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ.",
    "A checklist gives one 0/1 column per option in wide.csv, and its ticked codes in option "
    "order joined by ';' in long.csv.",
    "A missing answer is a word, never an empty cell; formats that need numbers (SPSS) "
    "use the numeric codes below instead.",
)

_DEIDENTIFIED: Final = (
    "yes: dates shifted, no free text (no text items, no data manager's status reasons)"
)

_STYLE: Final = """
body { font-family: sans-serif; margin: 2em; color: #111; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #999; padding: 0.25em 0.5em; vertical-align: top; text-align: left; }
th { background: #eee; }
code { font-size: 0.95em; }
"""

_HEADINGS: Final = (
    "Variable",
    "Label",
    "Form",
    "Respondent",
    "Versions",
    "Type",
    "Measure",
    "Codes",
    "Missing",
    "Empty cell",
    "Rule",
)


def _cells(values: Iterable[str], tag: str = "td") -> str:
    return "".join(f"<{tag}>{value}</{tag}>" for value in values)


def _lines(items: Iterable[str]) -> str:
    return "<br>".join(escape(item) for item in items)


def _variable_row(variable: Variable) -> str:
    rule = escape(variable.rule)
    if variable.definition:
        rule += f"<br>{escape(variable.definition)}"
    values = [
        f"<code>{escape(variable.name)}</code>",
        escape(variable.label),
        escape(variable.form),
        escape(variable.respondent),
        escape(", ".join(variable.versions)),
        escape(variable.type),
        escape(str(variable.measure)),
        _lines(f"{code} = {label}" for code, label in variable.codes),
        _lines(f"{word} ({MISSING_CODES[word]})" for word in variable.missing),
        escape(variable.empty),
        rule,
    ]
    return f"<tr>{_cells(values)}</tr>"


def _file_section(name: str, found: Sequence[Variable]) -> str:
    rows = "\n".join(_variable_row(variable) for variable in found)
    note = escape(FILE_NOTES.get(name, ""))
    return (
        f'<h2 id="{escape(name)}">{escape(name)}</h2>\n<p>{note}</p>\n'
        f"<table>\n<tr>{_cells(_HEADINGS, 'th')}</tr>\n{rows}\n</table>"
    )


def _missing_table() -> str:
    rows = "\n".join(
        f"<tr>{_cells([escape(str(word)), str(code), escape(MISSING_LABELS[word])])}</tr>"
        for word, code in MISSING_CODES.items()
    )
    heads = _cells(("Word in the CSV files", "Numeric code (SPSS)", "Meaning"), "th")
    return f"<table>\n<tr>{heads}</tr>\n{rows}\n</table>"


def codebook_html(context: ExportContext, found: Sequence[Variable]) -> str:
    """The whole page; the same context and variables always give the same text."""
    files: dict[str, list[Variable]] = {}
    for variable in found:
        files.setdefault(variable.file, []).append(variable)
    study = f"{context.study_id} {context.study_version}"
    facts = [
        f"Study: {study}",
        f"Export made: {cell.moment(context.created_at)}",
        "De-identified: " + (_DEIDENTIFIED if context.deidentified else "no"),
    ]
    contents = "".join(
        f'<li><a href="#{escape(name)}">{escape(name)}</a> ({len(items)} variables)</li>'
        for name, items in files.items()
    )
    reading = "".join(f"<li>{escape(line)}</li>" for line in _READING)
    sections = "\n".join(_file_section(name, items) for name, items in files.items())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Codebook: {escape(study)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Codebook: {escape(study)}</h1>
<p>{_lines(facts)}</p>
<ul>{contents}</ul>
<h2>Reading the files</h2>
<ul>{reading}</ul>
<h2>Missing answers</h2>
{_missing_table()}
{sections}
</body>
</html>
"""
