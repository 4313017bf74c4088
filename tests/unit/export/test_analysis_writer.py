"""The export's analysis folder (DESIGN §9: the efficacy table and per-patient figures).

The writer is fed hand-built patient records; its CSV numbers are checked against the
statistics run on values taken from the same records here, its figures are read back as PNG
and SVG, and its report is checked to show the table and every figure, with nothing fetched
from elsewhere and every text escaped.
"""

from __future__ import annotations

import csv
import io
import math
import re
import struct
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from epro.export.analysis import AnalysisWriter, analysis_writer
from epro.export.analysis.figures import INFUSION_COLOUR, ROWS
from epro.export.analysis.stats import compare_paired, summarise
from epro.export.outcomes import OUTCOMES, comparisons
from epro.export.records import (
    ExportContext,
    ExportResponse,
    FormatWriter,
    PatientRecord,
    VisitRecord,
)
from epro.scoring.result import ScoreValue

WEEKS = {"V0": -12, "V1": 0, "V2": 4, "V3": 8, "V4": 12, "V5": 16, "V6": 26, "V7": 39, "V8": 52}
CREATED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def context() -> ExportContext:
    return ExportContext(
        forms={},
        visit_weeks=WEEKS,
        infusion_visits=("V1", "V3", "V5"),
        baseline_visit="V1",
        study_id="MSC-JIA-DEMO",
        study_version="1.0.0",
        deidentified=True,
        created_at=CREATED,
    )


def response(code: str, visit: str, form: str, answers: Mapping[str, bool | int]) -> ExportResponse:
    when = CREATED + timedelta(weeks=WEEKS[visit])
    return ExportResponse(
        response_id=f"{code}-{visit}-{form}",
        site="DEMO",
        device_id="kiosk-1",
        patient=code,
        visit=visit,
        form_id=form,
        form_version="1.1.0",
        form_sha256="0" * 64,
        respondent="clinician",
        language="en",
        started_at=when,
        submitted_at=when,
        received_at=when,
        receipt_id=f"r-{code}-{visit}-{form}",
        out_of_window=False,
        out_of_window_reason=None,
        envelope_sha256="0" * 64,
        answers=answers,
    )


def record(
    code: str,
    scores: Mapping[str, Mapping[str, ScoreValue]],
    infusion_given: Mapping[str, bool] | None = None,
) -> PatientRecord:
    """A patient with ``scores`` per visit and the clinician's ``infusion_given`` per visit."""
    visits = []
    for visit, visit_scores in scores.items():
        responses = []
        if infusion_given and visit in infusion_given:
            responses.append(
                response(code, visit, "clinician", {"infusion_given": infusion_given[visit]})
            )
        visits.append(
            VisitRecord(
                visit,
                (CREATED + timedelta(weeks=WEEKS[visit])).date(),
                9.5,
                responses,
                visit_scores,
            )
        )
    return PatientRecord(code, "DEMO", "2015-06", date(2025, 3, 1), visits, [])


# Twelve patients: VAS well-being with ties and zero changes, a CHAQ in eighths, one patient
# without week 8, one whose score is null at the end, one with a yes/no where a number belongs.
WELLBEING: dict[str, list[float | None]] = {
    "V1": [75, 80, 62, 90, 55, 70, 85, 60, 77, 68, 72, 81],
    "V3": [56, 80, 50, 60, 55, 72, 45, 62, None, 50, 60, 79],
    "V8": [40, 70, 50, 61, 55, 72, 30, None, 70, 50, 61, 80],
}
CHAQ: dict[str, list[float | bool | None]] = {
    "V1": [1.5, 2.0, 0.875, 1.25, 2.5, 0.5, 1.0, 1.75, 1.125, 0.25, 2.25, 1.375],
    "V3": [1.0, 1.5, 0.875, 0.75, 2.0, 0.625, 1.5, 1.25, None, 0.25, 2.0, 1.0],
    "V8": [0.5, 1.5, 0.875, 0.5, 1.875, 0.625, 1.5, 1.0, 1.0, 0.25, True, 1.0],
}


