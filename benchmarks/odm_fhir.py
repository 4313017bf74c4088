"""ODM and FHIR export benchmark: the adapters' cost per item vs. a raw baseline.

Both sides run in this process, one after the other, on the same made-up patients (every form
of every kiosk visit V1–V8, answers from the demo generator, checklists expanded as the ODM
file does):

* app: ``OdmWriter.add_patient`` (every ItemData of the patient, missing flags, audit records,
  escaping) and ``FhirWriter.add_patient`` (one QuestionnaireResponse line per response);
* raw ODM baseline: one ``<ItemData ItemOID=… Value=…/>`` line per item written with a bare
  f-string and ``xml.sax.saxutils.escape`` to a file: no structure, audit or flags;
* raw FHIR baseline: one ``json.dumps`` per response of a flat ``{linkId: answer}`` dict.

Run ``python benchmarks/odm_fhir.py [--patients 60] [--json]``. The figures that matter are
``odm_us_per_item`` (µs per ItemData, goal a few µs) and the two ratios app ÷ raw time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from epro.demo import demo_answer
from epro.export.fhir_ndjson import fhir_writer
from epro.export.odm import odm_writer
from epro.export.records import ExportContext, ExportResponse, PatientRecord
from epro.forms import Form, ItemType, load_forms
from epro.schedule import Study, load_study

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _context(forms: dict[str, Form], study: Study) -> ExportContext:
    return ExportContext(
        forms={(f.id, f.version): f for f in forms.values()},
        visit_weeks={v.code: v.week for v in study.visits},
        infusion_visits=("V1", "V3", "V5"),
        baseline_visit=study.baseline_visit,
        study_id=study.id,
        study_version=study.version,
        deidentified=False,
        created_at=START + timedelta(days=400),
    )


def _patients(n: int, forms: dict[str, Form], study: Study) -> list[PatientRecord]:
    rng = random.Random(7)
    made: list[PatientRecord] = []
    for p in range(n):
        code = f"DEMO-{p:04d}"
        responses: list[ExportResponse] = []
        for visit in study.visits:
            if not visit.kiosk:
                continue
            day = START + timedelta(weeks=visit.week)
            for form_id in visit.forms:
                form = forms[form_id]
                who = ["staff"] if form_id == "clinician" else ["child"]
                if form_id == "jamar":
                    who = ["parent", "child"]
                for respondent in who:
                    rid = str(uuid.UUID(int=rng.getrandbits(128)))
                    at = day + timedelta(minutes=len(responses))
                    answers = {
                        item.link_id: demo_answer(item, rng, 0.4)
                        for item in form.answerable_items
                        if item.enable_when is None and item.type is not ItemType.TEXT
                    }
                    responses.append(
                        ExportResponse(
                            response_id=rid,
                            site="site-a",
                            device_id=f"kiosk-{p % 3}",
                            patient=code,
                            visit=visit.code,
                            form_id=form.id,
                            form_version=form.version,
                            form_sha256=form.sha256,
                            respondent=respondent,
                            language="nl",
                            started_at=at - timedelta(minutes=9),
                            submitted_at=at,
                            received_at=at + timedelta(minutes=2),
                            receipt_id=rid,
                            out_of_window=False,
                            out_of_window_reason=None,
                            envelope_sha256=hashlib.sha256(rid.encode()).hexdigest(),
                            answers=answers,
                        )
                    )
        made.append(PatientRecord(code, "site-a", "2014-05", START.date(), [], responses))
    return made


def _raw_odm(patients: list[PatientRecord], forms: dict[str, Form], path: Path) -> int:
    """The same answers as one flat ItemData line each; returns the number of lines."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for patient in patients:
            lines = []
            for response in patient.responses:
                form = forms[response.form_id]
                for item in form.answerable_items:
                    value = response.answers.get(item.link_id)
                    if item.type is ItemType.CHECKLIST:
                        ticked = value if isinstance(value, list) else []
                        for option in item.options:
                            on = "1" if option.code in ticked else "0"
                            lines.append(
                                f'<ItemData ItemOID="IT.{item.link_id}__{option.code}" '
                                f'Value="{on}"/>\n'
                            )
                        count += len(item.options)
                        continue
                    text = escape(str(value), {'"': "&quot;"})
                    lines.append(f'<ItemData ItemOID="IT.{item.link_id}" Value="{text}"/>\n')
                    count += 1
            out.write("".join(lines))
    return count


