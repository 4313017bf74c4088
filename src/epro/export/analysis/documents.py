"""The analysis folder's text files: the efficacy CSVs and the HTML table and report.

CSV cells hold the numbers unrounded (shortest round-trip form), so a reader gets exactly what
was computed; HTML shows them rounded for reading. Every text that reaches HTML is escaped, and
the pages carry their own style: no scripts, nothing fetched from elsewhere. Nothing here reads
a clock, so the same rows give the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from itertools import groupby
from typing import Final

from epro.export.analysis.efficacy import EfficacyRow, VisitRow
from epro.export.analysis.stats import EXACT_MAX_N, Summary
from epro.export.records import ExportContext

EFFICACY_COLUMNS: Final = (
    "outcome",
    "outcome_label",
    "comparison",
    "comparison_label",
    "baseline_visit",
    "visit",
    "n",
    "baseline_median",
    "baseline_q1",
    "baseline_q3",
    "visit_median",
    "visit_q1",
    "visit_q3",
    "n_negative",
    "n_positive",
    "n_ties",
    "rank_sum_negative",
    "rank_sum_positive",
    "z",
    "p_asymptotic",
    "p_exact",
)

VISIT_COLUMNS: Final = ("outcome", "outcome_label", "visit", "week", "n", "median", "q1", "q3")

METHODS: Final = (
    "Paired samples: the patients with the outcome at both visits. Median and quartiles as "
    "SPSS computes them by default (HAVERAGE: the p-th percentile at position (n + 1)·p, "
    "interpolated, clamped to the smallest and largest value). Wilcoxon signed-rank test on "
    "the differences visit − baseline: zero differences dropped, tied differences given their "
    "mid-rank; Z from the smaller rank sum with the ties correction and no continuity "
    "correction (as SPSS reports it, never positive); asymptotic two-tailed p from the normal "
    "distribution; exact two-tailed p from every sign assignment of the observed mid-ranks, "
    f"exact under ties, computed up to {EXACT_MAX_N} non-zero differences."
)

STYLE: Final = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 80em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; vertical-align: top; }
th { background: #eee; text-align: left; }
td.number { text-align: right; white-space: nowrap; }
p.note { font-size: 0.85em; color: #444; }
figure { margin: 1.5em 0; }
figure img { width: 100%; max-width: 70em; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #444; }
"""


def _number(value: float | int | None) -> str:
    """A CSV cell: the number unrounded, empty when there is none."""
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else repr(float(value))


def _csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def efficacy_csv(rows: Sequence[EfficacyRow]) -> str:
    """One line per outcome × comparison."""
    lines = []
    for row in rows:
        r, test = row.result, row.result.test
        lines.append(
            [
                row.outcome.score,
                row.outcome.label,
                row.comparison.name,
                row.comparison.label,
                row.comparison.baseline,
                row.comparison.visit,
                _number(r.n),
                *(_number(x) for x in (r.baseline.median, r.baseline.q1, r.baseline.q3)),
                *(_number(x) for x in (r.visit.median, r.visit.q1, r.visit.q3)),
                _number(test.n_negative),
                _number(test.n_positive),
                _number(test.n_ties),
                _number(test.rank_sum_negative),
                _number(test.rank_sum_positive),
                _number(test.z),
                _number(test.p_asymptotic),
                _number(test.p_exact),
            ]
        )
    return _csv(EFFICACY_COLUMNS, lines)


def visits_csv(rows: Sequence[VisitRow]) -> str:
    """One line per outcome × visit."""
    lines = [
        [
            row.outcome.score,
            row.outcome.label,
            row.visit,
            str(row.week),
            _number(row.summary.n),
            _number(row.summary.median),
            _number(row.summary.q1),
            _number(row.summary.q3),
        ]
        for row in rows
    ]
    return _csv(VISIT_COLUMNS, lines)


def shown(value: float | None, decimals: int = 2) -> str:
    """A number for reading: rounded, trailing zeros dropped, a true minus sign."""
    if value is None:
        return "—"
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace("-", "−")


def _z(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}".replace("-", "−")


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return "< 0.001" if value < 0.0005 else f"{value:.3f}"


def _median_iqr(summary: Summary) -> str:
    if summary.median is None:
        return "—"
    return f"{shown(summary.median)} ({shown(summary.q1)}–{shown(summary.q3)})"


def _exact_p(row: EfficacyRow) -> str:
    test = row.result.test
    if test.p_exact is None and test.n_ranked > EXACT_MAX_N:
        return f"— (n &gt; {EXACT_MAX_N})"
    return _p(test.p_exact)