def trial() -> list[PatientRecord]:
    patients = []
    for i in range(12):
        code = f"DEMO-{i + 1:03d}"
        scores: dict[str, dict[str, ScoreValue]] = {"V0": {"esr": 30.0}}
        for visit in ("V1", "V3", "V8"):
            wellbeing = WELLBEING[visit][i]
            chaq = CHAQ[visit][i]
            if wellbeing is None and chaq is None:
                continue  # no week-8 visit at all for this patient
            scores[visit] = {"vas_wellbeing": wellbeing, "chaq_di": chaq, "esr": 20.0 + i}
        infusions = {"V1": True, "V3": i % 3 == 0, "V5": i == 0}
        scores.setdefault("V5", {"esr": 25.0})
        patients.append(record(code, scores, infusions))
    return patients


def run(out: Path, patients: list[PatientRecord]) -> list[Path]:
    writer = AnalysisWriter()
    writer.begin(out, context())
    for patient in patients:
        writer.add_patient(patient)
    return [f.path for f in writer.finish()]


def rows_of(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def pairs(table: Mapping[str, list[float | bool | None]], later: str) -> list[tuple[float, float]]:
    """The patients with a number at baseline and ``later``, taken straight from the fixture."""
    found = []
    for b, v in zip(table["V1"], table[later], strict=True):
        if isinstance(b, bool) or isinstance(v, bool) or b is None or v is None:
            continue
        found.append((float(b), float(v)))
    return found


def number(cell: str) -> float | None:
    return None if cell == "" else float(cell)


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, list[Path]]:
    files = run(tmp_path, trial())
    return tmp_path / "analysis", files


def test_the_writer_is_a_format_writer_for_the_export() -> None:
    """The integrator wires ``analysis_writer()`` into the export's list of writers."""
    writer: FormatWriter = analysis_writer()
    assert isinstance(writer, AnalysisWriter)


@pytest.mark.parametrize(
    ("score", "table"), [("vas_wellbeing", WELLBEING), ("chaq_di", CHAQ)], ids=["vas", "chaq"]
)
@pytest.mark.parametrize(("name", "later"), [("week8", "V3"), ("end", "V8")])
def test_efficacy_csv_holds_the_statistics_of_the_paired_values(
    written: tuple[Path, list[Path]],
    score: str,
    table: Mapping[str, list[float | bool | None]],
    name: str,
    later: str,
) -> None:
    """DESIGN §9: baseline vs week 8 and vs end of study, patients with both values only."""
    folder, _ = written
    line = next(
        r
        for r in rows_of(folder / "efficacy.csv")
        if (r["outcome"], r["comparison"]) == (score, name)
    )
    expected = compare_paired(pairs(table, later))
    assert (line["baseline_visit"], line["visit"]) == ("V1", later)
    assert int(line["n"]) == expected.n
    shown = [number(line[c]) for c in ("baseline_median", "baseline_q1", "baseline_q3")]
    assert shown == [expected.baseline.median, expected.baseline.q1, expected.baseline.q3]
    shown = [number(line[c]) for c in ("visit_median", "visit_q1", "visit_q3")]
    assert shown == [expected.visit.median, expected.visit.q1, expected.visit.q3]
    test = expected.test
    assert [int(line[c]) for c in ("n_negative", "n_positive", "n_ties")] == [
        test.n_negative,
        test.n_positive,
        test.n_ties,
    ]
    assert number(line["z"]) == test.z
    assert number(line["p_asymptotic"]) == test.p_asymptotic
    assert number(line["p_exact"]) == test.p_exact


