"""``epro schedule``: one patient's visit calendar and what is due, as a plain-text table."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from datetime import date
from itertools import groupby
from pathlib import Path
from typing import Any

from epro.errors import ScheduleError
from epro.schedule import (
    DueForm,
    ScheduledVisit,
    Study,
    age_at_baseline,
    due_forms,
    load_study,
    open_visit,
    parse_birth_month,
    visit_calendar,
)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HEADER = ("", "visit", "week", "target", "window", "age", "respondent", "status", "forms")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``epro schedule`` to ``epro``."""
    parser = subparsers.add_parser(
        "schedule",
        help="show a patient's visit calendar and the forms due",
        description=(
            "Print the visits of the study protocol for one patient: target dates, windows, "
            "age at each visit, the forms due per respondent and their status on a date."
        ),
    )
    parser.add_argument("--baseline", required=True, help="date of the baseline visit, YYYY-MM-DD")
    parser.add_argument("--birth", required=True, help="birth year and month, YYYY-MM")
    parser.add_argument("--on", help="the date to report on, YYYY-MM-DD (default: today)")
    parser.add_argument(
        "--done",
        nargs="+",
        default=[],
        metavar="VISIT:FORM:RESPONDENT",
        help="forms already submitted, e.g. V1:chaq:child",
    )
    parser.add_argument("--study", type=Path, help="study file (default: the shipped study.toml)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    baseline = parse_date(args.baseline, "--baseline")
    on = date.today() if args.on is None else parse_date(args.on, "--on")
    parse_birth_month(args.birth)
    done = [parse_done(text) for text in args.done]
    study = load_study(args.study)
    age = age_at_baseline(study, baseline, args.birth)
    # Build the whole table before printing, so bad input never leaves half an output.
    table = render_table(study, baseline, args.birth, on, done)
    print(f"Study {study.id}: {study.title}")
    print(
        f"Born {args.birth} (day 15 assumed), baseline {baseline.isoformat()}, "
        f"age at baseline {age:.2f}; status on {on.isoformat()}"
    )
    print()
    for line in table:
        print(line)
    print()
    current = open_visit(study, baseline, on)
    if current is not None:
        print(f"> marks visit {current.code}, open on {on.isoformat()}.")
    else:
        later = [s for s in visit_calendar(study, baseline) if s.window_start > on]
        follow = f"; next: {later[0].code} opens {later[0].window_start}" if later else ""
        print(f"No visit is open on {on.isoformat()}{follow}.")
    return 0


def render_table(
    study: Study, baseline: date, birth_ym: str, on: date, done: Sequence[tuple[str, str, str]]
) -> list[str]:
    """One row per visit, respondent and status; visit columns only on a visit's first row."""
    items = due_forms(study, baseline, birth_ym, on, done)
    calendar = {s.code: s for s in visit_calendar(study, baseline)}
    rows: list[tuple[str, ...]] = [_HEADER]
    for code, visit_items in groupby(items, key=lambda item: item.visit_code):
        scheduled = calendar[code]
        first = True
        for (respondent, status), group in _grouped(list(visit_items)):
            forms = ", ".join(item.form_id for item in group)
            lead = _visit_cells(scheduled, group[0], on) if first else ("",) * 6
            rows.append((*lead, respondent, status, forms))
            first = False
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _grouped(items: list[DueForm]) -> list[tuple[tuple[str, str], list[DueForm]]]:
    order: dict[tuple[str, str], list[DueForm]] = {}
    for item in items:
        order.setdefault((item.respondent, item.status.value), []).append(item)
    return list(order.items())


def _visit_cells(scheduled: ScheduledVisit, item: DueForm, on: date) -> tuple[str, ...]:
    mark = ">" if scheduled.contains(on) else ""
    window = f"{scheduled.window_start.isoformat()}..{scheduled.window_end.isoformat()}"
    week = f"{scheduled.week:+d}" if scheduled.week else "0"
    return (
        mark,
        scheduled.code,
        week,
        scheduled.target.isoformat(),
        window,
        f"{item.age_years:.1f}",
    )


def parse_date(text: str, option: str) -> date:
    """A calendar date written exactly as YYYY-MM-DD; anything else is a clear error."""
    problem = ScheduleError(
        f"{option} {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-01-05"
    )
    if not _ISO_DATE.fullmatch(text.strip()):
        raise problem
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise problem from None


def parse_done(text: str) -> tuple[str, str, str]:
    parts = text.split(":")
    if len(parts) != 3 or not all(part.strip() for part in parts):
        raise ScheduleError(f"--done {text!r} must be VISIT:FORM:RESPONDENT, e.g. V1:chaq:child")
    return parts[0].strip(), parts[1].strip(), parts[2].strip()
