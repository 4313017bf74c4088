"""Store benchmark: responses submitted through the session service vs. a raw baseline.

Both sides run in this process, at the same time, on files in one temporary folder, with the
same SQLite settings (WAL, ``synchronous=FULL``) and the same number of commits per response:

* app: ``SessionService.start`` (1 commit: response row + audit event), one ``answer`` per
  item (1 commit each, as the kiosk writes every answer at once: AES-256-GCM answer upsert,
  hash-chained audit event, response position update), ``submit`` (1 commit: score, HPKE
  seal, Ed25519 signature, outbox, status update, audit event);
* raw baseline: plain ``sqlite3`` with the same PRAGMAs; insert a response row (1 commit); per
  item, AES-256-GCM of the answer's JSON and an insert (1 commit each); AES-256-GCM of the same
  response document and an outbox insert plus a status update (1 commit). No audit, no HPKE,
  no signature, no scoring.

Run ``python benchmarks/store.py [--n 200] [--form vas_pain|chaq] [--json]``. The figure that
matters is ``ratio`` = app responses/s ÷ raw responses/s (goal ≥ 0.5).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from epro.crypto import FAST_KDF, generate_study_keypair
from epro.demo import demo_answer
from epro.forms import Form, load_forms
from epro.schedule import Study, load_study
from epro.session import SessionService
from epro.session.submission import canonical_json, response_document
from epro.store import Store, init_store
from epro.store.domain import Patient, ResponseMeta, ResponseStatus

PASSPHRASE = "benchmark passphrase"
CHUNK = 20  # the two sides alternate in chunks, so disk noise hits both alike


def _answers(form: Form, rng: random.Random) -> dict[str, Any]:
    # Same value kinds as the demo; optional "other, describe" texts are left out.
    return {
        item.link_id: demo_answer(item, rng, 0.5)
        for item in form.answerable_items
        if item.enable_when is None
    }


class AppSide:
    def __init__(self, folder: Path, forms: Mapping[str, Form], study: Study, n: int) -> None:
        key = generate_study_keypair()
        self.store: Store = init_store(
            folder / "app.db",
            passphrase=PASSPHRASE,
            site="DEMO",
            nurse_name="nurse",
            nurse_pin="1234",
            kdf=FAST_KDF,
            study_public_key=key.public_key(),
        )
        today = datetime.now(UTC).astimezone().date()
        with self.store.unit_of_work() as uow:
            for number in range(n):
                born = date(today.year - 10, 1, 1)
                uow.patients.add(
                    Patient(f"DEMO-{number:05d}", f"{born:%Y-%m}", baseline_date=today, site="DEMO")
                )
            uow.commit()
        self.service = SessionService(self.store, forms, study)
        self.next = 0

    def one(self, form: Form, answers: Mapping[str, Any]) -> None:
        session = self.service.start(
            patient=f"DEMO-{self.next:05d}",
            visit="V1",
            form_id=form.id,
            respondent="child",
            language="en",
            actor="nurse",
        )
        self.next += 1
        for link_id, value in answers.items():
            session.answer(link_id, value)
        session.submit(actor="nurse")


class RawSide:
    def __init__(self, folder: Path) -> None:
        self.db = sqlite3.connect(folder / "raw.db", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")  # the app's other two PRAGMAs, for parity
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript(
            "CREATE TABLE responses (id TEXT PRIMARY KEY, meta TEXT, status TEXT);"
            "CREATE TABLE answers (response_id TEXT, link_id TEXT, blob BLOB,"
            " PRIMARY KEY (response_id, link_id));"
            "CREATE TABLE outbox (response_id TEXT PRIMARY KEY, blob BLOB);"
        )
        self.cipher = AESGCM(AESGCM.generate_key(bit_length=256))
        self.next = 0

    def _transaction(self, *statements: tuple[str, tuple[object, ...]]) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        for sql, parameters in statements:
            self.db.execute(sql, parameters)
        self.db.execute("COMMIT")

    def _seal(self, data: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self.cipher.encrypt(nonce, data, aad)

    def one(self, answers: Mapping[str, Any], document: bytes) -> None:
        rid = f"r{self.next}"
        self.next += 1
        self._transaction(("INSERT INTO responses VALUES (?, ?, 'in_progress')", (rid, "{}")))
        for link_id, value in answers.items():
            blob = self._seal(json.dumps(value).encode(), f"{rid}|{link_id}".encode())
            self._transaction(
                ("INSERT OR REPLACE INTO answers VALUES (?, ?, ?)", (rid, link_id, blob))
            )
        sealed = self._seal(document, rid.encode())
        self._transaction(
            ("INSERT INTO outbox VALUES (?, ?)", (rid, sealed)),
            ("UPDATE responses SET status = 'submitted' WHERE id = ?", (rid,)),
        )


def run(n: int, form_id: str) -> dict[str, Any]:
    forms = load_forms()
    study = load_study()
    form = forms[form_id]
    answers = _answers(form, random.Random(1))
    now = datetime.now(UTC)
    meta = ResponseMeta(
        id="00000000-0000-4000-8000-000000000000",
        patient="DEMO-00000",
        visit="V1",
        form_id=form.id,
        form_version=form.version,
        form_sha256=form.sha256,
        respondent="child",
        language="en",
        status=ResponseStatus.IN_PROGRESS,
        started_at=now,
        updated_at=now,
    )
    document = canonical_json(
        response_document(
            meta,
            site="DEMO",
            device_id="device",
            answers=answers,
            scores={},
            score_notes={},
            submitted_at=now,
        )
    )
    with tempfile.TemporaryDirectory(prefix="epro-bench-") as tmp:
        folder = Path(tmp)
        app = AppSide(folder, forms, study, n + 2)
        raw = RawSide(folder)
        app.one(form, answers)  # warm-up: imports, statement caches
        raw.one(answers, document)
        app_seconds = raw_seconds = 0.0
        done = 0
        while done < n:
            chunk = min(CHUNK, n - done)
            started = time.perf_counter()
            for _ in range(chunk):
                raw.one(answers, document)
            raw_seconds += time.perf_counter() - started
            started = time.perf_counter()
            for _ in range(chunk):
                app.one(form, answers)
            app_seconds += time.perf_counter() - started
            done += chunk
        app.store.close()
        raw.db.close()
    app_per_s = n / app_seconds
    raw_per_s = n / raw_seconds
    return {
        "benchmark": "store",
        "form": form_id,
        "n": n,
        "commits_per_response": len(answers) + 2,
        "app_per_s": round(app_per_s, 2),
        "raw_per_s": round(raw_per_s, 2),
        "ratio": round(app_per_s / raw_per_s, 3),
        "baseline": (
            "plain sqlite3, the same PRAGMAs (WAL, synchronous=FULL, foreign_keys, busy_timeout), "
            "BEGIN IMMEDIATE, the same durable commits "
            "per response as the app (1 at start, 1 per answer, 1 at submit); AES-256-GCM of "
            "the same answer JSON and response document; one row written per answer commit "
            "(the app writes three: answer, audit event, response position); no audit chain, "
            "no HPKE seal, no signature, no scoring"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=200, help="responses per side (default 200)")
    parser.add_argument("--form", default="vas_pain", choices=["vas_pain", "vas_wellbeing", "chaq"])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    result = run(args.n, args.form)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"store benchmark: {result['n']} {result['form']} responses per side, "
        f"{result['commits_per_response']} commits each (WAL, synchronous=FULL)"
    )
    print(f"{'side':<28}{'responses/s':>14}")
    print(f"{'app (session service)':<28}{result['app_per_s']:>14.1f}")
    print(f"{'raw (sqlite3 + AES-GCM)':<28}{result['raw_per_s']:>14.1f}")
    print(f"{'ratio app/raw (goal >= 0.5)':<28}{result['ratio']:>14.3f}")
    print(f"baseline: {result['baseline']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