def test_efficacy_csv_lists_every_outcome_for_both_comparisons(
    written: tuple[Path, list[Path]],
) -> None:
    """Every outcome of the trial, each compared at week 8 and at the end, in outcome order."""
    folder, _ = written
    found = [(r["outcome"], r["comparison"]) for r in rows_of(folder / "efficacy.csv")]
    names = [c.name for c in comparisons(WEEKS, "V1")]
    assert names == ["week8", "end"]
    assert found == [(o.score, n) for o in OUTCOMES for n in names]


def test_an_outcome_nobody_has_gives_n_zero_and_empty_statistics(
    written: tuple[Path, list[Path]],
) -> None:
    """No pairs: n = 0 and empty cells, never a made-up 0 or 1."""
    folder, _ = written
    line = next(r for r in rows_of(folder / "efficacy.csv") if r["outcome"] == "jadas71")
    assert line["n"] == "0"
    assert all(line[c] == "" for c in ("baseline_median", "z", "p_asymptotic", "p_exact"))


def test_by_visit_csv_summarises_every_patient_with_the_value(
    written: tuple[Path, list[Path]],
) -> None:
    """Each visit's n and median take every patient measured there, paired or not."""
    folder, _ = written
    lines = {(r["outcome"], r["visit"]): r for r in rows_of(folder / "efficacy_by_visit.csv")}
    assert len(lines) == len(OUTCOMES) * len(WEEKS)
    for visit in ("V1", "V3", "V8"):
        values = [float(v) for v in WELLBEING[visit] if v is not None]
        expected = summarise(values)
        line = lines[("vas_wellbeing", visit)]
        assert int(line["n"]) == expected.n
        assert [number(line[c]) for c in ("median", "q1", "q3")] == [
            expected.median,
            expected.q1,
            expected.q3,
        ]
    esr_v0 = lines[("esr", "V0")]
    assert (esr_v0["n"], esr_v0["median"], esr_v0["week"]) == ("12", "30.0", "-12")


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG, after checking its signature and every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, size, chunks = 8, (0, 0), []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        chunks.append(kind)
        position += 12 + length
    assert chunks[0] == b"IHDR"
    assert chunks[-1] == b"IEND"
    assert b"IDAT" in chunks
    return size


def test_figures_are_valid_png_and_svg_one_page_per_group_of_patients(
    written: tuple[Path, list[Path]],
) -> None:
    """Per-patient trajectories, paginated: 12 patients at 10 a page make two pages."""
    folder, files = written
    figures = sorted(p for p in files if p.parts[1] == "figures")
    stems = sorted({p.with_suffix("").name for p in figures})
    assert stems == ["patients_001", "patients_002"]
    assert math.ceil(12 / ROWS) == 2
    for stem in stems:
        png = (folder / "figures" / f"{stem}.png").read_bytes()
        width, height = _png_size(png)
        assert width > height > 400  # a landscape page
        assert b"Software" not in png  # no version tag: same bytes with any matplotlib
        root = ET.parse(folder / "figures" / f"{stem}.svg").getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        text = (folder / "figures" / f"{stem}.svg").read_text(encoding="utf-8")
        assert "dc:date" not in text
        assert "Matplotlib v" not in text


def _infusion_marks(svg: Path) -> int:
    """The pieces of the dashed infusion line: one per infusion per outcome panel."""
    text = svg.read_text(encoding="utf-8")
    paths = re.findall(r'<path d="([^"]*)"[^>]*style="([^"]*)"', text)
    marks = [d for d, style in paths if f"stroke: {INFUSION_COLOUR}" in style]
    assert len(marks) == 1
    return str(marks[0]).count("M ")


def test_infusions_are_marked_at_baseline_always_and_later_when_the_clinician_says_so(
    tmp_path: Path,
) -> None:
    """instruments.md §4.1: infusion at V1, repeats at V3/V5 when infusion_given is true."""
    scores = {visit: {"vas_pain": 10} for visit in WEEKS}
    patients = [
        record("DEMO-001", scores, {"V3": True, "V5": False}),
        record("DEMO-002", scores),
        # infusion_given at a visit that is not an infusion visit is not an infusion.
        record("DEMO-003", scores, {"V2": True, "V5": True}),
    ]
    run(tmp_path, patients)
    marks = _infusion_marks(tmp_path / "analysis" / "figures" / "patients_001.svg")
    # V1 + V3, V1, V1 + V5: five infusions, each marked in every outcome's panel.
    assert marks == 5 * len(OUTCOMES)


