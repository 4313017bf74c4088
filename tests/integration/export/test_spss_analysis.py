"""The shipped ``analysis.sps`` run in GNU PSPP reproduces the trial's efficacy analysis.

For every outcome and comparison (instruments.md §1: baseline against week 8 and against the
end of the study) PSPP's n, quartiles (SPSS HAVERAGE) and Wilcoxon signed-rank Z and p are
checked against an independent computation: the quartiles by the HAVERAGE definition written
out here, the test by ``scipy.stats.wilcoxon`` (zero differences dropped, ties corrected, no
continuity correction, asymptotic), both from the records' scores — never from the files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from epro.export.outcomes import OUTCOMES, Comparison, comparisons
from epro.export.records import PatientRecord
from epro.export.spss import spss_writer
from epro.export.spss_syntax import ZERO, change_name
from epro.forms.model import Form
from tests.helpers import spss_cases as cases
from tests.helpers.pspp_run import Output, Table, decimals, needs_pspp, number, run_pspp

stats = pytest.importorskip("scipy.stats")


@pytest.fixture(scope="module")
def patients() -> list[PatientRecord]:
    return cases.patients(cases.all_forms())


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, patients: list[PatientRecord]) -> Path:
    out = tmp_path_factory.mktemp("export")
    forms: dict[tuple[str, str], Form] = cases.all_forms()
    writer = spss_writer()
    writer.begin(out, cases.context(forms))
    for patient in patients:
        writer.add_patient(patient)
    writer.finish()
    return out / "spss"


@pytest.fixture(scope="module")
def shipped(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Output:
    """``pspp analysis.sps`` run as the syntax file says, from the folder that holds it."""
    return run_pspp(folder / "analysis.sps", folder, tmp_path_factory.mktemp("out") / "out.csv")


@pytest.fixture(scope="module")
def precise(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Output:
    """The same syntax, unchanged, included after asking PSPP for six decimals everywhere."""
    wrapper = tmp_path_factory.mktemp("wrapper") / "precise.sps"
    wrapper.write_text(
        "SET FORMAT=F16.6.\n"
        "OUTPUT MODIFY /SELECT TABLES /TABLECELLS SELECT=[SIGNIFICANCE] FORMAT=F16.6.\n"
        f"INSERT FILE='{folder / 'analysis.sps'}'.\n",
        encoding="utf-8",
    )
    return run_pspp(wrapper, folder, wrapper.with_suffix(".csv"))


def all_comparisons() -> tuple[Comparison, ...]:
    context = cases.context(cases.all_forms())
    return comparisons(context.visit_weeks, context.baseline_visit)


def pairs(
    patients: Sequence[PatientRecord], score: str, comparison: Comparison
) -> list[tuple[float, float]]:
    """(baseline, visit) of every patient with both scores, in patient order."""
    found = []
    for patient in patients:
        visits = {v.visit: v.scores for v in patient.visits}
        before = visits.get(comparison.baseline, {}).get(score)
        after = visits.get(comparison.visit, {}).get(score)
        if before is not None and after is not None:
            found.append((float(before), float(after)))
    return found


def haverage(values: Sequence[float], p: float) -> float:
    """SPSS's HAVERAGE percentile: position (n + 1)p between order statistics, ends clamped."""
    ordered = sorted(values)
    position = (len(ordered) + 1) * p
    k = math.floor(position)
    if k < 1:
        return ordered[0]
    if k >= len(ordered):
        return ordered[-1]
    return ordered[k - 1] + (position - k) * (ordered[k] - ordered[k - 1])


def close(printed: str, expected: float) -> bool:
    """``printed`` equals ``expected`` to the precision PSPP printed it with."""
    if printed == "NaN":
        return math.isnan(expected)
    return abs(number(printed) - expected) <= 0.5 * 10.0 ** -decimals(printed) + 1e-9


@dataclass
class Block:
    n: int
    quartiles: dict[str, list[str]]
    ranks: dict[str, str]
    z: str
    p: str


def pair_names(score: str, comparison: Comparison) -> tuple[str, str]:
    return f"{score}_{comparison.baseline}", f"{score}_{comparison.visit}"


def _statistics(table: Table) -> dict[str, dict[str, str]]:
    header, *rows = table.rows
    return {pair: {row[0]: row[i] for row in rows} for i, pair in enumerate(header[1:], start=1)}


