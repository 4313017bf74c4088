"""Export benchmark: `epro export` of a bundle of N responses vs. a bare loop over its envelopes.

Both sides read the same bundle file, each in a child process of its own:

* export: :func:`epro.export.pipeline.run_export` in full, as ``epro export`` runs it — the
  bundle checked (hash, counts, order), every envelope checked and opened in worker processes
  (one per core: Ed25519 against the registered key, HPKE, the document against its envelope,
  every answer validated), responses grouped per patient, every visit scored,
  ``problems.csv``, the writers of ``default_writers()`` and ``MANIFEST.json``;
* bare: one loop in one process that, per response, parses the line and the envelope,
  verifies the Ed25519 signature, opens the HPKE seal and parses the sealed JSON. Nothing else.

``export_ratio`` = bare seconds ÷ export seconds (goal ≥ 0.5; it can pass 1 when the
export's workers have cores to themselves). The bare loop runs before and after the export
and its mean is used, so a change in machine load affects both sides alike. ``cpu_ratio`` =
bare CPU seconds ÷ export CPU seconds (workers included): the work done per response, which
a busy machine does not change — the export's wall time is about its CPU time divided by the
cores it gets.

Memory: ``peak_rss_mb`` is the export process's peak resident size (``VmHWM``, which a child
does not inherit from its parent as it does ``ru_maxrss``), ``worker_peak_rss_mb`` the largest
of its workers'. To show that memory does not grow with the number of responses the export
also runs on a bundle of the first quarter of the patients: ``rss_growth`` = peak at N ÷ peak
at N/4 (flat: about 1; holding the responses would make it about 4 at large N).

The bundle is a trial: patients of 10 years, visits V0 (clinician data) and V1–V8 (CHAQ, JAMAR
by parent and child, both VAS forms, clinician data), 49 responses a patient, two kiosks;
every response sealed and signed as at Submit (with the kiosk's scores), stored as the server
stores it. Building it is timed apart and uses every core.

    python benchmarks/export.py [--responses 100000] [--workers N] [--json]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SITE = "BENCH"
PASSPHRASE = "benchmark study key"
BASELINE = date(2025, 1, 6)
AGE = 10
PER_PATIENT = 49


# ----------------------------------------------------------------------------- the bundle


_BUILDER: dict[str, Any] = {}


def _start_builder(public_json: str, device_keys: list[tuple[str, bytes]]) -> None:
    from epro.crypto import DeviceKey, StudyPublicKey
    from epro.forms import load_forms
    from epro.schedule import load_study

    _BUILDER["study_key"] = StudyPublicKey.from_json(public_json)
    _BUILDER["kiosks"] = [(d, DeviceKey.from_private_bytes(raw)) for d, raw in device_keys]
    _BUILDER["forms"] = load_forms()
    _BUILDER["study"] = load_study()


def _answers(form: Any, rng: random.Random, severity: float) -> dict[str, Any]:
    from epro.demo import demo_answer
    from epro.forms import ItemType

    # Valid answers of every kind the demo gives; items behind a condition, and free
    # text, are left unanswered (as a respondent who ticked nothing there would).
    return {
        item.link_id: demo_answer(item, rng, severity)
        for item in form.answerable_items
        if item.enable_when is None and item.type is not ItemType.TEXT
    }


def _patient_responses(number: int) -> list[Any]:
    """Every response of patient ``number``, sealed and signed, in bundle order."""
    from epro.bundle import ResponseRecord
    from epro.scoring import score_form
    from epro.session.submission import build_envelope, response_document
    from epro.store.domain import ResponseMeta, ResponseStatus, new_response_id

    forms, study = _BUILDER["forms"], _BUILDER["study"]
    device_id, device_key = _BUILDER["kiosks"][number % len(_BUILDER["kiosks"])]
    code = f"BENCH-{number:05d}"
    rng = random.Random(number)
    records = []
    for place, visit in enumerate(study.visits):
        day = BASELINE + timedelta(days=7 * visit.week)
        severity = max(0.1, 0.7 - 0.06 * place)
        for minute, form_id in enumerate(visit.forms):
            form = forms[form_id]
            respondents = ["staff"] if form_id == "clinician" else []
            if not respondents:
                respondents = list(study.respondents_for(form_id, AGE + 0.25))
            for who in respondents:
                at = datetime(day.year, day.month, day.day, 10, tzinfo=UTC) + timedelta(
                    minutes=minute, seconds=len(records)
                )
                meta = ResponseMeta(
                    id=new_response_id(at - timedelta(minutes=4)),
                    patient=code,
                    visit=visit.code,
                    form_id=form.id,
                    form_version=form.version,
                    form_sha256=form.sha256,
                    respondent=who,
                    language="en",
                    status=ResponseStatus.SUBMITTED,
                    started_at=at - timedelta(minutes=4),
                    updated_at=at,
                    out_of_window_reason=None,
                )
                answers = _answers(form, rng, severity)
                result = score_form(form.id, answers)
                document = response_document(
                    meta,
                    site=SITE,
                    device_id=device_id,
                    answers=answers,
                    scores=result.scores,
                    score_notes=result.notes,
                    submitted_at=at,
                )
                envelope = build_envelope(
                    meta,
                    form,
                    document=document,
                    site=SITE,
                    device_id=device_id,
                    study_key=_BUILDER["study_key"],
                    device_key=device_key,
                    submitted_at=at,
                )
                # As the server stores it: the signed JSON with sha256 and signature added.
                stored = json.loads(envelope.model_dump_json())
                text = json.dumps(stored, separators=(",", ":"))
                records.append(
                    ResponseRecord(
                        site=SITE,
                        patient=code,
                        visit=visit.code,
                        submitted_at=at,
                        response_id=meta.id,
                        device_id=device_id,
                        receipt_id=new_response_id(at + timedelta(hours=1)),
                        received_at=at + timedelta(hours=1),
                        sha256=envelope.sha256,
                        envelope=text,
                    )
                )
    return sorted(
        records,
        key=lambda r: (r.visit, r.submitted_at, r.response_id),
    )


def build(responses: int, folder: Path) -> dict[str, Any]:
    """The study key file and two bundles: every patient, and the first quarter of them."""
    from epro.bundle import BundleHeader, BundleWriter, DeviceRecord, RosterRecord
    from epro.crypto import FAST_KDF, DeviceKey, generate_study_keypair

    key = generate_study_keypair()
    key_file = folder / "study-private-key.json"
    key_file.write_text(key.to_encrypted_json(PASSPHRASE, FAST_KDF), encoding="utf-8")
    kiosks = [(f"0000000{n}-0000-4000-8000-000000000000", DeviceKey.generate()) for n in (1, 2)]
    patients = math.ceil(responses / PER_PATIENT)
    quarter_patients = math.ceil(patients / 4)
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    born = f"{BASELINE.year - AGE}-{BASELINE.month:02d}"
    bundles = {"full": folder / "full.bundle", "quarter": folder / "quarter.bundle"}
    handles = {name: path.open("wb") for name, path in bundles.items()}
    counts = {"full": 0, "quarter": 0}
    writers = {
        name: BundleWriter(handle, BundleHeader(now, 3, SITE, key.public_key().fingerprint()))
        for name, handle in handles.items()
    }
    for name, writer in writers.items():
        for device_id, device in kiosks:
            public = base64.b64encode(device.public_bytes()).decode()
            writer.write(DeviceRecord(device_id, SITE, "bench kiosk", public, now, None))
        for number in range(patients if name == "full" else quarter_patients):
            writer.write(RosterRecord(f"BENCH-{number:05d}", SITE, born, BASELINE))
    start = time.perf_counter()
    raw_keys = [(device_id, device.private_bytes()) for device_id, device in kiosks]
    with ProcessPoolExecutor(
        max_workers=os.cpu_count() or 1,
        initializer=_start_builder,
        initargs=(key.public_key().to_json(), raw_keys),
    ) as pool:
        for number, records in enumerate(pool.map(_patient_responses, range(patients))):
            for record in records:
                if counts["full"] == responses:
                    break
                writers["full"].write(record)
                counts["full"] += 1
                if number < quarter_patients:
                    writers["quarter"].write(record)
                    counts["quarter"] += 1
    for name, writer in writers.items():
        writer.finish()
        handles[name].close()
    return {
        "key_file": key_file,
        "bundles": bundles,
        "counts": counts,
        "patients": patients,
        "build_seconds": time.perf_counter() - start,
    }


# ------------------------------------------------------------------------------ the sides


def _peak_kib() -> int:
    """This process's peak RSS: VmHWM on Linux, else ru_maxrss (KiB on Linux, bytes on macOS)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak // 1024 if sys.platform == "darwin" else peak
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(found.group(1)) if found else 0


