"""``analysis.sps``: SPSS syntax that reruns the trial's efficacy analysis on ``analysis.sav``.

For every outcome of :data:`~epro.export.outcomes.OUTCOMES` and every comparison of
:func:`~epro.export.outcomes.comparisons` it asks for the number of patients with both values,
the quartiles at both visits (``EXAMINE … /PERCENTILES(25,50,75)=HAVERAGE``, SPSS's
definition, on the patients with both values) and the Wilcoxon signed-rank test
(``NPAR TESTS /WILCOXON … (PAIRED)``: zero differences dropped, ties corrected, no continuity
correction, asymptotic two-tailed p — SPSS's defaults). A last section asks for exact p values
(``/METHOD=EXACT``), which PSPP computes and SPSS computes with its Exact Tests option.

The same syntax runs in SPSS and GNU PSPP, and does not depend on the data. ``TIMER(n)`` is
left out of ``/METHOD=EXACT`` on purpose: PSPP 1.6 then prints nothing for the whole command.
"""

from __future__ import annotations

from collections.abc import Sequence

from epro.export.outcomes import OUTCOMES, Comparison, Outcome, comparisons
from epro.export.records import ExportContext
from epro.export.spss_dictionary import AnalysisTable, analysis_name


def _comment(*lines: str) -> list[str]:
    """One comment over several lines: SPSS ends it at the first line ending with a period."""
    if any(line.endswith(".") for line in lines):
        raise ValueError("only the last line of a comment may end with a period")
    *body, last = lines
    return [f"* {line}" if n == 0 else f"  {line}" for n, line in enumerate([*body, last + "."])]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: A variable of zeros: each test pairs a change with it, so that the change PSPP or SPSS
#: ranks is the rounded one computed below, not a difference of two binary fractions.
ZERO = "epro_zero"
#: Changes are rounded to this multiple before they are ranked, as the export's own analysis
#: rounds them: a score such as cJADAS10 is a sum of tenths, which binary floating point holds
#: only approximately, so two equal changes could otherwise differ in their last bit and count
#: as two ranks (or a zero change as a tiny non-zero one).
CHANGE_STEP = "1E-10"


def change_name(score: str, comparison: Comparison) -> str:
    """The variable holding baseline minus visit, rounded (``d_vas_wellbeing_V3``)."""
    return f"d_{score}_{comparison.visit}"


def _changes(found: Sequence[Comparison]) -> list[str]:
    lines = [
        "",
        *_comment(
            "Each change (baseline minus visit) rounded to a multiple of 1E-10, the",
            "rounding the export's own analysis uses, so that equal changes tie and no",
            "change of zero looks like a tiny one; each test pairs a change with zero",
        ),
        f"COMPUTE {ZERO} = 0.",
    ]
    for comparison in found:
        for outcome in OUTCOMES:
            before = analysis_name(outcome.score, comparison.baseline)
            after = analysis_name(outcome.score, comparison.visit)
            name = change_name(outcome.score, comparison)
            lines.append(f"COMPUTE {name} = RND({before} - {after}, {CHANGE_STEP}).")
    return lines


def _block(outcome: Outcome, comparison: Comparison) -> list[str]:
    before = analysis_name(outcome.score, comparison.baseline)
    after = analysis_name(outcome.score, comparison.visit)
    change = change_name(outcome.score, comparison)
    title = f"{outcome.label}, {comparison.label}: {before} vs {after}"
    return [
        "",
        f"ECHO {_quote(title)}.",
        f"EXAMINE VARIABLES={before} {after}",
        "  /PLOT=NONE",
        "  /STATISTICS=NONE",
        "  /PERCENTILES(25,50,75)=HAVERAGE",
        "  /MISSING=LISTWISE.",
        f"NPAR TESTS /WILCOXON={change} WITH {ZERO} (PAIRED).",
    ]


def _exact(found: Sequence[Comparison]) -> list[str]:
    lines = [
        "",
        *_comment(
            "Exact p values of the same tests. SPSS needs its Exact Tests option for",
            "these; PSPP computes them itself. The exact distribution is that of",
            "untied ranks, so with ties among the differences it is an approximation",
        ),
    ]
    for comparison in found:
        changes = " ".join(change_name(o.score, comparison) for o in OUTCOMES)
        zeros = " ".join(ZERO for _ in OUTCOMES)
        lines += [
            "",
            f"ECHO {_quote('Exact Wilcoxon signed-rank tests, ' + comparison.label)}.",
            f"NPAR TESTS /WILCOXON={changes}",
            f"  WITH {zeros} (PAIRED)",
            "  /METHOD=EXACT.",
        ]
    return lines


def analysis_syntax(context: ExportContext) -> str:
    """The text of ``analysis.sps`` for this study's protocol."""
    found = comparisons(context.visit_weeks, context.baseline_visit)
    lines = [
        "* Encoding: UTF-8.",
        *_comment(
            f"The efficacy analysis of study {context.study_id} (protocol",
            f"{context.study_version}), rerun on {AnalysisTable.file_name}: for each outcome",
            "and comparison the number of patients with both values, the quartiles at",
            "both visits on those patients (HAVERAGE), and the Wilcoxon signed-rank test",
            "(asymptotic, two-tailed, ties corrected, no continuity correction)",
        ),
        *_comment(
            "The data file is read from the current folder: run this syntax from the",
            "folder that holds both files. GNU PSPP: pspp analysis.sps, or",
            "pspp -O format=csv -o results.csv analysis.sps for the tables as CSV. SPSS:",
            "run CD 'that folder' first, or INSERT FILE='analysis.sps' CD=YES",
        ),
        "",
        "PRESERVE.",
        # Names, not labels, head the tables: a name says outcome and visit in one word.
        "SET TVARS=NAMES.",
        f"GET FILE={_quote(AnalysisTable.file_name)}.",
        *_changes(found),
    ]
    for comparison in found:
        lines += ["", *_comment(f"Baseline ({comparison.baseline}) against {comparison.visit}")]
        for outcome in OUTCOMES:
            lines += _block(outcome, comparison)
    lines += _exact(found)
    lines += ["", "RESTORE.", ""]
    return "\n".join(lines)
