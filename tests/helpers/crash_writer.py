"""Writer for the crash test: answers and submits questionnaires until it is killed.

Run as ``python -m tests.helpers.crash_writer DB`` with the repository root on the path and
``EPRO_PASSPHRASE`` set. To keep a hundred kills fast, it imports everything once and then
forks a fresh writer for every ``GO <seed>`` line on stdin (the parent never opens the
database, so nothing is shared across the fork). It prints ``CHILD <pid>`` for each writer, and
``REAPED <pid>`` on ``REAP <pid>`` once that writer is dead, so every line the writer managed
to print comes before ``REAPED`` in the pipe.

A writer prints ``ANSWERED <response_id> <link_id>`` after each answer call returns and
``SUBMITTED <response_id>`` after submit returns: the test checks those claims after the kill.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from epro.crypto import generate_study_keypair
from epro.demo import demo_answer
from epro.forms import Form, load_forms
from epro.forms.model import ItemType
from epro.schedule import Study, load_study
from epro.session import QuestionnaireSession, SessionService
from epro.store import open_store
from epro.store.domain import Patient
from tests.helpers.session_support import new_store, start

#: Mostly short forms, so that many kills land in and around submit, some long ones too.
FORMS = ("vas_pain", "vas_wellbeing", "chaq", "jamar")
WEIGHTS = (4, 3, 2, 1)


def say(line: str) -> None:
    # One write per line (shorter than PIPE_BUF), so a kill never leaves half a line.
    os.write(1, (line + "\n").encode())


def fill(session: QuestionnaireSession, rng: random.Random, *, quiet: bool = False) -> None:
    while True:
        pending = [line.item for line in session.review() if line.value is None]
        if not pending:
            return
        item = pending[0]
        if item.allow_skip and rng.random() < 0.05:
            session.skip(item.link_id, confirmed=True)
        elif item.type is ItemType.TEXT:
            session.answer(item.link_id, "a cushion")
        else:
            value = demo_answer(item, rng, rng.random())
            if value == "na":
                session.not_applicable(item.link_id)
            else:
                session.answer(item.link_id, value)
        if not quiet:
            say(f"ANSWERED {session.response_id} {item.link_id}")


def write_forever(db: Path, seed: int, forms: Mapping[str, Form], study: Study) -> None:
    rng = random.Random(seed)
    store = open_store(db, passphrase=os.environ["EPRO_PASSPHRASE"])
    service = SessionService(store, forms, study)
    today = datetime.now(UTC).astimezone().date()
    number = 0
    while True:
        drafts = service.drafts()
        if drafts and rng.random() < 0.8:
            session = service.resume(drafts[0].id, actor="nurse")
        else:
            number += 1
            code = f"DEMO-K{seed:05d}-{number:03d}"
            with store.unit_of_work() as uow:
                uow.patients.add(
                    Patient(code, f"{today.year - 10}-01", baseline_date=today, site="DEMO")
                )
                uow.commit()
            session = start(service, patient=code, form_id=rng.choices(FORMS, WEIGHTS)[0])
        say(f"STARTED {session.response_id}")
        fill(session, rng)
        session.submit(actor="nurse")
        say(f"SUBMITTED {session.response_id}")


def warm_up(forms: Mapping[str, Form], study: Study) -> None:
    """One questionnaire on a scratch database, so every writer starts with the ORM mappers
    configured and the modules imported: then a kill lands in real work, not in start-up."""
    today = datetime.now(UTC).astimezone().date()
    with tempfile.TemporaryDirectory() as scratch:
        store = new_store(Path(scratch) / "warm.db", generate_study_keypair())
        with store.unit_of_work() as uow:
            uow.patients.add(Patient("DEMO-W", f"{today.year - 10}-01", today, site="DEMO"))
            uow.commit()
        session = start(SessionService(store, forms, study), patient="DEMO-W", form_id="vas_pain")
        fill(session, random.Random(0), quiet=True)
        session.submit(actor="nurse")
        store.close()


def main() -> None:
    db = Path(sys.argv[1])
    forms = load_forms()
    study = load_study()
    warm_up(forms, study)
    say("READY")
    for command in sys.stdin:
        verb, _, argument = command.strip().partition(" ")
        if verb == "GO":
            pid = os.fork()
            if pid == 0:
                try:
                    write_forever(db, int(argument), forms, study)
                except BaseException:
                    traceback.print_exc()  # the test sees it on stderr
                finally:
                    os._exit(1)  # never return into the parent's loop
            say(f"CHILD {pid}")
        elif verb == "REAP":
            os.waitpid(int(argument), 0)
            say(f"REAPED {argument}")


if __name__ == "__main__":
    main()
