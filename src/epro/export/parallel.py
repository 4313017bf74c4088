"""Checking and opening envelopes on every core while the main process scores and writes.

The costly part of an export is per envelope and independent: an Ed25519 verification, an
HPKE open, JSON and answer validation (:class:`epro.export.verify.Verifier`). Worker
processes do it, each reading its share of the bundle itself (the main process sends only
byte spans), and return the opened responses in order. At most a few tasks are in flight at
any time, so memory stays flat however large the bundle; results come back in the order the
tasks were given, so the export is the same whatever the number of workers.

Workers start with the ``spawn`` method (no fork of a process that may hold threads) and get
the study key re-wrapped under a one-time passphrase with a cheap key derivation: they never
see the data manager's passphrase, and nothing is written to disk.
"""

from __future__ import annotations

import multiprocessing
import secrets
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Generic, TypeVar

from epro.bundle import DeviceRecord, Span, read_span
from epro.crypto import FAST_KDF, StudyPrivateKey
from epro.errors import ExportError
from epro.export.catalogue import Catalogue
from epro.export.records import ExportResponse
from epro.export.verify import Rejected, Verifier

Outcome = ExportResponse | Rejected
Tag = TypeVar("Tag")

#: Tasks waiting or running per worker: enough to keep every worker busy while the main
#: process handles the results of the previous ones.
TASKS_PER_WORKER = 4


@dataclass(frozen=True, slots=True)
class _Parts:
    """What a worker needs to build its :class:`Verifier` (all picklable)."""

    bundle: Path
    kiosks: tuple[DeviceRecord, ...]
    catalogue: Catalogue
    key_json: str
    key_passphrase: str


_WORKER: tuple[Path, Verifier] | None = None


def _start_worker(parts: _Parts) -> None:
    global _WORKER
    key = StudyPrivateKey.from_encrypted_json(parts.key_json, parts.key_passphrase)
    verifier = Verifier(kiosks=parts.kiosks, catalogue=parts.catalogue, study_key=key)
    _WORKER = (parts.bundle, verifier)


def _check_spans(spans: tuple[Span, ...]) -> list[Outcome]:
    assert _WORKER is not None, "worker started without its initializer"
    bundle, verifier = _WORKER
    return check_spans(bundle, verifier, spans)


def check_spans(bundle: Path, verifier: Verifier, spans: Iterable[Span]) -> list[Outcome]:
    """Every response of ``spans``, checked and opened, in bundle order."""
    return [
        verifier.check(record) for span in spans for record in read_span(bundle, span, "response")
    ]


class Checker(Generic[Tag]):
    """Runs :func:`check_spans` over tasks, in worker processes or (``workers=0``) inline.

    ``run`` takes ``(tag, spans)`` pairs and yields ``(tag, outcomes)`` in the same order.
    Use as a context manager so the workers stop with it.
    """

    def __init__(
        self,
        bundle: Path,
        *,
        kiosks: Sequence[DeviceRecord],
        catalogue: Catalogue,
        study_key: StudyPrivateKey,
        workers: int,
    ) -> None:
        self._bundle = bundle
        self._workers = workers
        self._verifier = Verifier(kiosks=kiosks, catalogue=catalogue, study_key=study_key)
        self._pool: ProcessPoolExecutor | None = None
        if workers > 0:
            passphrase = secrets.token_urlsafe(32)
            parts = _Parts(
                bundle=bundle,
                kiosks=tuple(kiosks),
                catalogue=catalogue,
                key_json=study_key.to_encrypted_json(passphrase, FAST_KDF),
                key_passphrase=passphrase,
            )
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(parts,),
            )

    def run(
        self, tasks: Iterable[tuple[Tag, tuple[Span, ...]]]
    ) -> Iterator[tuple[Tag, list[Outcome]]]:
        if self._pool is None:
            for tag, spans in tasks:
                yield tag, check_spans(self._bundle, self._verifier, spans)
            return
        window: deque[tuple[Tag, Future[list[Outcome]]]] = deque()
        limit = self._workers * TASKS_PER_WORKER
        try:
            for tag, spans in tasks:
                window.append((tag, self._pool.submit(_check_spans, spans)))
                if len(window) >= limit:
                    yield self._next(window)
            while window:
                yield self._next(window)
        finally:
            for _tag, future in window:
                future.cancel()

    @staticmethod
    def _next(window: deque[tuple[Tag, Future[list[Outcome]]]]) -> tuple[Tag, list[Outcome]]:
        tag, future = window.popleft()
        try:
            return tag, future.result()
        except BrokenProcessPool:
            raise ExportError(
                "a worker process of the export stopped unexpectedly (out of memory?); "
                "nothing was written — try again with fewer --workers"
            ) from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Checker[Tag]:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()