def _cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the export's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def side_export(bundle: Path, key_file: Path, out: Path, workers: int | None) -> dict[str, Any]:
    from epro.crypto import StudyPrivateKey
    from epro.export.pipeline import ExportOptions, run_export

    key = StudyPrivateKey.from_encrypted_json(key_file.read_text(encoding="utf-8"), PASSPHRASE)
    start, cpu = time.perf_counter(), _cpu_seconds()
    report = run_export(bundle, key, out, options=ExportOptions(workers=workers))
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    if report.exported != report.responses_in_bundle or report.problems:
        raise SystemExit(f"the benchmark bundle did not export cleanly: {report}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_kib": _peak_kib(),
        "workers_peak_kib": children,
    }


def side_bare(bundle: Path, key_file: Path) -> dict[str, Any]:
    """Verify, open and parse every envelope; the floor an export is compared with."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from epro.crypto import StudyPrivateKey, open_sealed
    from epro.protocol import SEAL_INFO, wire_signing_bytes

    key = StudyPrivateKey.from_encrypted_json(key_file.read_text(encoding="utf-8"), PASSPHRASE)
    start, cpu = time.perf_counter(), _cpu_seconds()
    keys: dict[str, Ed25519PublicKey] = {}
    opened = 0
    with bundle.open("rb") as handle:
        for line in handle:
            record = json.loads(line)
            kind = record.get("type")
            if kind == "device":
                raw = base64.b64decode(record["public_key"])
                keys[record["device_id"]] = Ed25519PublicKey.from_public_bytes(raw)
            elif kind == "response":
                envelope = json.loads(record["envelope"])
                signed = wire_signing_bytes(envelope)
                keys[envelope["device_id"]].verify(base64.b64decode(envelope["signature"]), signed)
                document = json.loads(
                    open_sealed(base64.b64decode(envelope["sealed"]), key, info=SEAL_INFO)
                )
                opened += bool(document)
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_kib": _peak_kib(), "opened": opened}


def _child(*args: str) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), str(ROOT / "sync"), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    done = subprocess.run(
        [sys.executable, __file__, "--side", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"benchmark side {args[0]} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(responses: int, workers: int | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="epro-bench-export-") as tmp:
        folder = Path(tmp)
        built = build(responses, folder)
        full, quarter = built["bundles"]["full"], built["bundles"]["quarter"]
        key_file = str(built["key_file"])
        worker_args = [] if workers is None else [str(workers)]
        before = _child("bare", str(full), key_file)
        export = _child("export", str(full), key_file, str(folder / "out"), *worker_args)
        after = _child("bare", str(full), key_file)
        small = _child("export", str(quarter), key_file, str(folder / "out-quarter"), *worker_args)
        digest = hashlib.sha256((folder / "out" / "MANIFEST.json").read_bytes()).hexdigest()
    bare = (before["seconds"] + after["seconds"]) / 2
    bare_cpu = (before["cpu_seconds"] + after["cpu_seconds"]) / 2
    return {
        "responses": built["counts"]["full"],
        "patients": built["patients"],
        "workers": workers if workers is not None else "one per core",
        "cores": os.cpu_count(),
        "build_seconds": round(built["build_seconds"], 2),
        "bare_seconds": round(bare, 3),
        "export_seconds": round(export["seconds"], 3),
        "export_ratio": round(bare / export["seconds"], 3),
        "bare_cpu_seconds": round(bare_cpu, 3),
        "export_cpu_seconds": round(export["cpu_seconds"], 3),
        "cpu_ratio": round(bare_cpu / export["cpu_seconds"], 3),
        "peak_rss_mb": round(export["peak_kib"] / 1024, 1),
        "worker_peak_rss_mb": round(export["workers_peak_kib"] / 1024, 1),
        "bare_peak_rss_mb": round(max(before["peak_kib"], after["peak_kib"]) / 1024, 1),
        "quarter_responses": built["counts"]["quarter"],
        "peak_rss_mb_quarter": round(small["peak_kib"] / 1024, 1),
        "rss_growth": round(export["peak_kib"] / small["peak_kib"], 3),
        "worker_peak_rss_mb_quarter": round(small["workers_peak_kib"] / 1024, 1),
        "memory_measured_as": (
            "peak resident set size (VmHWM from /proc/self/status, else ru_maxrss) of the "
            "export process, read at its end; workers: the largest ru_maxrss of its children; "
            "rss_growth = peak at N / peak at N/4 on the first quarter of the patients"
        ),
        "manifest_sha256": digest[:16],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--responses", type=int, default=100_000, help="responses in the bundle (default 100000)"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="export workers (default: one per core)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--side", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:
        kind, *rest = args.side
        if kind == "bare":
            result = side_bare(Path(rest[0]), Path(rest[1]))
        else:
            workers = int(rest[3]) if len(rest) > 3 else None
            result = side_export(Path(rest[0]), Path(rest[1]), Path(rest[2]), workers)
        print(json.dumps(result))
        return 0
    if args.responses < PER_PATIENT:
        parser.error(f"--responses must be at least {PER_PATIENT} (one patient)")
    result = run(args.responses, args.workers)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:22} {value}")
        print("goals: export_ratio >= 0.5; rss_growth about 1 (memory flat in responses)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
