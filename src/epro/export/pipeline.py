"""The offline export: a bundle and the study key in, one folder of checked, scored data out.

:func:`run_export` checks the bundle (:func:`epro.bundle.open_bundle`), then goes through the
patients in the order of their exported codes. Each patient is exported on its own, in worker
processes (:mod:`epro.export.parallel`): its envelopes checked and opened, its verified
responses made one :class:`~epro.export.records.PatientRecord`, scored and, when asked,
de-identified (:mod:`epro.export.patients`). This process hands every record to each format
writer in turn and writes the rows of ``problems.csv`` (:mod:`epro.export.problems`): one bad
envelope never stops the export, and everything good is exported.

Everything is written into a temporary folder beside ``out`` and renamed to ``out`` only at
the very end, after ``MANIFEST.json``: an export is there whole or not at all. The same
bundle, key, forms and options give byte-identical files: patients and rows are sorted, and
no clock or randomness enters any file (times come from the bundle).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from epro import __version__
from epro.bundle import (
    ENTERED_IN_ERROR,
    AnnotationRecord,
    Bundle,
    DeviceRecord,
    Span,
    open_bundle,
)
from epro.crypto import StudyPrivateKey
from epro.errors import ExportError
from epro.export.catalogue import INFUSION_VISITS, Catalogue, load_catalogue
from epro.export.deidentify import DEFAULT_MAX_SHIFT_DAYS, Deidentifier
from epro.export.formats import default_writers
from epro.export.parallel import PatientPool
from epro.export.patients import PatientResult, PatientTask
from epro.export.problems import FILE_NAME as PROBLEMS_FILE
from epro.export.problems import Kind, Problem, ProblemsFile
from epro.export.records import ExportContext, FormatWriter, WrittenFile
from epro.export.verify import Verifier
from epro.protocol import utc_timestamp
from epro.scoring.params import DEFAULT_PARAMS, ScoringParams

MANIFEST_FILE: Final = "MANIFEST.json"
MANIFEST_FORMAT: Final = "epro-export/1"
#: Responses per task handed to a worker: large enough that sending it costs little, small
#: enough that the workers stay busy to the end.
TASK_RESPONSES: Final = 256
#: Below this many responses the export runs in this process alone: starting worker
#: processes would take longer than the work.
INLINE_BELOW: Final = 2_000

#: ``progress(done, total)``: responses checked so far, of all in the bundle.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """Everything that changes what an export writes (recorded in its manifest)."""

    #: Keyed pseudonyms, shifted dates, no free text (:mod:`epro.export.deidentify`).
    deidentify: bool = False
    #: De-identified dates move by at most this many days either way.
    max_shift_days: int = DEFAULT_MAX_SHIFT_DAYS
    params: ScoringParams = DEFAULT_PARAMS
    #: Worker processes that export patients; None: one per core (none for a small
    #: bundle); 0: all in this process. Never changes the output.
    workers: int | None = None

    def recorded(self) -> dict[str, Any]:
        """The options as the manifest records them (the number of workers is not one)."""
        return {
            "deidentify": self.deidentify,
            "max_shift_days": self.max_shift_days if self.deidentify else None,
        }


@dataclass(frozen=True, slots=True)
class ExportReport:
    """What an export did; ``exit_status`` is 0 when clean, 1 when ``problems.csv`` has rows."""

    out: Path
    patients: int
    responses_in_bundle: int
    exported: int
    rejected: int
    superseded: int
    conflicts: int
    problems: int
    files: tuple[WrittenFile, ...]
    #: Responses a data manager marked entered in error: exported, never scored.
    entered_in_error: int = 0

    @property
    def exit_status(self) -> int:
        return 1 if self.problems else 0


def run_export(
    bundle_path: Path,
    study_key: StudyPrivateKey,
    out: Path,
    *,
    options: ExportOptions = ExportOptions(),
    catalogue: Catalogue | None = None,
    writers: Sequence[FormatWriter] | None = None,
    progress: Progress | None = None,
) -> ExportReport:
    """Export the bundle at ``bundle_path`` into the new folder ``out`` (see module docstring).

    Raises :class:`ExportError` (or :class:`~epro.errors.BundleError`) with nothing written
    when the export is refused: ``out`` is not empty, the bundle is damaged, or the key is
    not the one the bundle's envelopes are sealed to.
    """
    out = Path(out)
    check_target(out)
    bundle = open_bundle(bundle_path)
    _check_key(bundle, study_key, bundle_path)
    catalogue = load_catalogue() if catalogue is None else catalogue
    writers = default_writers(catalogue.study) if writers is None else writers
    deidentifier = (
        Deidentifier.from_study_key(study_key, options.max_shift_days)
        if options.deidentify
        else None
    )
    kiosks = list(bundle.devices())
    plan, stray_marks = _plan(bundle, deidentifier)
    total = bundle.counts["response"]
    workers = options.workers
    if workers is None:
        workers = (os.cpu_count() or 1) if total >= INLINE_BELOW else 0
    staging = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    except OSError as error:
        raise ExportError(
            f"cannot create the export folder in {out.parent}: {error.strerror or error}"
        ) from None
    try:
        export = _Export(bundle, catalogue, options, writers, deidentifier, staging)
        with PatientPool(
            bundle.path,
            kiosks=kiosks,
            catalogue=catalogue,
            params=options.params,
            max_shift_days=options.max_shift_days if options.deidentify else None,
            study_key=study_key,
            workers=workers,
        ) as pool:
            report = export.run(plan, pool, kiosks, study_key, progress, stray_marks)
        _publish(staging, out)
    except OSError as error:
        # A full disk or a folder that went away: nothing half-written is kept.
        shutil.rmtree(staging, ignore_errors=True)
        raise ExportError(
            f"the export could not be written in {out.parent} ({error.strerror or error}); "
            "nothing was kept"
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dataclasses.replace(report, out=out)


def check_target(out: Path) -> None:
    """Refuse an ``out`` that exists and is a file or a folder that is not empty."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ExportError(f"{out} exists and is not a folder; choose a new folder for the export")
    if out.is_dir() and any(out.iterdir()):
        raise ExportError(
            f"the folder {out} is not empty; choose a new folder (or empty this one) — "
            "nothing was written"
        )


