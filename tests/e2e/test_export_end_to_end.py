"""The data manager's export, end to end, on a synthetic trial (DESIGN §9 "Data out").

Made-up patients go through all nine visits on real kiosk stores, answered through the real
session service and synced to a real study server on 127.0.0.1 (SQLite file, and PostgreSQL
when ``EPRO_TEST_POSTGRES_URL`` is set). The server's ``epro-sync bundle`` writes the sealed
bundle; ``epro export`` opens it offline with the study private key. Then:

* every answer given at a kiosk is in ``long.csv`` and ``wide.csv`` exactly as it was given,
  with ``na``, ``skipped``, not reached and not collected kept apart (instruments.md §2);
* every submitted response is exported exactly once, and no draft is (DESIGN §7, §9);
* ``problems.csv`` is empty, and both commands exit 0;
* every score in ``scores.csv`` equals what ``epro score`` gives for the same answers of that
  patient's visit, with the baseline visit V1 as ``--baseline`` (DESIGN §9: scoring at export
  is the source of truth; instruments.md §2–§4.1).

The expected values come from the answers the test itself gave and from ``epro score``; none
is read back from the export's own code.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from epro.cli import main as epro_main
from epro.crypto import FAST_KDF, generate_study_keypair
from epro.forms import Form, load_forms
from epro.forms.enablement import rule_holds
from epro.forms.model import NA, SKIPPED, AnswerValue, FormKind, Item, ItemType
from epro.schedule import Study, age_at, load_study
from epro_sync.cli import main as epro_sync_main
from epro_sync.config import ServerSettings
from epro_sync.testing import running_server
from tests.helpers.synthetic_trial import GivenResponse, Trial, TrialPatient, run_trial

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_ENV = "EPRO_TEST_POSTGRES_URL"
STUDY_KEY_PASSPHRASE = "data manager's own passphrase"
SITE_B = "SITE-B"


# --------------------------------------------------------------------------- running it


@contextlib.contextmanager
def _database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh server database: a SQLite file, or a new PostgreSQL schema dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'server.sqlite3'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV}=postgresql+psycopg://user@host/db")
    schema = f"epro_e2e_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@dataclass(frozen=True)
class Outcome:
    """What the run gave: the trial as answered, and what each command made of it."""

    trial: Trial
    forms: Mapping[str, Form]
    study: Study
    folder: Path
    #: Exit status and standard error of each command: the whole trial's bundle and export,
    #: and those of site B alone.
    statuses: Mapping[str, tuple[int, str]]
    out: Path

    def path(self, name: str, out: Path | None = None) -> Path:
        path = (out or self.out) / name
        assert path.is_file(), f"the export wrote no {name} (MANIFEST.json lists what it wrote)"
        return path

    def rows(self, name: str, out: Path | None = None) -> list[dict[str, str]]:
        with self.path(name, out).open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    def header(self, name: str) -> list[str]:
        with self.path(name).open(encoding="utf-8", newline="") as handle:
            return next(csv.reader(handle))


def _run(command: Callable[[list[str]], int], argv: list[str]) -> tuple[int, str, str]:
    """A command's `main(argv)` in this process: exit status, standard output and error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = command(argv)
        except SystemExit as exit_:  # argparse's way of refusing the command line
            status = exit_.code if isinstance(exit_.code, int) else 2
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def outcome(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    folder = tmp_path_factory.mktemp(f"trial-{request.param}")
    forms, study = load_forms(), load_study()
    study_key = generate_study_keypair()
    public_file = folder / "study-public.json"
    public_file.write_text(study_key.public_key().to_json(), encoding="utf-8")
    # The private half stays with the data manager, under their own passphrase.
    private_file = folder / "study-private.json"
    private_file.write_text(
        study_key.to_encrypted_json(STUDY_KEY_PASSPHRASE, FAST_KDF), encoding="utf-8"
    )
    with _database(request.param, folder) as url, pytest.MonkeyPatch.context() as env:
        settings = ServerSettings(
            database_url=url,
            study_public_key_file=public_file,
            study_file=ROOT / "forms" / "study.toml",
        )
        with running_server(settings) as server:
            trial = run_trial(server, folder, forms, study)
        # The server side: `epro-sync bundle` reads its settings from the environment.
        env.setenv("EPRO_SYNC_DATABASE_URL", url)
        env.setenv("EPRO_SYNC_STUDY_PUBLIC_KEY_FILE", str(public_file))
        env.setenv("EPRO_SYNC_STUDY_FILE", str(ROOT / "forms" / "study.toml"))
        statuses: dict[str, tuple[int, str]] = {}
        for name, site in (("trial", None), ("site", SITE_B)):
            bundle = folder / f"{name}.bundle"
            only = [] if site is None else ["--site", site]
            status, _, err = _run(epro_sync_main, ["bundle", "--out", str(bundle), *only])
            statuses[f"{name} bundle"] = (status, err)
            # The data manager's offline machine: `epro export` with the study private key.
            env.setenv("EPRO_STUDY_KEY_PASSPHRASE", STUDY_KEY_PASSPHRASE)
            key, out = str(private_file), str(folder / name)
            status, _, err = _run(
                epro_main, ["export", str(bundle), "--study-key", key, "--out", out]
            )
            statuses[f"{name} export"] = (status, err)
            env.delenv("EPRO_STUDY_KEY_PASSPHRASE")
    return Outcome(trial, forms, study, folder, statuses, folder / "trial")


# ------------------------------------------------------------------ rendering what was given


def _number(value: float | int) -> str:
    """A number as the CSV files write it: no ``.0`` on a whole number, else shortest repr."""
    if isinstance(value, int):
        return str(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _is(value: object, code: str) -> bool:
    return isinstance(value, str) and value == code


def _long_cells(
    item: Item, given: AnswerValue | None, answers: Mapping[str, AnswerValue]
) -> tuple[str, str]:
    """(value, missing) of ``long.csv`` for an item answered ``given`` (None: not answered),
    among the response's ``answers``: an item the session hid by its condition (the kiosk
    never showed it) is not asked, any other unanswered item not reached."""
    if given is None:
        return "", "not_reached" if rule_holds(item.enable_when, answers) else "not_asked"
    if _is(given, SKIPPED):
        return "", "skipped"
    if _is(given, NA) and item.type is not ItemType.TEXT:
        return "", "na"
    if isinstance(given, bool):
        return ("1" if given else "0"), ""
    if isinstance(given, list):
        ticked = set(given)
        return ";".join(str(c) for c in item.codes if str(c) in ticked), ""
    if isinstance(given, int | float):
        return _number(given), ""
    return given, ""


def _wide_cells(
    item: Item, given: AnswerValue | None, answers: Mapping[str, AnswerValue]
) -> dict[str, str]:
    """The ``wide.csv`` cells of one item (one per option for a checklist), by column suffix."""
    value, missing = _long_cells(item, given, answers)
    if item.type is not ItemType.CHECKLIST:
        return {"": missing or value}
    if missing:
        return {f"__{code}": missing for code in item.codes}
    ticked = set(given) if isinstance(given, list) else set()
    return {f"__{code}": ("1" if str(code) in ticked else "0") for code in item.codes}


def _column(form: Form, respondent: str, link_id: str) -> str:
    return link_id if form.kind is FormKind.STAFF else f"{link_id}_{respondent}"


def _prefix(form: Form, respondent: str) -> str:
    return form.id if form.kind is FormKind.STAFF else f"{form.id}_{respondent}"


def _utc(cell: str) -> datetime:
    return datetime.fromisoformat(cell.replace("Z", "+00:00"))


def _patient(trial: Trial, code: str) -> TrialPatient:
    return next(p for p in trial.patients if p.code == code)


# ------------------------------------------------------------------------------- the tests


def test_bundling_and_exporting_the_trial_succeed_and_report_no_problem(outcome: Outcome) -> None:
    # DESIGN §9: the export lists problems without stopping; a clean trial has none.
    for command in ("trial bundle", "trial export"):
        status, stderr = outcome.statuses[command]
        assert status == 0, f"{command}: {stderr}"
    for name in ("long.csv", "wide.csv", "scores.csv", "problems.csv", "MANIFEST.json"):
        assert (outcome.out / name).is_file(), f"the export wrote no {name}"
    problems = outcome.rows("problems.csv")
    assert problems == [], f"{len(problems)} problem(s), the first: {problems[:1]}"


def test_every_submitted_response_is_exported_exactly_once_and_no_draft_is(
    outcome: Outcome,
) -> None:
    # DESIGN §7: one stored response per response id; §9: the long file holds every response.
    trial, forms = outcome.trial, outcome.forms
    rows = outcome.rows("long.csv")
    per_response = Counter(row["response_id"] for row in rows)
    assert set(per_response) == set(trial.given), (
        f"missing: {sorted(set(trial.given) - set(per_response))[:3]}, "
        f"unexpected: {sorted(set(per_response) - set(trial.given))[:3]}"
    )
    for response_id, given in trial.given.items():
        items = forms[given.form_id].answerable_items
        assert per_response[response_id] == len(items), (
            f"{given.form_id} response {response_id}: {per_response[response_id]} rows "
            f"for {len(items)} items"
        )
        link_ids = [r["link_id"] for r in rows if r["response_id"] == response_id]
        assert sorted(link_ids) == sorted(item.link_id for item in items)
    assert not set(trial.unsubmitted) & set(per_response), "a stopped draft was exported"
    # wide.csv: each response in exactly one cell of a response-id column.
    wide = outcome.rows("wide.csv")
    in_wide = Counter(
        value
        for row in wide
        for name, value in row.items()
        if name.endswith("_response_id") and value
    )
    assert in_wide == Counter(dict.fromkeys(trial.given, 1))


def test_every_answer_in_the_long_file_is_the_answer_given_at_the_kiosk(outcome: Outcome) -> None:
    # instruments.md §2: a variable is the item's link_id; "na" and "skipped" are kept apart
    # from an item never reached.
    trial, forms = outcome.trial, outcome.forms
    wrong: list[str] = []
    for row in outcome.rows("long.csv"):
        given = trial.given[row["response_id"]]
        form = forms[given.form_id]
        item = form.item(row["link_id"])
        expected = _long_cells(item, given.answers.get(item.link_id), given.answers)
        if (row["value"], row["missing"]) != expected:
            wrong.append(
                f"{given.patient} {given.visit} {given.form_id}/{given.respondent} "
                f"{item.link_id}: exported {(row['value'], row['missing'])}, given {expected}"
            )
    assert not wrong, f"{len(wrong)} answer(s) differ, e.g.\n" + "\n".join(wrong[:10])


def test_the_long_file_carries_each_responses_routing_and_times_as_given(
    outcome: Outcome,
) -> None:
    # DESIGN §3: every response records form id, version, language and respondent; §4: an
    # out-of-window session is flagged in exports.
    trial = outcome.trial
    seen: set[str] = set()
    for row in outcome.rows("long.csv"):
        if row["response_id"] in seen:
            continue
        seen.add(row["response_id"])
        given = trial.given[row["response_id"]]
        assert (
            row["site"],
            row["patient"],
            row["visit"],
            row["form_id"],
            row["form_version"],
            row["respondent"],
            row["language"],
            row["out_of_window"],
            row["visit_date"],
        ) == (
            given.site,
            given.patient,
            given.visit,
            given.form_id,
            given.form_version,
            given.respondent,
            given.language,
            "1" if given.out_of_window_reason else "0",
            given.day.isoformat(),
        ), given.response_id
        assert _utc(row["submitted_at"]) == given.submitted_at, given.response_id
    assert any(g.out_of_window_reason for g in trial.given.values())  # the case is covered


def test_every_answer_in_the_wide_file_is_the_answer_given_and_forms_not_given_are_not_collected(
    outcome: Outcome,
) -> None:
    # layout.py's naming rule: <link_id>_<respondent> on patient forms, plain on staff forms,
    # <name>__<code> per checklist option; a form not submitted is "not_collected".
    trial, forms, study = outcome.trial, outcome.forms, outcome.study
    rows = {(row["patient"], row["visit"]): row for row in outcome.rows("wide.csv")}
    expected_keys = {(p.code, v.code) for p in trial.patients for v in study.visits}
    assert set(rows) == expected_keys
    wrong: list[str] = []
    for (code, visit), row in rows.items():
        patient = _patient(trial, code)
        day = trial.visit_days(code)[visit]
        assert row["visit_date"] == day.isoformat(), (code, visit)
        assert float(row["age_years"]) == age_at(patient.birth_ym, day), (code, visit)
        given = {(g.form_id, g.respondent): g for g in trial.of_visit(code, visit)}
        for form in forms.values():
            for who in map(str, form.respondents):
                response = given.get((form.id, who))
                prefix = _prefix(form, who)
                status = "collected" if response else "not_collected"
                if row[f"{prefix}_status"] != status:
                    wrong.append(f"{code} {visit} {prefix}: {row[f'{prefix}_status']}")
                if response is None:
                    # Every cell of a form not given at this visit says so; nothing else.
                    expected = {f"{prefix}_version": "", f"{prefix}_response_id": ""}
                    for item in form.answerable_items:
                        base = _column(form, who, item.link_id)
                        for suffix in _wide_cells(item, None, {}):
                            expected[base + suffix] = "not_collected"
                    for name, cell in expected.items():
                        if row.get(name) != cell:
                            wrong.append(f"{code} {visit} {name}: {row.get(name)!r}, not collected")
                    continue
                assert row[f"{prefix}_response_id"] == response.response_id
                assert row[f"{prefix}_version"] == response.form_version
                for item in form.answerable_items:
                    base = _column(form, who, item.link_id)
                    for suffix, cell in _wide_cells(
                        item, response.answers.get(item.link_id), response.answers
                    ).items():
                        if row.get(base + suffix) != cell:
                            wrong.append(
                                f"{code} {visit} {base + suffix}: exported "
                                f"{row.get(base + suffix)!r}, given {cell!r}"
                            )
    assert not wrong, f"{len(wrong)} cell(s) differ, e.g.\n" + "\n".join(wrong[:10])


# --------------------------------------------------------------------------------- scores


def _visit_file(folder: Path, trial: Trial, code: str, visit: str) -> Path:
    """The visit's recorded answers as an `epro score` input file."""
    patient = _patient(trial, code)
    day = trial.visit_days(code)[visit]
    data = {
        "responses": [
            {"form": g.form_id, "respondent": g.respondent, "answers": dict(g.answers)}
            for g in sorted(trial.of_visit(code, visit), key=lambda g: (g.form_id, g.respondent))
        ],
        "age": age_at(patient.birth_ym, day),
        "visit": visit,
    }
    path = folder / "score-input" / f"{code}-{visit}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


#: instruments.md §4.1: a repeat infusion is decided at V3 from the response at V2, and at V5
#: from the response at V4.
RESPONSE_VISIT_OF = {"V3": "V2", "V5": "V4"}


def _epro_score(outcome: Outcome, code: str, visit: str) -> dict[str, Any]:
    """The scores `epro score` gives for the answers given at this visit: V1 the baseline, and
    the response visit as ``--previous`` where a repeat infusion is decided."""
    trial, folder = outcome.trial, outcome.folder
    argv = ["score", str(_visit_file(folder, trial, code, visit))]
    baseline = outcome.study.baseline_visit
    if visit != baseline:
        argv += ["--baseline", str(_visit_file(folder, trial, code, baseline))]
    if visit in RESPONSE_VISIT_OF:
        argv += ["--previous", str(_visit_file(folder, trial, code, RESPONSE_VISIT_OF[visit]))]
    status, out, err = _run(epro_main, argv)
    assert status == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def _score_matches(cell: str, expected: object) -> bool:
    if expected is None:
        return cell == ""
    if isinstance(expected, bool):
        return cell == ("1" if expected else "0")
    if isinstance(expected, int | float):
        # Both sides are written with the shortest round-trip rendering, so equal floats give
        # equal numbers; no tolerance is needed.
        try:
            number = float(cell)
        except ValueError:
            return False
        return math.isfinite(number) and number == float(expected)
    return cell == str(expected)


@pytest.fixture(scope="module")
def epro_score(outcome: Outcome) -> dict[tuple[str, str], dict[str, Any]]:
    """`epro score` of every visit held: {"scores": …, "notes": …} by (patient, visit)."""
    trial = outcome.trial
    return {
        (p.code, v.code): _epro_score(outcome, p.code, v.code)
        for p in trial.patients
        for v in outcome.study.visits
        if trial.of_visit(p.code, v.code)
    }


@pytest.fixture(scope="module")
def expected_scores(
    epro_score: dict[tuple[str, str], dict[str, Any]],
) -> dict[tuple[str, str], dict[str, Any]]:
    return {key: result["scores"] for key, result in epro_score.items()}


def test_every_score_in_the_scores_file_equals_epro_score_on_the_same_answers(
    outcome: Outcome, expected_scores: dict[tuple[str, str], dict[str, Any]]
) -> None:
    # DESIGN §9: scoring at export is the source of truth, and it is the scoring of
    # `epro score VISIT.json --baseline BASE.json` (instruments.md §2–§4.1).
    header = outcome.header("scores.csv")
    rows = {(row["patient"], row["visit"]): row for row in outcome.rows("scores.csv")}
    assert set(rows) == set(expected_scores)
    names = [n for n in header if n not in ("site", "patient", "visit", "visit_date")]
    wrong: list[str] = []
    for key, expected in expected_scores.items():
        row = rows[key]
        dropped = sorted(n for n, v in expected.items() if v is not None and n not in names)
        if dropped:
            wrong.append(f"{key}: scores missing from scores.csv: {dropped}")
        for name in names:
            if not _score_matches(row[name], expected.get(name)):
                wrong.append(
                    f"{key} {name}: exported {row[name]!r}, epro score {expected.get(name)!r}"
                )
    assert not wrong, f"{len(wrong)} score(s) differ, e.g.\n" + "\n".join(wrong[:12])


def test_every_null_score_has_the_reason_epro_score_gives(
    outcome: Outcome, epro_score: dict[tuple[str, str], dict[str, Any]]
) -> None:
    # instruments.md §3, §4: a null score names its missing inputs; the export's note for an
    # empty cell is the scoring's own.
    notes = {
        (row["patient"], row["visit"], row["score"]): row["note"]
        for row in outcome.rows("score_notes.csv")
    }
    wrong: list[str] = []
    for (code, visit), result in epro_score.items():
        for name, note in result["notes"].items():
            if result["scores"].get(name) is None and notes.get((code, visit, name)) != note:
                wrong.append(
                    f"{code} {visit} {name}: exported {notes.get((code, visit, name))!r}, "
                    f"epro score {note!r}"
                )
    assert not wrong, f"{len(wrong)} note(s) differ, e.g.\n" + "\n".join(wrong[:10])
    assert any(r["notes"] for r in epro_score.values())  # there are null scores to explain


def test_the_trial_reaches_acr_pedi_30_and_loses_it_so_the_repeat_infusion_rule_has_work(
    expected_scores: dict[tuple[str, str], dict[str, Any]],
) -> None:
    # instruments.md §4.1: the patients planned to respond at V2 (or V4) and lose it at the
    # next visit really do, by `epro score`; otherwise this test would not cover the rule.
    for code, responded, lost in (
        ("DEMO-101", "V2", "V3"),
        ("DEMO-103", "V2", "V3"),
        ("DEMO-103", "V4", "V5"),
        ("DEMO-104", "V2", "V3"),
    ):
        assert expected_scores[(code, responded)]["acr_pedi_30"] is True, (code, responded)
        assert expected_scores[(code, lost)]["acr_pedi_30"] is False, (code, lost)
    assert expected_scores[("DEMO-106", "V2")]["acr_pedi_30"] is True
    assert expected_scores[("DEMO-106", "V3")]["acr_pedi_30"] is True
    decided = {
        key: (scores["repeat_infusion_eligible"], scores["repeat_infusion_reason"])
        for key, scores in expected_scores.items()
        if key[1] in RESPONSE_VISIT_OF
    }
    assert decided[("DEMO-101", "V3")] == (True, "ACR Pedi 30 at V2, lost at V3")
    assert decided[("DEMO-103", "V3")] == (True, "ACR Pedi 30 at V2, lost at V3")
    assert decided[("DEMO-103", "V5")] == (True, "ACR Pedi 30 at V4, lost at V5")
    eligible, reason = decided[("DEMO-104", "V3")]
    assert eligible is False
    assert "disqualifying treatment since the last infusion" in reason
    assert decided[("DEMO-106", "V3")][0] is False  # the response held: nothing waned
    assert decided[("DEMO-105", "V3")][0] is False  # never responded


def _given(outcome: Outcome) -> list[GivenResponse]:
    return list(outcome.trial.given.values())


def test_the_trial_covers_every_kind_of_answer_and_every_respondent_rule(
    outcome: Outcome,
) -> None:
    # instruments.md §2: "na", "skipped" and never reached; checklists; the enable_when
    # follow-ups; the respondent rules by age (§2.1–§2.3) including a child who turns 8.
    given = _given(outcome)
    values = [v for g in given for v in g.answers.values()]
    assert any(_is(v, NA) for v in values)
    assert any(_is(v, SKIPPED) for v in values)
    assert any(isinstance(v, list) and len(v) > 1 for v in values)
    assert any(isinstance(v, list) and not v for v in values)
    assert any("jamar_stiffness_duration" in g.answers for g in given)
    assert any("chaq_devices_other" in g.answers for g in given)
    assert outcome.trial.unsubmitted
    chaq_of_102 = {
        g.visit: g.respondent for g in given if (g.patient, g.form_id) == ("DEMO-102", "chaq")
    }
    assert chaq_of_102["V1"] == "parent"
    assert chaq_of_102["V8"] == "child"
    assert {g.kiosk for g in given if g.site == "SITE-A"} == {"a1", "a2"}


def test_a_bundle_of_one_site_exports_that_sites_responses_and_no_other(outcome: Outcome) -> None:
    # DESIGN §9: `epro-sync bundle --site S` carries one site's data only.
    for command in ("site bundle", "site export"):
        status, stderr = outcome.statuses[command]
        assert status == 0, f"{command}: {stderr}"
    site_b = {rid for rid, g in outcome.trial.given.items() if g.site == SITE_B}
    rows = outcome.rows("long.csv", outcome.folder / "site")
    assert {row["response_id"] for row in rows} == site_b
    assert {row["site"] for row in rows} == {SITE_B}
    assert outcome.rows("problems.csv", outcome.folder / "site") == []
