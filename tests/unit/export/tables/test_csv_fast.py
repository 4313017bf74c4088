"""The fast long and wide writers give the bytes of the reference writers, cell for cell.

DESIGN.md §9: the same records give byte-identical files. The fast writers render cells ahead
and join rows as text; the reference writers go cell by cell through the csv module. Both run
on the hand-made study and on generated answers whose free text holds commas, quotes, line
breaks and non-ASCII characters.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from epro.demo import demo_answer
from epro.export.csv_long import LongCsvWriter, ReferenceLongCsvWriter
from epro.export.csv_wide import ReferenceWideCsvWriter, WideCsvWriter
from epro.export.records import (
    ExportContext,
    ExportResponse,
    FormatWriter,
    PatientRecord,
    ResponseStatus,
    VisitRecord,
)
from epro.forms.model import NA, SKIPPED, AnswerValue, Form, ItemType
from tests.helpers.tables_kit import V1_DATE, Scenario, at, response

#: Free texts that need quoting, or look as if they might.
TEXTS = (
    "plain",
    "a, b",
    'a "grip" ruler',
    '"',
    "two\nlines",
    "carriage\rreturn",
    "windows\r\nline",
    "naïve – ‘quotes’ 日本",
    " leading space",
    "trailing comma,",
    "na",
    "skipped",
    "",
)

PAIRS = [(LongCsvWriter, ReferenceLongCsvWriter), (WideCsvWriter, ReferenceWideCsvWriter)]


def write(writer: FormatWriter, scenario: Scenario, out: Path) -> tuple[bytes, int]:
    out.mkdir(parents=True)
    writer.begin(out, scenario.context)
    for patient in scenario.patients:
        writer.add_patient(patient)
    [written] = writer.finish()
    assert written.rows is not None
    return (out / written.path).read_bytes(), written.rows


def generated_answers(form: Form, rng: random.Random) -> dict[str, AnswerValue]:
    answers: dict[str, AnswerValue] = {}
    for item in form.answerable_items:
        draw = rng.random()
        if draw < 0.15:
            continue  # not reached, or not asked by its condition
        if draw < 0.22:
            answers[item.link_id] = SKIPPED
        elif draw < 0.27 and item.na_option:
            answers[item.link_id] = NA
        elif item.type is ItemType.TEXT:
            answers[item.link_id] = rng.choice(TEXTS)
        else:
            value = demo_answer(item, rng, rng.random())
            if isinstance(value, list):
                rng.shuffle(value)  # ticked in any order
            answers[item.link_id] = value
    return answers


def generated(context: ExportContext, seed: int) -> Scenario:
    """Patients with every known form version answered at random over three visits."""
    rng = random.Random(seed)
    reasons = itertools.cycle(TEXTS)
    forms = sorted(context.forms.values(), key=lambda form: (form.id, form.version))
    patients = []
    for number in range(1, 7):
        code = f"DEMO-{number:03d}"
        visits = []
        every: list[ExportResponse] = []
        for index, visit in enumerate(("V1", "V2", "V3")):
            day = V1_DATE + timedelta(weeks=4 * index)
            given: list[ExportResponse] = []
            for form in forms:
                for respondent in form.respondents:
                    if rng.random() < 0.2:
                        continue
                    error = rng.random() < 0.25
                    given.append(
                        response(
                            f"r-{code}-{visit}-{form.id}-{form.version}-{respondent}",
                            form.id,
                            form.version,
                            str(respondent),
                            visit,
                            at(day, 9, rng.randrange(60)),
                            generated_answers(form, rng),
                            patient=code,
                            site=rng.choice(["S01", "S,02"]),
                            status=ResponseStatus.ENTERED_IN_ERROR
                            if error
                            else ResponseStatus.VALID,
                            reason=next(reasons) if error else None,
                            out_of_window=rng.random() < 0.1,
                        )
                    )
            every.extend(given)
            valid = [r for r in given if r.status is ResponseStatus.VALID]
            if valid:
                visits.append(VisitRecord(visit, day, 9.5 + index / 12, valid, {}, {}))
        patients.append(PatientRecord(code, "S01", "2014-08", V1_DATE, visits, every))
    return Scenario(context, patients)


def assert_same_bytes(scenario: Scenario, out: Path, pairs: Sequence[tuple[type, type]]) -> None:
    for fast, reference in pairs:
        expected = write(reference(), scenario, out / f"{reference.__name__}")
        assert write(fast(), scenario, out / f"{fast.__name__}") == expected, fast.__name__


def test_the_fast_writers_give_the_reference_bytes_on_the_hand_made_study(
    scenario: Scenario, deidentified: Scenario, every_form: Scenario, tmp_path: Path
) -> None:
    for name, study in [("plain", scenario), ("deid", deidentified), ("all", every_form)]:
        assert_same_bytes(study, tmp_path / name, PAIRS)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_fast_writers_give_the_reference_bytes_on_free_text_that_needs_quoting(
    every_form: Scenario, deidentified: Scenario, tmp_path: Path, seed: int
) -> None:
    for name, study in [("plain", every_form), ("deid", deidentified)]:
        made = generated(study.context, seed)
        assert_same_bytes(made, tmp_path / name, PAIRS)
    long_bytes, _ = write(LongCsvWriter(), generated(every_form.context, seed), tmp_path / "x")
    # The answers did hold cells that need quoting and characters beyond ASCII.
    assert b'"a ""grip"" ruler"' in long_bytes or b'"two\nlines"' in long_bytes
    assert b'"S,02"' in long_bytes
    assert "日本".encode() in long_bytes
