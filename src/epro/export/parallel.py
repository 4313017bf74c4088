"""Exporting patients on every core while the main process writes.

Almost all of an export's work is per patient and needs no other patient
(:class:`epro.export.patients.PatientExporter`): per response an Ed25519 verification, an
HPKE open, JSON and answer validation, then the scores of every visit, and then each
format's share of the patient (:class:`~epro.export.records.PatientRenderer`: CSV rows, ODM
``SubjectData``, FHIR lines, SPSS rows split into numbers and strings, the analysis values).
Worker processes do it, each reading its patients' responses from the bundle itself (the main
process sends only byte spans), and hand back those parts, which the main process only appends
to the files in patient order.

At most a few tasks are in flight at any time, so memory stays flat however large the
bundle, and results come back in the order the tasks were given: the export is the same
whatever the number of workers. Workers start with the ``spawn`` method (no fork of a process
that may hold threads) and get the study key re-wrapped under a one-time passphrase with a
cheap key derivation: they never see the data manager's passphrase, and nothing is written
to disk.
"""

from __future__ import annotations

import multiprocessing
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from epro.bundle import DeviceRecord
from epro.closing import ClosedOnExit
from epro.crypto import FAST_KDF, StudyPrivateKey
from epro.errors import ExportError
from epro.export.catalogue import Catalogue
from epro.export.deidentify import Deidentifier
from epro.export.patients import PatientExporter, PatientResult, PatientTask
from epro.export.records import PatientRenderer
from epro.export.verify import Verifier
from epro.scoring.params import ScoringParams

#: Tasks waiting or running per worker: enough to keep every worker busy while the main
#: process writes the results of earlier ones.
TASKS_PER_WORKER = 3


@dataclass(frozen=True, slots=True)
class _Parts:
    """What a worker needs to build its :class:`PatientExporter` (all picklable)."""

    bundle: Path
    kiosks: tuple[DeviceRecord, ...]
    catalogue: Catalogue
    params: ScoringParams
    #: None, or the largest date shift of a de-identified export.
    max_shift_days: int | None
    key_json: str
    key_passphrase: str
    #: The format writers' renderers: each worker renders its patients' shares of the files.
    renderers: tuple[PatientRenderer, ...] = ()


def _exporter(parts: _Parts, key: StudyPrivateKey) -> PatientExporter:
    verifier = Verifier(kiosks=parts.kiosks, catalogue=parts.catalogue, study_key=key)
    deidentifier = (
        None
        if parts.max_shift_days is None
        else Deidentifier.from_study_key(key, parts.max_shift_days)
    )
    return PatientExporter(
        parts.bundle, verifier, parts.catalogue, parts.params, deidentifier, parts.renderers
    )


_WORKER: PatientExporter | None = None


def _start_worker(parts: _Parts) -> None:
    # The workers run at the main process's priority: they do nearly all the work (the main
    # process only appends what they rendered), and on a machine shared with other work a
    # lower priority would leave them the time no one else wants.
    global _WORKER
    key = StudyPrivateKey.from_encrypted_json(parts.key_json, parts.key_passphrase)
    _WORKER = _exporter(parts, key)


def _export_patients(tasks: list[PatientTask]) -> list[PatientResult]:
    assert _WORKER is not None, "worker started without its initializer"
    return [_WORKER.export(task) for task in tasks]


class PatientPool(ClosedOnExit):
    """Exports batches of patients in worker processes or, with ``workers=0``, inline.

    :meth:`run` takes batches of tasks and yields their results batch by batch, in order.
    Use as a context manager so the workers stop with it.
    """

    def __init__(
        self,
        bundle: Path,
        *,
        kiosks: Sequence[DeviceRecord],
        catalogue: Catalogue,
        params: ScoringParams,
        max_shift_days: int | None,
        study_key: StudyPrivateKey,
        workers: int,
        renderers: Sequence[PatientRenderer] = (),
    ) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        passphrase = secrets.token_urlsafe(32)
        parts = _Parts(
            bundle=bundle,
            kiosks=tuple(kiosks),
            catalogue=catalogue,
            params=params,
            max_shift_days=max_shift_days,
            key_json="" if workers == 0 else study_key.to_encrypted_json(passphrase, FAST_KDF),
            key_passphrase=passphrase,
            renderers=tuple(renderers),
        )
        self._inline = _exporter(parts, study_key)
        if workers > 0:
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(parts,),
            )

    def run(self, batches: Iterable[list[PatientTask]]) -> Iterator[list[PatientResult]]:
        if self._pool is None:
            for batch in batches:
                yield [self._inline.export(task) for task in batch]
            return
        window: deque[Future[list[PatientResult]]] = deque()
        limit = self._workers * TASKS_PER_WORKER
        try:
            for batch in batches:
                window.append(self._pool.submit(_export_patients, batch))
                if len(window) >= limit:
                    yield self._next(window)
            while window:
                yield self._next(window)
        finally:
            for future in window:
                future.cancel()

    def map(self, job: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """``job`` on every item in the workers (inline without them), results in order; a
        :data:`~epro.export.records.JobRunner` for the writers' finishing work."""
        if self._pool is None:
            yield from (job(item) for item in items)
            return
        window: deque[Future[Any]] = deque()
        # Jobs (a figure page, a chunk of SPSS rows) are larger than a patient task: fewer
        # in flight keep the memory they take small.
        limit = self._workers + 1
        try:
            for item in items:
                window.append(self._pool.submit(job, item))
                if len(window) >= limit:
                    yield self._next(window)
            while window:
                yield self._next(window)
        finally:
            for future in window:
                future.cancel()

    @staticmethod
    def _next(window: deque[Future[Any]]) -> Any:
        try:
            return window.popleft().result()
        except BrokenProcessPool:
            raise ExportError(
                "a worker process of the export stopped unexpectedly (out of memory?); "
                "nothing was written — try again with fewer --workers"
            ) from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