def _check_key(bundle: Bundle, study_key: StudyPrivateKey, path: Path) -> None:
    expected = bundle.header.study_key_fingerprint
    found = study_key.public_key().fingerprint()
    if expected is not None and expected != found:
        raise ExportError(
            f"the bundle {path.name} holds responses sealed to study key {expected}, but the "
            f"key given is {found}; use the study private key whose public key the study "
            "server hands to kiosks — nothing was written"
        )


def _publish(staging: Path, out: Path) -> None:
    if out.is_dir():
        try:
            out.rmdir()  # empty, checked at the start; a folder filled since is not replaced
        except OSError:
            raise ExportError(
                f"the folder {out} was filled while the export ran; nothing was replaced"
            ) from None
    staging.rename(out)


def _plan(
    bundle: Bundle, deidentifier: Deidentifier | None
) -> tuple[list[PatientTask], list[AnnotationRecord]]:
    """Every patient of the roster or the responses, in the order of their written codes,
    each with the marks on its responses; and the marks of patients the bundle has not."""
    roster = {entry.code: entry for entry in bundle.patients()}
    marks: dict[str, list[AnnotationRecord]] = {}
    for mark in bundle.annotations():
        if mark.kind == ENTERED_IN_ERROR:
            marks.setdefault(mark.patient, []).append(mark)
    spans: dict[str, list[Span]] = {}
    sites: dict[str, str] = {}
    for group in bundle.groups:
        spans.setdefault(group.patient, []).append(group.span)
        sites.setdefault(group.patient, group.site)
    planned = []
    written: dict[str, str] = {}
    for code in sorted(roster.keys() | spans.keys()):
        written_code = code if deidentifier is None else deidentifier.patient_code(code)
        if written_code in written:
            raise ExportError(
                f"two patients get the same pseudonym {written_code}; export without "
                "--deidentify, or report this (it should never happen)"
            )
        written[written_code] = code
        entry = roster.get(code)
        found = tuple(spans.get(code, ()))
        planned.append(
            PatientTask(
                code=code,
                written_code=written_code,
                site=entry.site if entry is not None else sites[code],
                roster=entry,
                spans=found,
                count=sum(span.count for span in found),
                entered_in_error=tuple(
                    (mark.response_id, mark.reason) for mark in marks.pop(code, ())
                ),
            )
        )
    stray = [mark for patient in sorted(marks) for mark in marks[patient]]
    return sorted(planned, key=lambda p: p.written_code), stray


def _batches(plan: Sequence[PatientTask]) -> Iterator[list[PatientTask]]:
    """Patients in batches of about TASK_RESPONSES responses; a patient is never split."""
    batch: list[PatientTask] = []
    count = 0
    for task in plan:
        batch.append(task)
        count += task.count
        if count >= TASK_RESPONSES:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


