"""Completion grid (``/console/grid``) and its CSV (``/console/grid.csv``).

Patient × visit rows, (form, respondent) columns, each cell the kiosk grid's symbol and the
status in words. The filters (site, visit, status, form) are plain GET parameters, so a
filtered grid is a link that can be bookmarked or sent, and the CSV link carries the same
filters. A value that is not one of the choices is answered with a page naming the choices;
a site outside the viewer's is answered as not found.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from epro.schedule import Study
from epro_sync.console import data, queries, symbols
from epro_sync.console.access import ConsoleError, Viewer, ViewerDep, page
from epro_sync.console.downloads import csv_response
from epro_sync.console.grid_html import grid_rows_html
from epro_sync.console.queries import Grid, GridFilters
from epro_sync.console.templates import add_nav, render
from epro_sync.db import read_session

router = APIRouter(prefix="/console")
add_nav("/console/grid", "Completion", order=20)

CSV_HEADER = (
    "site",
    "patient",
    "visit",
    "target",
    "window_start",
    "window_end",
    "form_id",
    "respondent",
    "status",
    "responses",
    "entered_in_error",
    "last_submitted_at",
)


def _choice(value: str | None, allowed: list[str], what: str) -> str | None:
    if value is None or value == "":
        return None
    if value not in allowed:
        raise ConsoleError(
            422, f"there is no {what} {value!r}; choose one of: {', '.join(allowed)}"
        )
    return value


def filters_of(
    viewer: Viewer,
    study: Study,
    site: str | None,
    visit: str | None,
    status: str | None,
    form: str | None,
) -> GridFilters:
    """The filters from the URL, each checked against its choices."""
    if site:
        viewer.require_site(site, f"site {site}")
    return GridFilters(
        site=site or None,
        visit=_choice(visit, [v.code for v in study.visits], "visit"),
        status=_choice(status, list(symbols.STATUSES), "status"),
        form=_choice(form, list(study.form_ids), "form"),
    )


def _grid(request: Request, viewer: Viewer, filters: GridFilters) -> tuple[Grid, list[str]]:
    study = data.study_of(request)
    with read_session(request.app.state.engine) as db:
        grid = queries.completion_grid(
            db, study, data.scope_of(viewer), data.today_of(request), filters
        )
        sites = queries.known_sites(db, data.scope_of(viewer))
    return grid, sites


def query_of(filters: GridFilters) -> str:
    """The filters as a URL query (only those set), for links that keep them."""
    pairs = [
        (name, value)
        for name, value in (
            ("site", filters.site),
            ("visit", filters.visit),
            ("status", filters.status),
            ("form", filters.form),
        )
        if value
    ]
    return urlencode(pairs)


@page(router, "GET", "/grid")
def grid_page(
    request: Request,
    viewer: ViewerDep,
    site: str | None = None,
    visit: str | None = None,
    status: str | None = None,
    form: str | None = None,
) -> Response:
    study = data.study_of(request)
    filters = filters_of(viewer, study, site, visit, status, form)
    grid, sites = _grid(request, viewer, filters)
    labels = {column: symbols.column_label(*column) for column in grid.columns}
    return render(
        request,
        "grid.html",
        viewer=viewer,
        title="Completion",
        grid=grid,
        sites=sites,
        visits=study.visits,
        forms=study.form_ids,
        statuses=symbols.STATUSES,
        symbols=symbols,
        labels=labels,
        rows_html=grid_rows_html(grid),
        query=query_of(filters),
        today=data.today_of(request),
    )


@page(router, "GET", "/grid.csv")
def grid_csv(
    request: Request,
    viewer: ViewerDep,
    site: str | None = None,
    visit: str | None = None,
    status: str | None = None,
    form: str | None = None,
) -> Response:
    filters = filters_of(viewer, data.study_of(request), site, visit, status, form)
    grid, _sites = _grid(request, viewer, filters)
    sites = {row.patient: row.site for row in grid.rows}
    rows = (
        (
            sites[cell.patient],
            cell.patient,
            cell.visit,
            cell.target,
            cell.window_start,
            cell.window_end,
            cell.form_id,
            cell.respondent,
            cell.status,
            cell.responses,
            cell.entered_in_error,
            cell.last_submitted_at,
        )
        for cell in grid.cells()
    )
    name = "completion" + (f"-{filters.site}" if filters.site else "") + ".csv"
    return csv_response(CSV_HEADER, rows, name)
