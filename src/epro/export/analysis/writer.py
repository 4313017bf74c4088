"""The export's ``analysis/`` folder: the efficacy table, its report and per-patient figures.

:class:`AnalysisWriter` is one of the export's format writers. Per patient it keeps only the
value of every reported outcome at every visit and the visits with an infusion (a hundred-odd
numbers), and at the end writes, under ``DIR/analysis/``:

* ``efficacy.csv`` and ``efficacy.html``: every outcome × comparison (baseline against week 8
  and against the end of the study, :mod:`epro.export.outcomes`) with n, median (Q1–Q3) at
  both visits, Z, asymptotic and exact p (:mod:`.stats`);
* ``efficacy_by_visit.csv``: each outcome's n, median and quartiles at every visit;
* ``figures/patients_<page>.png`` and ``.svg``: pages of per-patient trajectories, a row of
  panels per patient, one per outcome (:mod:`.figures`);
* ``report.html``: both tables and every figure page, the SVGs linked relatively.

Infusions: the protocol gives every patient the first infusion at the first infusion visit
(V1); a later one (V3, V5) is marked when that visit's clinician response says
``infusion_given`` is true.
"""

from __future__ import annotations

import math
from array import array
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from epro.export.analysis.documents import (
    FigureLink,
    efficacy_csv,
    efficacy_page,
    report_page,
    visits_csv,
)
from epro.export.analysis.efficacy import efficacy_rows, visit_rows
from epro.export.analysis.figures import (
    ROWS,
    Column,
    PageJob,
    PanelPatient,
    draw_page,
    page_count,
    value_range,
)
from epro.export.outcomes import OUTCOMES, comparisons
from epro.export.records import (
    ExportContext,
    JobRunner,
    PatientRecord,
    VisitRecord,
    WrittenFile,
    run_here,
)
from epro.scoring.result import ScoreValue

FOLDER: Final = "analysis"
CLINICIAN_FORM: Final = "clinician"
INFUSION_ITEM: Final = "infusion_given"


def _value(score: ScoreValue) -> float:
    """A score as an outcome value; NaN when it is null or not a number."""
    # A yes/no is an int to Python but never an outcome value.
    if score is None or isinstance(score, bool):
        return math.nan
    value = float(score)
    return value if math.isfinite(value) else math.nan


def _infusion_recorded(visit: VisitRecord) -> bool:
    return any(
        response.form_id == CLINICIAN_FORM and response.answers.get(INFUSION_ITEM) is True
        for response in visit.responses
    )


class AnalysisRenderer:
    """A patient's outcome values and infusion visits, in any process (a PatientRenderer)."""

    def __init__(self, context: ExportContext) -> None:
        self._context = context
        self._visits = list(context.visit_weeks)

    def render(self, patient: PatientRecord) -> tuple[array[float], bytes, str]:
        """The outcomes × visits values, a 0/1 per visit for an infusion, and the code."""
        context = self._context
        by_visit = {visit.visit: visit for visit in patient.visits}
        values = array("d")
        for outcome in OUTCOMES:
            for code in self._visits:
                visit = by_visit.get(code)
                values.append(
                    math.nan if visit is None else _value(visit.scores.get(outcome.score))
                )
        first_infusion = context.infusion_visits[0] if context.infusion_visits else None
        infusions = bytearray()
        for code in self._visits:
            visit = by_visit.get(code)
            given = code == first_infusion or (
                code in context.infusion_visits and visit is not None and _infusion_recorded(visit)
            )
            infusions.append(1 if given else 0)
        return values, bytes(infusions), patient.code


