"""Per-patient trajectory figures: pages of small multiples, one row per patient.

A page shows a group of up to :data:`ROWS` patients, one row each, and one column per reported
outcome: each panel is one patient's outcome at every visit it was measured (x = the visit's
week), joined in visit order, with the weeks of that patient's infusions marked. Every panel of
a column shares the outcome's y range on every page, so patients compare at a glance.

A trial export with 1,600 patients makes 160 pages, so a page is drawn cheaply. The page is one
Axes without ticks whose data units are inches of the page; every panel is laid out by offsets
inside it, and each kind of mark (frames and visit ticks, infusion lines, trajectories, points,
text) is one artist for the whole page: a Line2D whose pieces are separated by NaN (one path to
draw, one element in the SVG) or one PathCollection. The figure is made once; only the data of
its artists change from page to page. Text is the dearest thing matplotlib draws (every glyph is
laid out and rendered on each draw), so all text is glyph outlines, converted once per string:
patient codes once per page, column headings once per export.

Both files are byte-identical from run to run and across matplotlib versions' metadata: PNG
without the software tag, SVG with a fixed id salt and neither date nor creator.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import matplotlib
import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.path import Path as GlyphPath
from matplotlib.textpath import text_to_path
from matplotlib.transforms import Affine2D
from numpy.typing import NDArray

#: Patients per page, one row each.
ROWS: Final = 10
#: A4 landscape, in inches; the page's Axes measures in inches too.
PAGE_WIDTH: Final = 11.69
PAGE_HEIGHT: Final = 8.27
#: The PNG is a preview (842 × 595 pixels); the SVG is the figure to zoom into or print.
PNG_DPI: Final = 72

LINE_COLOUR: Final = "#1f5fa8"
INFUSION_COLOUR: Final = "#d9731a"
FRAME_COLOUR: Final = "#9a9a9a"
TEXT_COLOUR: Final = "#222222"

# Page layout, in inches.
_LEFT = 0.95  # room for the patient codes
_RIGHT = 0.12
_GRID_TOP = PAGE_HEIGHT - 1.1  # title and column headings above
_BOTTOM = 0.12
_PAD_X = 0.07
_PAD_TOP = 0.06
_PAD_BOTTOM = 0.1  # room for the visit ticks
_TICK = 0.04
_INSET = 0.06  # of a panel's height kept free above the range's top and below its bottom
_TITLE_POINTS = 9.0
_HEADING_POINTS = 6.0
_CODE_POINTS = 7.0
_HEADING_CHARACTERS = 20


@dataclass(frozen=True, slots=True)
class PanelPatient:
    """One patient's row: the study code and, per visit, whether an infusion was given."""

    code: str
    infusions: Sequence[bool]


@dataclass(frozen=True, slots=True)
class Column:
    """One outcome's column: its heading and the y range all its panels share."""

    heading: str
    low: float
    high: float


def value_range(values: NDArray[np.float64]) -> tuple[float, float]:
    """The y range every panel of an outcome shares: from 0 (or below) to the largest value."""
    present = values[~np.isnan(values)]
    if present.size == 0:
        return 0.0, 1.0
    low = min(0.0, float(present.min()))
    high = float(present.max())
    return (low, high) if high > low else (low, low + 1.0)


def page_count(patients: int) -> int:
    """Pages for ``patients`` patients."""
    return math.ceil(patients / ROWS)