def blocks(output: Output) -> dict[tuple[str, str], Block]:
    """Each outcome and comparison's tables, found by the ECHO line that opens its block."""
    found: dict[tuple[str, str], Block] = {}
    for table in output.tables:
        matched = re.search(r": (\S+) vs (\S+)$", table.echo)
        if matched is None:
            continue
        key = (matched[1], matched[2])
        block = found.setdefault(key, Block(-1, {}, {}, "", ""))
        if table.title == "Case Processing Summary":
            counts = {row[0]: int(row[1]) for row in table.rows[3:]}
            assert counts[key[0]] == counts[key[1]]
            block.n = counts[key[0]]
        elif table.title == "Percentiles":
            for row in table.rows[2:]:
                if row[1] == "Weighted Average":
                    block.quartiles[row[0]] = row[2:5]
        elif table.title == "Ranks":
            block.ranks = {row[1]: row[2] for row in table.rows[1:]}
        elif table.title == "Test Statistics":
            (result,) = _statistics(table).values()
            assert "Exact Sig. (2-tailed)" not in result
            block.z, block.p = result["Z"], result["Asymp. Sig. (2-tailed)"]
    return found


def exact_results(output: Output) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for table in output.named("Test Statistics"):
        for pair, result in _statistics(table).items():
            if "Exact Sig. (2-tailed)" in result:
                assert pair not in found
                found[pair] = result
    return found


def test_the_vas_wellbeing_comparison_has_ties_and_zero_differences(
    patients: list[PatientRecord],
) -> None:
    """The premise of the checks below: the Wilcoxon rules about zeros and ties are in play."""
    week8 = all_comparisons()[0]
    found = pairs(patients, "vas_wellbeing", week8)
    planned = [
        (float(p.visits[0].vas_wellbeing), float(p.visits[1].vas_wellbeing))  # type: ignore[arg-type]
        for p in cases.plans()
        if len(p.visits) > 1
    ]
    assert found == planned
    differences = [after - before for before, after in found]
    assert differences.count(0) >= 2
    nonzero = [abs(d) for d in differences if d]
    assert len(set(nonzero)) < len(nonzero)


@needs_pspp
@pytest.mark.parametrize("comparison", all_comparisons(), ids=lambda c: c.name)
@pytest.mark.parametrize("outcome", OUTCOMES, ids=lambda o: o.score)
def test_pspp_gives_the_n_quartiles_and_wilcoxon_test_computed_independently(
    shipped: Output,
    precise: Output,
    patients: list[PatientRecord],
    outcome: object,
    comparison: Comparison,
) -> None:
    score = outcome.score  # type: ignore[attr-defined]
    before, after = pair_names(score, comparison)
    found = pairs(patients, score, comparison)
    assert len(found) >= 5
    xs, ys = [x for x, _ in found], [y for _, y in found]
    differences = [y - x for x, y in found]
    test = stats.wilcoxon(xs, ys, zero_method="wilcox", correction=False, method="asymptotic")
    for output in (shipped, precise):
        block = blocks(output)[(before, after)]
        assert block.n == len(found)
        for name, values in ((before, xs), (after, ys)):
            for printed, p in zip(block.quartiles[name], (0.25, 0.5, 0.75), strict=True):
                assert close(printed, haverage(values, p)), (name, p, printed)
        # PSPP's differences are baseline minus visit: a negative rank is an improvement here.
        assert int(block.ranks["Negative Ranks"]) == sum(d > 0 for d in differences)
        assert int(block.ranks["Positive Ranks"]) == sum(d < 0 for d in differences)
        assert int(block.ranks["Ties"]) == differences.count(0)
        assert close(block.z, test.zstatistic), (block.z, test.zstatistic)
        assert close(block.p, test.pvalue), (block.p, test.pvalue)
    assert decimals(blocks(precise)[(before, after)].z) == 6


@needs_pspp
def test_pspp_prints_exact_p_values_for_every_outcome_and_comparison(
    shipped: Output, patients: list[PatientRecord]
) -> None:
    """Exact p: the distribution of untied ranks, checked where the differences have no ties.

    PSPP doubles the one-tailed p without capping it at 1, so its two-tailed value is compared
    capped."""
    exact = exact_results(shipped)
    checked = 0
    for comparison in all_comparisons():
        for outcome in OUTCOMES:
            result = exact[f"{change_name(outcome.score, comparison)} - {ZERO}"]
            found = pairs(patients, outcome.score, comparison)
            nonzero = [abs(y - x) for x, y in found if y != x]
            if len(set(nonzero)) < len(nonzero):
                continue
            test = stats.wilcoxon(
                [x for x, _ in found], [y for _, y in found], zero_method="wilcox", method="exact"
            )
            printed = result["Exact Sig. (2-tailed)"]
            assert abs(min(1.0, number(printed)) - test.pvalue) <= 0.5 * 10 ** -decimals(printed)
            checked += 1
    assert checked >= 3