def efficacy_table(rows: Sequence[EfficacyRow]) -> str:
    """The efficacy table as an HTML ``table``."""
    head = (
        "<tr><th>Outcome</th><th>Comparison</th><th>n</th>"
        "<th>Baseline median (Q1–Q3)</th><th>Visit median (Q1–Q3)</th>"
        "<th>Z</th><th>p (asymptotic)</th><th>p (exact)</th></tr>"
    )
    body = []
    for row in rows:
        r, test = row.result, row.result.test
        body.append(
            "<tr>"
            f"<td>{escape(row.outcome.label)}</td>"
            f"<td>{escape(row.comparison.baseline)} vs {escape(row.comparison.visit)}: "
            f"{escape(row.comparison.label)}</td>"
            f'<td class="number">{r.n}</td>'
            f'<td class="number">{escape(_median_iqr(r.baseline))}</td>'
            f'<td class="number">{escape(_median_iqr(r.visit))}</td>'
            f'<td class="number">{escape(_z(test.z))}</td>'
            f'<td class="number">{escape(_p(test.p_asymptotic))}</td>'
            f'<td class="number">{_exact_p(row)}</td>'
            "</tr>"
        )
    return "<table>\n" + head + "\n" + "\n".join(body) + "\n</table>\n"


def visits_table(rows: Sequence[VisitRow]) -> str:
    """Each outcome's median (Q1–Q3) and n at every visit, as an HTML ``table``."""
    visits: list[tuple[str, int]] = []
    for row in rows:
        if (row.visit, row.week) not in visits:
            visits.append((row.visit, row.week))
    head = "<tr><th>Outcome</th>" + "".join(
        f"<th>{escape(code)} (week {escape(shown(week))})</th>" for code, week in visits
    )
    lines = []
    for _, group in groupby(rows, key=lambda row: row.outcome.score):
        cells = list(group)
        lines.append(
            f"<tr><td>{escape(cells[0].outcome.label)}</td>"
            + "".join(
                f'<td class="number">{escape(_median_iqr(row.summary))}<br>n = {row.summary.n}</td>'
                for row in cells
            )
            + "</tr>"
        )
    return "<table>\n" + head + "</tr>\n" + "\n".join(lines) + "\n</table>\n"


@dataclass(frozen=True, slots=True)
class FigureLink:
    """One page of figures, by its paths relative to the analysis folder."""

    page: int
    pages: int
    svg: str
    png: str
    first_code: str
    last_code: str


def _header(context: ExportContext, patients: int) -> str:
    identified = "de-identified" if context.deidentified else "identified"
    return (
        f"<p>Study {escape(context.study_id)}, protocol version "
        f"{escape(context.study_version)}; export of {escape(context.created_at.isoformat())}; "
        f"{patients} patients; {identified}.</p>\n"
    )


def html_page(title: str, body: str) -> str:
    """A whole HTML document with its own style."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n{body}</body>\n</html>\n"
    )


def efficacy_page(context: ExportContext, patients: int, rows: Sequence[EfficacyRow]) -> str:
    """``efficacy.html``: the table with its methods."""
    body = (
        _header(context, patients)
        + efficacy_table(rows)
        + f'<p class="note">{escape(METHODS)}</p>\n'
    )
    return html_page("Efficacy: baseline against later visits", body)


def report_page(
    context: ExportContext,
    patients: int,
    rows: Sequence[EfficacyRow],
    visits: Sequence[VisitRow],
    figures: Sequence[FigureLink],
) -> str:
    """``report.html``: the tables and every figure page (SVG shown, PNG linked)."""
    parts = [
        _header(context, patients),
        "<h2>Efficacy</h2>\n",
        efficacy_table(rows),
        f'<p class="note">{escape(METHODS)}</p>\n',
        "<h2>Every visit</h2>\n",
        '<p class="note">Median (Q1–Q3) and n over every patient with the outcome at the '
        "visit.</p>\n",
        visits_table(visits),
        "<h2>Patients over the visits</h2>\n",
        '<p class="note">A row per patient and a panel per outcome: the outcome at each visit '
        "it was measured, x = the visit's week (a tick at every visit), the range above each "
        "column shared by all its panels; dashed orange lines mark the patient's infusions "
        "(the first at baseline, repeats where the clinician recorded one).</p>\n",
    ]
    for figure in figures:
        caption = (
            f"Patients {figure.first_code} to {figure.last_code} "
            f"(page {figure.page} of {figure.pages})"
        )
        parts.append(
            f'<figure><img src="{escape(figure.svg)}" alt="{escape(caption)}">'
            f"<figcaption>{escape(caption)} "
            f'(<a href="{escape(figure.png)}">PNG</a>)</figcaption></figure>\n'
        )
    if not figures:
        parts.append("<p>No patients, so no figures.</p>\n")
    return html_page("Efficacy analysis report", "".join(parts))
