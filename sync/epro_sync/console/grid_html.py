"""The completion grid's table rows as HTML, written directly (the fast path of the page).

A grid of 500 patients has some 25,000 cells; rendered through the Jinja template
``grid_rows.html`` (the reference), every printed value passes the console's escaping and
hidden-character check one by one, which took most of the page's time. Here a cell's HTML
comes from a table made once per (status, marks) — its words are the console's own — and only
the patient code, visit and date of each row are escaped, exactly as the template escapes
them. A test holds the two byte-equal, hostile codes included.
"""

from __future__ import annotations

from jinja2.filters import do_urlencode
from markupsafe import Markup, escape

from epro.protocol import shown_safely
from epro_sync.console import symbols
from epro_sync.console.queries import Grid, GridCell
from epro_sync.console.templates import when


def _text(value: object) -> str:
    """What ``{{ value }}`` prints: hidden characters made visible, then HTML-escaped.
    Printable ASCII has no hidden character, so most codes skip the character-by-character
    check."""
    plain = isinstance(value, str) and value.isascii() and value.isprintable()
    if isinstance(value, str) and not isinstance(value, Markup) and not plain:
        value = shown_safely(value)
    return str(escape(value))


def _cell(cell: GridCell) -> str:
    html = (
        f'<td class="st st-{_text(cell.status)}"><span aria-hidden="true">'
        f"{_text(symbols.SYMBOLS[cell.status])}</span> {_text(cell.status)}"
    )
    if cell.entered_in_error:
        html += f' <span class="note">({_text(cell.entered_in_error)} in error)</span>'
    return html + "</td>"


def grid_rows_html(grid: Grid) -> Markup:
    """Every ``<tr>`` of the grid's body, as ``grid_rows.html`` renders them."""
    made: dict[tuple[str, int], str] = {}
    heads: dict[str, str] = {}
    empty = '<td class="none">–</td>'
    columns = grid.columns
    parts: list[str] = []
    append = parts.append
    for row in grid.rows:
        head = heads.get(row.patient)
        if head is None:  # the same for each of the patient's visits
            head = heads[row.patient] = (
                '<tr><th scope="row"><a href="/console/patients/'
                f'{_text(do_urlencode(row.patient))}">{_text(row.patient)}</a></th>'
            )
        append(head)
        append(f'<th scope="row">{_text(row.visit)}</th><td>{_text(when(row.target, "–"))}</td>')
        cells = row.cells
        for column in columns:
            cell = cells.get(column)
            if cell is None:
                append(empty)
                continue
            key = (cell.status, cell.entered_in_error)
            html = made.get(key)
            if html is None:
                html = made[key] = _cell(cell)
            append(html)
        append("</tr>\n")
    return Markup("".join(parts))