def _raw_fhir(patients: list[PatientRecord], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for patient in patients:
            lines = [
                json.dumps(
                    {"id": r.response_id, "item": dict(r.answers)},
                    sort_keys=True,
                    separators=(",", ":"),
                )
                + "\n"
                for r in patient.responses
            ]
            out.writelines(lines)


def run(n: int) -> dict[str, Any]:
    forms = load_forms()
    study = load_study()
    context = _context(forms, study)
    patients = _patients(n, forms, study)
    responses = sum(len(p.responses) for p in patients)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        odm = odm_writer(study)
        odm.begin(out, context)
        started = time.perf_counter()
        for patient in patients:
            odm.add_patient(patient)
        odm_seconds = time.perf_counter() - started
        started = time.perf_counter()
        odm.finish()
        finish_seconds = time.perf_counter() - started
        size = (out / "odm" / "study.xml").stat().st_size
        with (out / "odm" / "study.xml").open(encoding="utf-8") as written:
            items = sum(line.startswith("<ItemData ") for line in written)

        started = time.perf_counter()
        raw_items = _raw_odm(patients, forms, out / "raw.xml")
        raw_odm_seconds = time.perf_counter() - started

        fhir = fhir_writer()
        fhir.begin(out, context)
        started = time.perf_counter()
        for patient in patients:
            fhir.add_patient(patient)
        fhir_seconds = time.perf_counter() - started
        fhir.finish()
        started = time.perf_counter()
        _raw_fhir(patients, out / "raw.ndjson")
        raw_fhir_seconds = time.perf_counter() - started
    assert raw_items == items, (raw_items, items)
    return {
        "benchmark": "odm_fhir",
        "patients": n,
        "responses": responses,
        "item_data": items,
        "odm_us_per_item": round(odm_seconds / items * 1e6, 3),
        "odm_raw_us_per_item": round(raw_odm_seconds / items * 1e6, 3),
        "odm_ratio": round(odm_seconds / raw_odm_seconds, 2),
        "odm_finish_s": round(finish_seconds, 3),
        "odm_bytes_per_item": round(size / items, 1),
        "fhir_us_per_response": round(fhir_seconds / responses * 1e6, 1),
        "fhir_us_per_item": round(fhir_seconds / items * 1e6, 3),
        "fhir_ratio": round(fhir_seconds / raw_fhir_seconds, 2),
        "baseline": (
            "ODM: one flat ItemData line per item (checklists per option) by f-string and "
            "saxutils.escape, written per patient; FHIR: json.dumps of {id, linkId: answer} "
            "per response; both to a file in the same folder, in the same process"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--patients", type=int, default=60, help="patients (default 60)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.patients < 1:
        parser.error("--patients must be at least 1")
    result = run(args.patients)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"odm/fhir benchmark: {result['patients']} patients, {result['responses']} responses, "
        f"{result['item_data']} ItemData"
    )
    print(
        f"ODM   {result['odm_us_per_item']:.3f} µs per ItemData "
        f"(raw {result['odm_raw_us_per_item']:.3f}, ratio {result['odm_ratio']}), "
        f"{result['odm_bytes_per_item']} bytes each, finish {result['odm_finish_s']} s"
    )
    print(
        f"FHIR  {result['fhir_us_per_response']:.1f} µs per response, "
        f"{result['fhir_us_per_item']:.3f} µs per item (ratio {result['fhir_ratio']})"
    )
    print(f"baseline: {result['baseline']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
