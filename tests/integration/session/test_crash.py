"""Crash test (DESIGN §10): SIGKILL a writer at random moments; nothing answered is lost and
no response is ever half-submitted.

One database file is reused across all kills. After EVERY kill: ``store.verify()`` is ok, every
response the writer reported as submitted is submitted with its outbox entry, no response is
submitted without an outbox entry or has one without being submitted, and every answer the
writer reported is stored. ``EPRO_CRASH_KILLS`` raises the number of kills for a soak run.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from epro.crypto import StudyPrivateKey
from epro.store import open_store
from epro.store.domain import ResponseStatus
from tests.helpers.session_support import PASSPHRASE, new_store

ROOT = Path(__file__).resolve().parents[3]
KILLS = int(os.environ.get("EPRO_CRASH_KILLS", "100"))
LINE_TIMEOUT_S = 60


class Writer:
    """The forking writer process and a thread that hands over its output lines."""

    def __init__(self, db: Path) -> None:
        env = {**os.environ, "EPRO_PASSPHRASE": PASSPHRASE}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.crash_writer", str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def until(self, prefix: str) -> list[str]:
        """Lines up to and including the first that starts with ``prefix``."""
        seen: list[str] = []
        while True:
            line = self.lines.get(timeout=LINE_TIMEOUT_S)
            seen.append(line)
            if line.startswith(prefix):
                return seen

    def take(self, count: int) -> list[str]:
        """The writer's next ``count`` lines (it prints nothing else until it is reaped)."""
        return [self.lines.get(timeout=LINE_TIMEOUT_S) for _ in range(count)]

    def close(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()  # the writer's loop ends at end of input
        self.process.wait(timeout=30)
        self.pump.join(timeout=30)
        self.process.stdout.close()


def check_after_kill(
    db: Path, answered: dict[str, set[str]], submitted: set[str], round_: int
) -> None:
    store = open_store(db, passphrase=PASSPHRASE)
    try:
        report = store.verify()
        assert report.ok, f"after kill {round_}: {report.problems}"
        with store.unit_of_work() as uow:
            for meta in uow.responses.list():
                has_outbox = uow.outbox.get(meta.id) is not None
                is_submitted = meta.status is ResponseStatus.SUBMITTED
                assert has_outbox == is_submitted, (
                    f"after kill {round_}: response {meta.id} is {meta.status.value} "
                    f"{'with' if has_outbox else 'without'} an outbox entry"
                )
            for response_id in submitted:
                done = uow.responses.get(response_id)
                assert done is not None
                assert done.status is ResponseStatus.SUBMITTED, f"kill {round_}: {response_id}"
            for response_id, link_ids in answered.items():
                held = uow.responses.get(response_id)
                assert held is not None, f"after kill {round_}: response {response_id} lost"
                lost = link_ids - uow.answers.load(held).keys()
                assert not lost, f"after kill {round_}: answers {sorted(lost)} lost"
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the writer forks (POSIX only)")
def test_sigkill_at_random_moments_loses_no_answer_and_half_submits_nothing(
    tmp_path: Path, study_key: StudyPrivateKey
) -> None:
    db = tmp_path / "crash.db"
    new_store(db, study_key).close()
    rng = random.Random(os.environ.get("EPRO_CRASH_SEED", "20260302"))
    answered: dict[str, set[str]] = {}
    submitted: set[str] = set()
    killed_mid_response = 0
    writer = Writer(db)
    try:
        writer.until("READY")
        for round_ in range(KILLS):
            writer.send(f"GO {round_}")
            pid = int(writer.until("CHILD")[-1].split()[1])
            # Half the kills wait for a random amount of progress first (so a slow, busy
            # machine still kills mid-questionnaire and mid-submit), the other half land
            # purely by time, start-up included; both add a random sub-step delay.
            progress = writer.take(rng.randint(1, 8)) if rng.random() < 0.5 else []
            time.sleep(rng.uniform(0.0, 0.05 if progress else 0.25))
            os.kill(pid, signal.SIGKILL)
            writer.send(f"REAP {pid}")
            last = None
            for line in progress + writer.until(f"REAPED {pid}")[:-1]:
                verb, *rest = line.split()
                if verb == "ANSWERED":
                    answered.setdefault(rest[0], set()).add(rest[1])
                elif verb == "SUBMITTED":
                    submitted.add(rest[0])
                last = verb
            killed_mid_response += last in ("STARTED", "ANSWERED")
            check_after_kill(db, answered, submitted, round_)
    finally:
        writer.close()
    # The kills really landed while questionnaires were being written and submitted.
    assert submitted
    assert killed_mid_response > KILLS // 4
    assert sum(len(links) for links in answered.values()) > KILLS // 2