def test_report_holds_the_table_and_references_every_figure(
    written: tuple[Path, list[Path]],
) -> None:
    """One self-contained report.html: the efficacy table and every figure page."""
    folder, files = written
    report = (folder / "report.html").read_text(encoding="utf-8")
    efficacy = (folder / "efficacy.html").read_text(encoding="utf-8")
    table = efficacy[efficacy.index("<table>") : efficacy.index("</table>") + len("</table>")]
    assert table in report
    assert "VAS well-being (0–100)" in table
    referenced = set(re.findall(r'(?:src|href)="([^"]+)"', report))
    figures = {p.relative_to("analysis").as_posix() for p in files if p.parts[1] == "figures"}
    assert figures
    assert referenced == figures
    assert all((folder / name).is_file() for name in referenced)


def test_report_and_table_have_no_scripts_nor_anything_from_elsewhere(
    written: tuple[Path, list[Path]],
) -> None:
    """No scripts, no external assets: the report opens offline, as the data stay offline."""
    folder, _ = written
    for name in ("report.html", "efficacy.html"):
        text = (folder / name).read_text(encoding="utf-8").lower()
        assert "<script" not in text
        assert "javascript:" not in text
        assert "http://" not in text
        assert "https://" not in text
        assert "@import" not in text


def test_every_text_in_the_report_is_escaped(tmp_path: Path) -> None:
    """A study code is never markup, whatever characters it holds."""
    scores = {"V1": {"vas_pain": 10}, "V3": {"vas_pain": 5}}
    run(tmp_path, [record('DEMO-<b>"&', scores)])
    report = (tmp_path / "analysis" / "report.html").read_text(encoding="utf-8")
    assert "<b>" not in report
    assert "DEMO-&lt;b&gt;&quot;&amp;" in report


def test_the_same_records_give_the_same_bytes(tmp_path: Path) -> None:
    """Deterministic export: CSV, HTML and both figure formats are byte-identical."""
    first = run(tmp_path / "one", trial())
    second = run(tmp_path / "two", trial())
    assert first == second
    for path in first:
        assert (tmp_path / "one" / path).read_bytes() == (tmp_path / "two" / path).read_bytes()


def test_pages_of_an_earlier_export_into_the_same_folder_are_replaced(tmp_path: Path) -> None:
    """The figures folder holds exactly the pages the report shows."""
    run(tmp_path, trial())  # two pages
    run(tmp_path, trial()[:3])  # one page
    pages = sorted(p.name for p in (tmp_path / "analysis" / "figures").iterdir())
    assert pages == ["patients_001.png", "patients_001.svg"]


def test_no_patients_give_empty_tables_and_no_figures(tmp_path: Path) -> None:
    """An export without patients still writes its tables, with n = 0 throughout."""
    files = run(tmp_path, [])
    assert not [p for p in files if p.parts[1] == "figures"]
    lines = rows_of(tmp_path / "analysis" / "efficacy.csv")
    assert len(lines) == 2 * len(OUTCOMES)
    assert {line["n"] for line in lines} == {"0"}
    assert "No patients" in (tmp_path / "analysis" / "report.html").read_text(encoding="utf-8")


def test_written_files_are_listed_relative_to_the_output_folder(
    written: tuple[Path, list[Path]],
) -> None:
    """The manifest lists what the writer made, each path under analysis/."""
    folder, files = written
    names = {p.as_posix() for p in files}
    for name in ("efficacy.csv", "efficacy_by_visit.csv", "efficacy.html", "report.html"):
        assert f"analysis/{name}" in names
    on_disk = {p.relative_to(folder.parent).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert names == on_disk