class _Export:
    """One export run: the state shared by its patients (writers, problems, counts)."""

    def __init__(
        self,
        bundle: Bundle,
        catalogue: Catalogue,
        options: ExportOptions,
        writers: Sequence[FormatWriter],
        deidentifier: Deidentifier | None,
        staging: Path,
    ) -> None:
        self.bundle = bundle
        self.catalogue = catalogue
        self.options = options
        self.writers = writers
        self.deidentifier = deidentifier
        self.staging = staging
        self.exported = 0
        self.rejected = 0
        self.superseded = 0
        self.entered_in_error = 0

    def run(
        self,
        plan: list[PatientTask],
        pool: PatientPool,
        kiosks: list[DeviceRecord],
        study_key: StudyPrivateKey,
        progress: Progress | None,
        stray_marks: Sequence[AnnotationRecord] = (),
    ) -> ExportReport:
        study = self.catalogue.study
        context = ExportContext(
            forms=self.catalogue.forms,
            visit_weeks={visit.code: visit.week for visit in study.visits},
            infusion_visits=INFUSION_VISITS,
            baseline_visit=study.baseline_visit,
            study_id=study.id,
            study_version=study.version,
            deidentified=self.deidentifier is not None,
            created_at=self.bundle.header.created_at,
        )
        for writer in self.writers:
            writer.begin(self.staging, context)
        total = self.bundle.counts["response"]
        done = 0
        if progress is not None:
            progress(done, total)
        with ProblemsFile(self.staging) as problems:
            for results in pool.run(_batches(plan)):
                for result in results:
                    self._patient(result, problems)
                    done += result.rejected + len(result.record.responses)
                if progress is not None:
                    progress(done, total)
            conflicts = self._conflicts(problems, kiosks, study_key)
            for mark in stray_marks:
                problem = Problem(
                    Kind.ANNOTATION,
                    mark.response_id,
                    "",
                    mark.patient,
                    "annotation",
                    "marked entered in error on the server, but the bundle holds neither this "
                    "patient nor the response; the mark changes nothing",
                )
                if self.deidentifier is not None:
                    problem = self.deidentifier.problem(problem)
                problems.add(problem)
        files = [WrittenFile(Path(PROBLEMS_FILE), problems.rows)]
        for writer in self.writers:
            files.extend(writer.finish())
        files.sort(key=lambda f: f.path.as_posix())
        self._write_manifest(files, plan, study_key, problems.rows, conflicts)
        return ExportReport(
            out=self.staging,
            patients=len(plan),
            responses_in_bundle=total,
            exported=self.exported,
            rejected=self.rejected,
            superseded=self.superseded,
            conflicts=conflicts,
            problems=problems.rows,
            files=tuple(files),
            entered_in_error=self.entered_in_error,
        )

    def _patient(self, result: PatientResult, problems: ProblemsFile) -> None:
        for problem in result.problems:
            problems.add(problem)
        self.rejected += result.rejected
        self.superseded += result.superseded
        self.entered_in_error += result.entered_in_error
        self.exported += len(result.record.responses)
        for writer in self.writers:
            writer.add_patient(result.record)

    def _conflicts(
        self, problems: ProblemsFile, kiosks: list[DeviceRecord], study_key: StudyPrivateKey
    ) -> int:
        verifier = Verifier(kiosks=kiosks, catalogue=self.catalogue, study_key=study_key)
        count = 0
        for held in self.bundle.quarantine():
            count += 1
            patient, signed = verifier.describe_copy(held.envelope)
            problem = Problem(
                Kind.CONFLICT,
                held.response_id,
                held.device_id,
                patient,
                "conflict",
                "another copy of this response id, with different content, reached the "
                f"server after the first ({signed}); it was kept apart in quarantine and "
                "only the first copy is exported",
            )
            if self.deidentifier is not None:
                problem = self.deidentifier.problem(problem)
            problems.add(problem)
        return count

    def _write_manifest(
        self,
        files: list[WrittenFile],
        plan: list[PatientTask],
        study_key: StudyPrivateKey,
        problem_rows: int,
        conflicts: int,
    ) -> None:
        header, manifest = self.bundle.header, self.bundle.manifest
        study = self.catalogue.study
        listed = []
        for written in files:
            path = self.staging / written.path
            if not path.is_file():
                raise ExportError(f"a format writer listed {written.path} but did not write it")
            listed.append(
                {"path": written.path.as_posix(), "sha256": _sha256(path), "rows": written.rows}
            )
        body = {
            "format": MANIFEST_FORMAT,
            "software": {"name": "epro", "version": __version__},
            "bundle": {
                "sha256": manifest.sha256,
                "created_at": utc_timestamp(header.created_at),
                "site": header.site,
                "server_schema_version": header.server_schema_version,
                "records": dict(manifest.counts),
            },
            "study": {
                "id": study.id,
                "version": study.version,
                "baseline_visit": study.baseline_visit,
            },
            "study_key_fingerprint": study_key.public_key().fingerprint(),
            "forms": [
                {"id": form_id, "version": version, "sha256": sha256}
                for form_id, version, sha256 in self.catalogue.versions()
            ],
            "scoring_params": dataclasses.asdict(self.options.params),
            "options": self.options.recorded(),
            "deidentification": _deidentification(self.deidentifier),
            "counts": {
                "patients": len(plan),
                "responses_in_bundle": self.bundle.counts["response"],
                "exported": self.exported,
                "rejected": self.rejected,
                "superseded": self.superseded,
                "entered_in_error": self.entered_in_error,
                "conflicts": conflicts,
                "problems": problem_rows,
            },
            "files": listed,
        }
        text = json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        (self.staging / MANIFEST_FILE).write_text(text, encoding="utf-8")


def _deidentification(deidentifier: Deidentifier | None) -> dict[str, Any] | None:
    if deidentifier is None:
        return None
    return {
        "patient_codes": "keyed pseudonyms (HMAC-SHA256 under a key derived from the study key)",
        "dates": (
            "every date and time of a patient moved by one whole number of days, "
            f"within ±{deidentifier.max_shift_days} and never 0; ages from the true dates"
        ),
        "identifiers": "response ids, receipt ids and envelope hashes replaced by keyed ones",
        "left_out": [
            "birth month",
            "free-text items",
            "every *_other answer",
            "out-of-window reasons",
        ],
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
