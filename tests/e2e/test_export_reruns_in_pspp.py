"""The export's own analysis and the SPSS syntax it ships agree, on the synthetic trial.

`analysis/efficacy.csv` is computed in Python (SciPy-free statistics, tested against SciPy);
`spss/analysis.sps` reruns the same analysis in SPSS or PSPP on `spss/analysis.sav`. Here GNU
PSPP (an independent implementation of SPSS) runs the shipped syntax on the shipped file of a
real export, and every n, median, quartile, Z and asymptotic two-tailed p it prints must equal
the export's own table, to the precision PSPP prints (instruments.md §1: baseline against week
8 and against the end of the study).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from tests.e2e.test_export_end_to_end import Outcome, outcome
from tests.helpers.pspp_run import Output, decimals, needs_pspp, number, run_pspp

__all__ = ["outcome"]


def _close(printed: str, value: str) -> bool:
    """PSPP's printed number equals the export's (unrounded) one at the printed precision."""
    if printed in ("NaN", ".") or value == "":
        return printed in ("NaN", ".", "") and value == ""
    return abs(number(printed) - float(value)) <= 0.5 * 10.0 ** -decimals(printed) + 1e-9


def _pspp_blocks(output: Output) -> dict[tuple[str, str], dict[str, str]]:
    """n, Z and asymptotic p of each pair, found by the ECHO line that opens its block."""
    import re

    found: dict[tuple[str, str], dict[str, str]] = {}
    for table in output.tables:
        matched = re.search(r": (\S+) vs (\S+)$", table.echo)
        if matched is None:
            continue
        block = found.setdefault((matched[1], matched[2]), {})
        if table.title == "Case Processing Summary":
            counts = {row[0]: row[1] for row in table.rows[3:]}
            block["n"] = counts[matched[1]]
        elif table.title == "Test Statistics":
            _header, *rows = table.rows
            values = {row[0]: row[1] for row in rows}
            block["z"], block["p"] = values["Z"], values["Asymp. Sig. (2-tailed)"]
        elif table.title == "Percentiles":
            for row in table.rows[2:]:
                if row[1] == "Weighted Average":
                    block[f"quartiles {row[0]}"] = ",".join(row[2:5])
    return found


@needs_pspp
def test_pspp_running_the_shipped_syntax_gives_the_exports_own_table(
    outcome: Outcome, tmp_path: Path
) -> None:
    spss = outcome.out / "spss"
    output = run_pspp(spss / "analysis.sps", spss, tmp_path / "pspp.csv")
    blocks = _pspp_blocks(output)
    with (outcome.out / "analysis" / "efficacy.csv").open(encoding="utf-8", newline="") as f:
        table = list(csv.DictReader(f))
    compared = 0
    for row in table:
        before = f"{row['outcome']}_{row['baseline_visit']}"
        after = f"{row['outcome']}_{row['visit']}"
        block = blocks[(before, after)]
        assert int(block["n"]) == int(row["n"]), (before, after)
        if int(row["n"]) == 0:
            continue
        q_before = block[f"quartiles {before}"].split(",")
        q_after = block[f"quartiles {after}"].split(",")
        expected_before = (row["baseline_q1"], row["baseline_median"], row["baseline_q3"])
        expected_after = (row["visit_q1"], row["visit_median"], row["visit_q3"])
        if int(row["n"]) > 2:  # PSPP interpolates towards 0 below (n+1)p < 1; SPSS does not
            assert all(map(_close, q_before, expected_before)), (before, q_before, row)
            assert all(map(_close, q_after, expected_after)), (after, q_after, row)
        if row["z"] == "" or math.isnan(float(row["z"] or "nan")):
            continue  # no non-zero difference: no test
        assert _close(block["z"], row["z"]), (before, after, block["z"], row["z"])
        assert _close(block["p"], row["p_asymptotic"]), (before, after, block["p"], row)
        compared += 1
    assert compared >= 10, "the trial should give a Wilcoxon test for most outcomes"