class PageRenderer:
    """One reusable page: draw it for each group of patients in turn."""

    def __init__(self, weeks: Sequence[int], columns: Sequence[Column]) -> None:
        # The export runs headless: never let matplotlib reach for a GUI backend.
        matplotlib.use("Agg")
        low, high = min(weeks), max(weeks)
        span = (high - low) or 1
        self._x = np.array([(w - low) / span for w in weeks], dtype=np.float64)
        self._columns = list(columns)
        self._cell_width = (PAGE_WIDTH - _LEFT - _RIGHT) / len(self._columns)
        self._cell_height = (_GRID_TOP - _BOTTOM) / ROWS
        self._figure = Figure(figsize=(PAGE_WIDTH, PAGE_HEIGHT), facecolor="white")
        axes = self._figure.add_axes((0, 0, 1, 1))
        axes.set_axis_off()
        axes.set_xlim(0, PAGE_WIDTH)
        axes.set_ylim(0, PAGE_HEIGHT)
        self._axes = axes
        (self._frames,) = axes.plot([], [], color=FRAME_COLOUR, linewidth=0.5)
        (self._infusions,) = axes.plot(
            [], [], color=INFUSION_COLOUR, linewidth=0.8, linestyle=(0, (3, 2))
        )
        (self._lines,) = axes.plot([], [], color=LINE_COLOUR, linewidth=0.9)
        (self._points,) = axes.plot(
            [], [], linestyle="none", marker="o", color=LINE_COLOUR, markersize=2.0
        )
        # Glyph outlines are in points, placed by offsets in the page's inches; scaled by the
        # figure's dpi at draw time, so one collection serves both resolutions.
        self._text = PathCollection(
            [],
            offsets=np.zeros((0, 2)),
            offset_transform=axes.transData,
            transform=Affine2D().scale(1 / 72) + self._figure.dpi_scale_trans,
            facecolors=TEXT_COLOUR,
            edgecolors="none",
        )
        axes.add_collection(self._text, autolim=False)
        self._headings = self._heading_glyphs()

    def _panel(self, row: int, column: int) -> tuple[float, float, float, float]:
        """Panel box (x0, y0, width, height) in inches; row 0 at the top."""
        x0 = _LEFT + column * self._cell_width + _PAD_X
        y0 = _GRID_TOP - (row + 1) * self._cell_height + _PAD_BOTTOM
        return x0, y0, self._cell_width - 2 * _PAD_X, self._cell_height - _PAD_TOP - _PAD_BOTTOM

    def _heading_glyphs(self) -> list[tuple[GlyphPath, tuple[float, float]]]:
        """Each column's wrapped heading and its y range, above the grid."""
        font = FontProperties(size=_HEADING_POINTS)
        line = _HEADING_POINTS * 1.25 / 72
        glyphs = []
        for c, column in enumerate(self._columns):
            x0 = _LEFT + c * self._cell_width + _PAD_X
            lines = textwrap.wrap(column.heading, _HEADING_CHARACTERS)
            lines.append(f"y: {_plain(column.low)} to {_plain(column.high)}")
            for i, text in enumerate(reversed(lines)):
                glyphs.append((_glyph_path(text, font), (x0, _GRID_TOP + 0.08 + i * line)))
        return glyphs

    def draw(
        self,
        patients: Sequence[PanelPatient],
        values: NDArray[np.float64],
        title: str,
        png: Path,
        svg: Path,
    ) -> None:
        """Draw one group: ``values`` is patients × outcomes × visits, NaN where missing."""
        if len(patients) > ROWS:
            raise ValueError(f"a page holds at most {ROWS} patients")
        if values.shape[:2] != (len(patients), len(self._columns)):
            raise ValueError("one row of values per patient and one column per outcome")
        frames: list[NDArray[np.float64]] = []
        infusions: list[NDArray[np.float64]] = []
        lines: list[NDArray[np.float64]] = []
        code_font = FontProperties(size=_CODE_POINTS)
        texts = [(_glyph_path(title, FontProperties(size=_TITLE_POINTS)), (_LEFT, 7.95))]
        texts.extend(self._headings)
        for r, patient in enumerate(patients):
            _, row_y, _, row_height = self._panel(r, 0)
            texts.append((_glyph_path(patient.code, code_font), (0.1, row_y + row_height / 3)))
            given = self._x[np.asarray(patient.infusions, dtype=bool)]
            for c, column in enumerate(self._columns):
                x0, y0, width, height = self._panel(r, c)
                right, top = x0 + width, y0 + height
                ticks = x0 + self._x * width
                frames.append(np.array([(x0, y0), (right, y0), (right, top), (x0, top), (x0, y0)]))
                frames.extend(np.array([(x, y0), (x, y0 - _TICK)]) for x in ticks)
                infusions.extend(
                    np.array([(x, y0), (x, top)]) for x in (x0 + given * width).tolist()
                )
                row = values[r, c]
                present = ~np.isnan(row)
                if present.any():
                    # Missing visits are bridged: the line joins the visits the patient has, in
                    # order, and the points show which those are.
                    scaled = (row[present] - column.low) / (column.high - column.low)
                    y = y0 + (_INSET + (1 - 2 * _INSET) * scaled) * height
                    lines.append(np.column_stack((ticks[present], y)))
        _set_pieces(self._frames, frames)
        _set_pieces(self._infusions, infusions)
        _set_pieces(self._lines, lines)
        joined = np.concatenate(lines) if lines else np.zeros((0, 2))
        self._points.set_data(joined[:, 0], joined[:, 1])
        self._text.set_paths([path for path, _ in texts])
        self._text.set_offsets(np.array([offset for _, offset in texts]))
        # No software tag: the file must not change with the matplotlib version.
        self._figure.savefig(
            png,
            format="png",
            dpi=PNG_DPI,
            metadata={"Software": None},
            # Filtering, not deflating, is most of a PNG's encoding time; level 1 is nearly as
            # small as the default and half the work.
            pil_kwargs={"compress_level": 1},
        )
        with matplotlib.rc_context({"svg.hashsalt": "epro-analysis"}):
            self._figure.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})


@dataclass(frozen=True, slots=True)
class PageJob:
    """One page to draw, in whichever process draws it (:func:`draw_page`)."""

    weeks: tuple[int, ...]
    columns: tuple[Column, ...]
    patients: tuple[PanelPatient, ...]
    values: NDArray[np.float64]
    title: str
    png: Path
    svg: Path


#: The page renderers of this process, by weeks and columns: made once, reused per page.
_RENDERERS: dict[tuple[tuple[int, ...], tuple[Column, ...]], PageRenderer] = {}


def draw_page(job: PageJob) -> None:
    """Draw one page with this process's renderer for its weeks and columns. A page's bytes
    do not depend on the pages its renderer drew before (a test holds them equal), so pages
    may be drawn in any process, in any order."""
    key = (job.weeks, job.columns)
    renderer = _RENDERERS.get(key)
    if renderer is None:
        _RENDERERS.clear()  # one export's renderer at a time
        renderer = _RENDERERS[key] = PageRenderer(job.weeks, job.columns)
    renderer.draw(job.patients, job.values, job.title, job.png, job.svg)


def _set_pieces(line: Line2D, pieces: Sequence[NDArray[np.float64]]) -> None:
    """Make ``line`` draw every piece (an n × 2 array), each apart from the others."""
    gap = np.full((1, 2), np.nan)
    joined = np.concatenate([part for piece in pieces for part in (piece, gap)] or [gap])
    line.set_data(joined[:, 0], joined[:, 1])


def _glyph_path(text: str, font: FontProperties) -> GlyphPath:
    """``text`` as glyph outlines in points, its baseline at the origin (no mathtext)."""
    vertices, codes = text_to_path.get_text_path(font, text, ismath=False)
    scale = font.get_size_in_points() / text_to_path.FONT_SCALE
    return GlyphPath(np.asarray(vertices) * scale, codes)


def _plain(value: float) -> str:
    return f"{value:g}".replace("-", "−")
