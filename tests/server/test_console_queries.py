"""The console's query layer on a real database (SQLite file and PostgreSQL): overview,
completion grid, patient calendar and kiosk health, each scoped to the viewer's sites.

The calendar used throughout (today is Wednesday 25 March 2026; patients aged about ten, so
the child answers CHAQ and the VAS forms, parent and child JAMAR, staff the clinician form):

* DEMO-001 (UMCU), baseline 2 March: V1 fully received; V2's window opens Friday 27 March.
* DEMO-002 (UMCU), baseline 23 February: only CHAQ received at V1 (window closed: the rest
  missed); V2's target was 23 March and its window is open until the 26th: overdue.
* DEMO-003 (EMC, another site), baseline 2 March, nothing received.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from epro.schedule import Study, load_study
from epro_sync.annotations import mark_entered_in_error
from epro_sync.console import queries, symbols
from epro_sync.console.kiosk_health import kiosk_health
from epro_sync.console.queries import GridFilters
from epro_sync.console.scope import Scope
from epro_sync.migrations import migrate
from epro_sync.storage import Refusal
from tests.helpers.console_seed import add_device, add_event, add_head, add_patient, add_response

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 25, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
UMCU = Scope.of({"UMCU"})
EVERY = Scope.every_site()
CELLS_AT_TEN = [
    ("chaq", "child"),
    ("jamar", "child"),
    ("jamar", "parent"),
    ("vas_pain", "child"),
    ("vas_wellbeing", "child"),
    ("clinician", "staff"),
]
LIMITS = {"stale_after": timedelta(days=7), "skew_limit": timedelta(minutes=5)}


@pytest.fixture(scope="module")
def study() -> Study:
    return load_study(ROOT / "forms" / "study.toml")


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    migrate(engine)
    with engine.begin() as conn:
        add_device(conn, "kiosk-a", "UMCU", "outpatient clinic", last_seen_at=NOW)
        add_device(conn, "kiosk-b", "EMC", "day care", last_seen_at=NOW)
        add_patient(conn, "DEMO-001", "UMCU", date(2026, 3, 2), birth_ym="2015-07", device_id="a")
        add_patient(conn, "DEMO-002", "UMCU", date(2026, 2, 23), birth_ym="2015-07", device_id="a")
        add_patient(conn, "DEMO-003", "EMC", date(2026, 3, 2), birth_ym="2015-07", device_id="b")
        for form_id, respondent in CELLS_AT_TEN:
            add_response(
                conn,
                device_id="kiosk-a",
                site="UMCU",
                patient="DEMO-001",
                visit="V1",
                form_id=form_id,
                respondent=respondent,
                submitted_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
                received_at=datetime(2026, 3, 2, 9, 5, tzinfo=UTC),
            )
        add_response(
            conn,
            device_id="kiosk-a",
            site="UMCU",
            patient="DEMO-002",
            visit="V1",
            form_id="chaq",
            respondent="child",
            submitted_at=datetime(2026, 2, 23, 9, 0, tzinfo=UTC),
            received_at=NOW - timedelta(days=2),  # synced late: received this week
            response_id="00000000-0000-4000-8000-000000000002",
        )
        add_response(
            conn,
            device_id="kiosk-b",
            site="EMC",
            patient="DEMO-003",
            visit="V1",
            form_id="chaq",
            respondent="child",
            submitted_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            received_at=NOW - timedelta(days=1),
            response_id="00000000-0000-4000-8000-000000000003",
        )
    return engine


def _cells(grid: queries.Grid) -> dict[tuple[str, str, str, str], str]:
    return {(c.patient, c.visit, c.form_id, c.respondent): c.status for c in grid.cells()}


def test_the_overview_counts_each_site_of_the_scope(seeded: Engine, study: Study) -> None:
    with Session(seeded) as session:
        sites = queries.overview(session, study, EVERY, NOW, **LIMITS)
        mine = queries.overview(session, study, UMCU, NOW, **LIMITS)
    by_site = {entry.site: entry for entry in sites}
    assert sorted(by_site) == ["EMC", "UMCU"]
    umcu = by_site["UMCU"]
    assert (umcu.patients, umcu.due_this_week, umcu.overdue, umcu.missed) == (2, 1, 1, 1)
    assert umcu.received_last_7_days == 1  # DEMO-002's CHAQ, two days ago
    assert umcu.kiosks == 1
    assert umcu.attention == ()
    emc = by_site["EMC"]
    # DEMO-003: V1 missed (only the CHAQ came), V2 opens this week.
    assert (emc.patients, emc.due_this_week, emc.overdue, emc.missed) == (1, 1, 0, 1)
    assert [entry.site for entry in mine] == ["UMCU"]
    assert mine[0] == umcu


def test_the_grid_gives_every_cell_its_status(seeded: Engine, study: Study) -> None:
    with Session(seeded) as session:
        grid = queries.completion_grid(session, study, EVERY, TODAY)
    cells = _cells(grid)
    for form_id, respondent in CELLS_AT_TEN:
        assert cells[("DEMO-001", "V1", form_id, respondent)] == symbols.RECEIVED
        assert cells[("DEMO-001", "V2", form_id, respondent)] == symbols.UPCOMING
        assert cells[("DEMO-002", "V2", form_id, respondent)] == symbols.OVERDUE
        expected = symbols.RECEIVED if form_id == "chaq" else symbols.MISSED
        assert cells[("DEMO-002", "V1", form_id, respondent)] == expected
    assert not any(visit == "V0" for _p, visit, _f, _r in cells)  # screening: not at the kiosk
    assert grid.columns == (
        ("chaq", "child"),
        ("jamar", "child"),
        ("jamar", "parent"),
        ("vas_pain", "child"),
        ("vas_wellbeing", "child"),
        ("clinician", "staff"),
    )
    assert [(row.patient, row.visit) for row in grid.rows][:3] == [
        ("DEMO-001", "V1"),
        ("DEMO-001", "V2"),
        ("DEMO-001", "V3"),
    ]
    assert grid.counts[symbols.RECEIVED] == 8
    assert sum(grid.counts.values()) == len(cells) == 3 * 8 * 6


def test_a_coordinator_scope_never_reads_another_site(seeded: Engine, study: Study) -> None:
    with Session(seeded) as session:
        grid = queries.completion_grid(session, study, UMCU, TODAY)
        elsewhere = queries.completion_grid(session, study, UMCU, TODAY, GridFilters(site="EMC"))
        patient = queries.patient_view(session, study, UMCU, "DEMO-003", TODAY)
        kiosks = kiosk_health(session, UMCU, NOW, **LIMITS)
        sites = queries.known_sites(session, UMCU)
    assert {row.patient for row in grid.rows} == {"DEMO-001", "DEMO-002"}
    assert elsewhere.rows == ()  # the site filter cannot widen the scope
    assert patient is None
    assert [k.device_id for k in kiosks] == ["kiosk-a"]
    assert sites == ["UMCU"]


@pytest.mark.parametrize(
    ("filters", "rows", "columns"),
    [
        (GridFilters(visit="V2"), {("DEMO-001", "V2"), ("DEMO-002", "V2")}, 6),
        (GridFilters(status="overdue"), {("DEMO-002", "V2")}, 6),
        (GridFilters(status="missed", site="UMCU"), {("DEMO-002", "V1")}, 6),
        (GridFilters(form="chaq", visit="V1"), {("DEMO-001", "V1"), ("DEMO-002", "V1")}, 1),
    ],
)
def test_the_grid_filters(
    seeded: Engine,
    study: Study,
    filters: GridFilters,
    rows: set[tuple[str, str]],
    columns: int,
) -> None:
    with Session(seeded) as session:
        grid = queries.completion_grid(session, study, UMCU, TODAY, filters)
    assert {(row.patient, row.visit) for row in grid.rows} == rows
    assert len(grid.columns) == columns
    if filters.status is not None:
        assert {cell.status for cell in grid.cells()} == {filters.status}
    if filters.form is not None:
        assert {cell.form_id for cell in grid.cells()} == {filters.form}


def test_a_response_entered_in_error_no_longer_counts_as_received(
    seeded: Engine, study: Study
) -> None:
    rid = "00000000-0000-4000-8000-000000000002"
    with Session(seeded) as session:
        mark = mark_entered_in_error(
            session,
            rid,
            "  session opened for the\nwrong patient ",
            actor="dm@example.org",
            sites=None,
            now=NOW,
        )
        session.commit()
    assert mark.reason == "session opened for the wrong patient"
    with Session(seeded) as session:
        grid = queries.completion_grid(session, study, UMCU, TODAY, GridFilters(visit="V1"))
        view = queries.patient_view(session, study, UMCU, "DEMO-002", TODAY)
        overview = queries.overview(session, study, UMCU, NOW, **LIMITS)
    cell = next(c for c in grid.cells() if (c.patient, c.form_id) == ("DEMO-002", "chaq"))
    assert (cell.status, cell.responses, cell.entered_in_error) == (symbols.MISSED, 0, 1)
    assert view is not None
    assert view.arrivals[0].entered_in_error == (
        "session opened for the wrong patient",
        "dm@example.org",
        NOW,
    )
    assert overview[0].received_last_7_days == 1  # it did arrive; it is just not valid
    with seeded.connect() as conn:
        events = conn.execute(
            text("SELECT site, detail FROM audit WHERE event = 'entered_in_error'")
        ).all()
    assert len(events) == 1
    assert events[0].site == "UMCU"
    assert rid in events[0].detail
    assert "dm@example.org" in events[0].detail


def test_marking_is_refused_twice_outside_the_scope_and_without_a_usable_reason(
    seeded: Engine,
) -> None:
    rid = "00000000-0000-4000-8000-000000000002"
    other = "00000000-0000-4000-8000-000000000003"  # EMC's
    with Session(seeded) as session:
        mark_entered_in_error(session, rid, "wrong patient", actor="a", sites=None, now=NOW)
        session.commit()
        with pytest.raises(Refusal) as twice:
            mark_entered_in_error(session, rid, "wrong again", actor="b", sites=None, now=NOW)
        assert twice.value.status == 409
        assert "by a" in str(twice.value)
        with pytest.raises(Refusal) as hidden:
            mark_entered_in_error(
                session, other, "wrong patient", actor="a", sites={"UMCU"}, now=NOW
            )
        assert hidden.value.status == 404
        for reason in ("no", "x" * 501, "wrong \u202epatient"):
            with pytest.raises(Refusal) as bad:
                mark_entered_in_error(session, other, reason, actor="a", sites=None, now=NOW)
            assert bad.value.status == 422
    with seeded.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM annotations")).scalar() == 1


def test_annotations_are_append_only_in_the_database(seeded: Engine) -> None:
    with Session(seeded) as session:
        mark_entered_in_error(
            session,
            "00000000-0000-4000-8000-000000000002",
            "wrong patient",
            actor="a",
            sites=None,
            now=NOW,
        )
        session.commit()
    for statement in ("UPDATE annotations SET reason = 'changed'", "DELETE FROM annotations"):
        with pytest.raises(DBAPIError, match="append-only"), seeded.begin() as conn:
            conn.execute(text(statement))


def test_the_patient_page_places_every_visit_and_lists_arrivals(
    seeded: Engine, study: Study
) -> None:
    with Session(seeded) as session:
        view = queries.patient_view(session, study, EVERY, "DEMO-001", TODAY)
    assert view is not None
    assert view.site == "UMCU"
    assert view.baseline_date == date(2026, 3, 2)
    assert view.age_at_baseline is not None
    assert 10 < view.age_at_baseline < 11
    assert [v.code for v in view.calendar] == [f"V{n}" for n in range(9)]
    v2 = view.calendar[2]
    assert (v2.target, v2.window_start, v2.window_end) == (
        date(2026, 3, 30),
        date(2026, 3, 27),
        date(2026, 4, 2),
    )
    assert view.calendar[1].status == symbols.RECEIVED
    assert v2.status == symbols.UPCOMING
    assert view.calendar[0].cells == ()
    assert not view.calendar[0].kiosk
    assert len(view.arrivals) == 6
    assert {a.kiosk_label for a in view.arrivals} == {"outpatient clinic"}
    assert all(a.received_at == datetime(2026, 3, 2, 9, 5, tzinfo=UTC) for a in view.arrivals)


def test_kiosks_needing_attention_say_why(engine: Engine) -> None:
    migrate(engine)
    with engine.begin() as conn:
        add_device(conn, "ok", "UMCU", "fine", last_seen_at=NOW - timedelta(hours=1))
        add_device(conn, "gone", "UMCU", "revoked", revoked_at=NOW - timedelta(days=1))
        add_device(conn, "quiet", "UMCU", "silent", last_seen_at=NOW - timedelta(days=10))
        add_device(conn, "never", "UMCU", "unused")
        add_device(conn, "fast", "UMCU", "fast clock", last_seen_at=NOW)
        add_device(conn, "fork", "UMCU", "forked", last_seen_at=NOW)
        add_device(conn, "mended", "UMCU", "mended", last_seen_at=NOW)
        add_head(conn, "ok", 5, NOW - timedelta(hours=1, seconds=3), NOW - timedelta(hours=1))
        add_head(conn, "fast", 9, NOW + timedelta(hours=3), NOW)
        add_head(conn, "fork", 4, NOW - timedelta(days=2), NOW - timedelta(days=2))
        add_event(
            conn, "audit_head_mismatch", NOW - timedelta(days=1), device_id="fork", site="UMCU"
        )
        add_event(
            conn, "audit_head_mismatch", NOW - timedelta(days=3), device_id="mended", site="UMCU"
        )
        add_head(conn, "mended", 7, NOW - timedelta(days=2), NOW - timedelta(days=2))
        add_response(
            conn,
            device_id="ok",
            site="UMCU",
            patient="DEMO-001",
            visit="V1",
            form_id="chaq",
            respondent="child",
            submitted_at=NOW - timedelta(hours=2),
            received_at=NOW - timedelta(hours=1),
        )
    with Session(engine) as session:
        kiosks = {k.device_id: k for k in kiosk_health(session, EVERY, NOW, **LIMITS)}
    assert kiosks["ok"].problems == ()
    assert kiosks["mended"].problems == ()
    assert kiosks["ok"].responses == 1
    assert kiosks["ok"].last_upload_at == NOW - timedelta(hours=1)
    assert kiosks["ok"].clock_skew == timedelta(seconds=-3)
    assert kiosks["gone"].problems[0].startswith("revoked on")
    assert kiosks["quiet"].problems == ("not seen for 10 days",)
    assert kiosks["never"].problems[0].startswith("never synced")
    assert kiosks["fast"].problems == ("clock ahead of the server by 3 hours",)
    assert "rolled back or forked" in kiosks["fork"].problems[0]
    assert kiosks["fork"].audit_head_seq == 4


def test_console_symbols_are_the_kiosk_grid_glyphs() -> None:
    from epro.kiosk.glyphs import GLYPHS

    for status, kiosk_status in symbols.KIOSK_STATUS.items():
        assert symbols.SYMBOLS[status] == GLYPHS[kiosk_status][0]
    assert set(symbols.SYMBOLS) == set(symbols.STATUSES) == set(symbols.MEANINGS)


def test_the_fast_cells_equal_the_schedule_s_own_for_every_age_date_and_arrival(
    study: Study,
) -> None:
    """The grid's fast path (protocol laid out once, respondents by age band) against the
    reference built on ``epro.schedule.due_forms``: patients aged 4 to 18 (and one outside the
    range), dates across their year, arrivals valid, marked in error, and unexpected."""
    import random

    from epro_sync.console.queries import Received, _Person, fast_patient_cells, patient_cells

    chooser = random.Random(17)
    protocol = [
        (v.code, form_id, respondent)
        for v in study.visits
        for form_id in v.forms
        for respondent in ("child", "parent", "staff")
    ]
    extras = [("V9", "chaq", "child"), ("V2", "chaq", "sibling")]
    compared = 0
    for number in range(240):
        baseline = date(2026, 1, 1) + timedelta(days=chooser.randrange(0, 400))
        years = 3 + number % 17  # 3 (too young) … 19
        birth = baseline - timedelta(days=int(365.25 * years) + chooser.randrange(0, 360))
        person = _Person(f"P-{number}", "UMCU", f"{birth.year:04d}-{birth.month:02d}", baseline)
        received: dict[tuple[str, str, str, str], Received] = {}
        for key in chooser.sample(protocol + extras, chooser.randrange(0, 25)):
            count = chooser.choice([0, 1, 1, 2])
            received[(person.code, *key)] = Received(
                count, NOW if count else None, 1 - min(count, 1)
            )
        for _ in range(4):
            today = baseline + timedelta(days=chooser.randrange(-120, 420))
            assert fast_patient_cells(study, person, received, today) == patient_cells(
                study, person, received, today
            ), (person, today)
            compared += 1
    assert compared == 960


def test_the_grid_rows_written_directly_equal_the_template_s(seeded: Engine, study: Study) -> None:
    """The page's fast path (``grid_html``) against the reference template ``grid_rows.html``:
    byte-equal on a real grid, and on rows whose codes carry markup, quotes and a bidi
    override (shown as text, never as markup)."""
    from epro_sync.console.grid_html import grid_rows_html
    from epro_sync.console.queries import Grid, GridCell, GridRow
    from epro_sync.console.templates import environment

    with Session(seeded) as session:
        real = queries.completion_grid(session, study, EVERY, TODAY)
    hostile = '<i>X</i>"&\u202e'
    cells = {
        (form_id, respondent): GridCell(
            hostile, "V1", form_id, respondent, status, None, None, None, 0, None, errors
        )
        for (form_id, respondent), status, errors in zip(
            CELLS_AT_TEN, [*symbols.STATUSES, symbols.MISSED], [0, 1, 0, 2, 0, 1], strict=True
        )
    }
    made = Grid(
        real.columns,
        (GridRow("UMCU", hostile, '"V1"<', None, cells), *real.rows[:3]),
        GridFilters(),
        {},
    )
    template = environment().get_template("grid_rows.html")
    for grid in (real, made):
        expected = template.render(grid=grid, symbols=symbols)
        assert str(grid_rows_html(grid)) == expected
    written = str(grid_rows_html(made))
    assert "<i>" not in written
    assert "\u202e" not in written
    assert "&lt;i&gt;X&lt;/i&gt;" in written