class AnalysisWriter:
    """Collects every patient's outcome values, then writes the analysis folder."""

    def __init__(self) -> None:
        self._out: Path | None = None
        self._context: ExportContext | None = None
        self._visits: list[str] = []
        self._codes: list[str] = []
        # Flat, patient after patient: the outcomes × visits values, and a flag per visit.
        self._values = array("d")
        self._infusions = bytearray()
        self._run: JobRunner = run_here

    def run_jobs_with(self, run: JobRunner) -> None:
        """Draw the figure pages with ``run`` (the export's workers)."""
        self._run = run

    def begin(self, out: Path, context: ExportContext) -> None:
        self._out = out
        self._context = context
        self._visits = list(context.visit_weeks)
        self._codes = []
        self._values = array("d")
        self._infusions = bytearray()

    def renderer(self) -> AnalysisRenderer:
        return AnalysisRenderer(self._require_context())

    def add_patient(self, patient: PatientRecord) -> None:
        self.add_part(self.renderer().render(patient))

    def add_part(self, part: tuple[array[float], bytes, str]) -> None:
        values, infusions, code = part
        self._values.extend(values)
        self._infusions.extend(infusions)
        self._codes.append(code)

    def finish(self) -> list[WrittenFile]:
        context = self._require_context()
        folder = self._folder()
        figures_folder = folder / "figures"
        figures_folder.mkdir(parents=True, exist_ok=True)
        # Pages left by an earlier export into the same folder would pass for this one's.
        for stale in sorted(figures_folder.glob("patients_*")):
            if stale.suffix in (".png", ".svg"):
                stale.unlink()
        values = self.collected()
        chosen = comparisons(context.visit_weeks, context.baseline_visit)
        rows = efficacy_rows(values, OUTCOMES, self._visits, chosen)
        by_visit = visit_rows(values, OUTCOMES, context.visit_weeks)
        patients = len(self._codes)
        written = [
            _write(folder, "efficacy.csv", efficacy_csv(rows), len(rows)),
            _write(folder, "efficacy_by_visit.csv", visits_csv(by_visit), len(by_visit)),
            _write(folder, "efficacy.html", efficacy_page(context, patients, rows), None),
        ]
        figures, files = self._draw_figures(folder, values, context)
        written.append(
            _write(
                folder,
                "report.html",
                report_page(context, patients, rows, by_visit, figures),
                None,
            )
        )
        written.extend(files)
        return [WrittenFile(Path(FOLDER) / f.path, f.rows) for f in written]

    def _require_context(self) -> ExportContext:
        if self._context is None:
            raise RuntimeError("AnalysisWriter.begin must be called first")
        return self._context

    def _folder(self) -> Path:
        if self._out is None:
            raise RuntimeError("AnalysisWriter.begin must be called first")
        return self._out / FOLDER

    def collected(self) -> NDArray[np.float64]:
        """The values collected so far: patients × outcomes (OUTCOMES order) × visits."""
        shape = (len(self._codes), len(OUTCOMES), len(self._visits))
        # A copy, so that the buffer of the collected values is not pinned by a view of it.
        return np.frombuffer(self._values, dtype=np.float64).reshape(shape).copy()

    def _draw_figures(
        self, folder: Path, values: NDArray[np.float64], context: ExportContext
    ) -> tuple[list[FigureLink], list[WrittenFile]]:
        patients = len(self._codes)
        if patients == 0:
            return [], []
        weeks = [context.visit_weeks[code] for code in self._visits]
        infusions = np.frombuffer(self._infusions, dtype=np.uint8).reshape(
            patients, len(self._visits)
        )
        columns = [
            Column(outcome.label, *value_range(values[:, o, :]))
            for o, outcome in enumerate(OUTCOMES)
        ]
        pages = page_count(patients)
        key = (
            f"x: {self._visits[0]} (week {weeks[0]}) to {self._visits[-1]} (week {weeks[-1]}); "
            "dashed: infusion"
        )
        links = []
        jobs = []
        for page in range(pages):
            start, stop = page * ROWS, min(patients, (page + 1) * ROWS)
            group = [
                PanelPatient(self._codes[i], [bool(flag) for flag in infusions[i]])
                for i in range(start, stop)
            ]
            stem = f"figures/patients_{page + 1:03d}"
            link = FigureLink(
                page + 1, pages, f"{stem}.svg", f"{stem}.png", group[0].code, group[-1].code
            )
            title = (
                f"{context.study_id}: {link.first_code} to {link.last_code}, page {page + 1} "
                f"of {pages}. {key}"
            )
            jobs.append(
                PageJob(
                    tuple(weeks),
                    tuple(columns),
                    tuple(group),
                    values[start:stop],
                    title,
                    folder / link.png,
                    folder / link.svg,
                )
            )
            links.append(link)
        # The pages are independent: drawn in the export's workers when it has them.
        for _ in self._run(draw_page, jobs):
            pass
        files = [WrittenFile(Path(name)) for link in links for name in (link.png, link.svg)]
        return links, files


def _write(folder: Path, name: str, text: str, rows: int | None) -> WrittenFile:
    (folder / name).write_text(text, encoding="utf-8", newline="")
    return WrittenFile(Path(name), rows)


def analysis_writer() -> AnalysisWriter:
    """A fresh writer, for the export's list of format writers."""
    return AnalysisWriter()
