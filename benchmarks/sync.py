"""Sync benchmark: a kiosk with N queued responses uploads to the real study server.

One uvicorn process on 127.0.0.1 serves two ASGI apps side by side:

* the real study server (``epro_sync.create_app``) on its normal routes, with a SQLite file
  database, and in a second run the PostgreSQL database named by ``--postgres-url`` (or
  ``EPRO_TEST_POSTGRES_URL``; a fresh schema, dropped afterwards);
* a bare endpoint at ``/bare/v1/responses:batch``: a raw ASGI function that reads the body,
  parses the JSON and answers one ``stored`` receipt per envelope — no validation, signature
  check, database or kiosk-side bookkeeping. It is the floor the app is compared with.

app: ``SyncClient.sync_once()`` on the kiosk store (outbox read, upload in batches, receipts,
acknowledge + purge of each response, roster/completion/audit head). bare: the very same
request bodies (the stored envelope bytes, same batch size) POSTed to the bare endpoint with
httpx, as many requests in flight as the sync client keeps (two). ``ratio`` = bare seconds ÷
app seconds on SQLite (goal ≥ 0.3); ``sqlite_seconds_10k`` / ``postgres_seconds_10k`` scale
the app time to 10,000 responses (goal ≤ 10 s). Each backend is measured ``--repeat`` times
on a fresh database and kiosk, the bare side before and after the app each time, and medians
are reported.

The queued responses are built directly through the store API (sealed with HPKE and signed
like a Submit, in large transactions) because the benchmark measures sync, not Submit
(``benchmarks/store.py`` measures that).

``--server-rows N`` stores N responses of other kiosks on the server before each run, as after
months of a trial (written straight into its ``responses`` table, with ids and receipt ids made
the way the server makes them): storing a batch must not slow down as the table grows.

    python benchmarks/sync.py [--n 10000] [--batch 500] [--repeat 3] [--server-rows 0]
                              [--postgres-url URL] [--json]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parent.parent
SITE = "BENCH"
PASSPHRASE = "benchmark passphrase"


# ------------------------------------------------------------------------ the server process


async def bare_batch(scope: Any, receive: Any, send: Any) -> None:
    """Read the body, parse it, answer ``stored`` for each envelope: nothing else."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    now = datetime.now(UTC).isoformat()
    receipts = [
        {
            "response_id": e["response_id"],
            "status": "stored",
            "receipt_id": str(uuid.uuid4()),
            "received_at": now,
            "sha256": e["sha256"],
            "message": "",
        }
        for e in json.loads(body)["envelopes"]
    ]
    out = json.dumps({"receipts": receipts}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(out))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": out})


def serve(port: int, database_url: str, key_file: Path) -> None:
    import uvicorn

    from epro_sync.app import create_app
    from epro_sync.config import ServerSettings

    real = create_app(ServerSettings(database_url=database_url, study_public_key_file=key_file))

    async def both(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/bare/v1/responses:batch":
            await bare_batch(scope, receive, send)
        else:
            await real(scope, receive, send)

    uvicorn.run(
        both,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        ws="none",
        lifespan="on",
        date_header=False,
    )


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "sync")])
    return env


@contextlib.contextmanager
def server_process(database_url: str, key_file: Path) -> Iterator[str]:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    args = [sys.executable, __file__, "--serve", str(port), database_url, str(key_file)]
    process = subprocess.Popen(args, env=_env() | _signing_env(key_file))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("benchmark: the study server did not start")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(20)


def _signing_env(key_file: Path) -> dict[str, str]:
    """The server's receipt-signing key beside the study key (not in the user's data dir)."""
    return {"EPRO_SYNC_SIGNING_KEY_FILE": str(key_file.with_name("signing-key.pem"))}


def enrol_code(database_url: str, key_file: Path) -> str:
    env = (
        _env()
        | _signing_env(key_file)
        | {
            "EPRO_SYNC_DATABASE_URL": database_url,
            "EPRO_SYNC_STUDY_PUBLIC_KEY_FILE": str(key_file),
        }
    )
    code = "import sys; from epro_sync.cli import main; sys.exit(main(sys.argv[1:]))"
    out = subprocess.run(
        [sys.executable, "-c", code, "enrol-code", "--site", SITE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split(":", 1)[1].split()[0]


@contextlib.contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    import psycopg

    schema = f"epro_bench_{uuid.uuid4().hex[:10]}"
    plain = base_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options={quote('-csearch_path=' + schema)}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


# ------------------------------------------------------------------------ the kiosk side


def queued_kiosk(path: Path, url: str, code: str, n: int) -> Any:
    """A kiosk store enrolled with ``url`` holding ``n`` sealed, signed, queued responses."""
    from epro.crypto import FAST_KDF, seal
    from epro.protocol import EnvelopeContent, sign_envelope
    from epro.store import init_store
    from epro.store.answers import answers_digest
    from epro.store.domain import (
        OutboxEntry,
        Patient,
        ResponseMeta,
        ResponseStatus,
        new_response_id,
    )
    from epro.sync_client import enrol_kiosk

    store = init_store(
        path, passphrase=PASSPHRASE, site=SITE, nurse_name="nurse", nurse_pin="1234", kdf=FAST_KDF
    )
    device_id = enrol_kiosk(store, server_url=url, code=code, label="bench").device_id
    start = datetime.now(UTC)
    with store.unit_of_work() as uow:
        study_key = uow.keys.study_public_key()
        device_key = uow.keys.device_key()
        uow.patients.add(Patient("BENCH-0001", "2015-06", date.today(), SITE))
        uow.commit()
    assert study_key is not None
    for first in range(0, n, 1000):
        with store.unit_of_work() as uow:
            for i in range(first, min(n, first + 1000)):
                # Each response submitted a moment after the previous one, as on a real kiosk
                # (one shared time would order the queue by random UUID instead of by age).
                now = start + timedelta(milliseconds=i)
                rid = new_response_id(now)  # as the session service makes them
                meta = ResponseMeta(
                    id=rid,
                    patient="BENCH-0001",
                    visit="V1",
                    form_id="vas_pain",
                    form_version="1.0.0",
                    form_sha256="0" * 64,
                    respondent="child",
                    language="en",
                    status=ResponseStatus.SUBMITTED,
                    started_at=now,
                    updated_at=now,
                    submitted_at=now,
                    answers_sha256=answers_digest({"vas_pain": 42}),  # as Submit stores it
                )
                uow.responses.add(meta)
                uow.answers.put(meta, "vas_pain", 42)
                document = json.dumps({"response_id": rid, "answers": {"vas_pain": 42}})
                sealed = seal(document.encode(), study_key, info=b"epro response v1")
                envelope = sign_envelope(
                    EnvelopeContent(
                        response_id=uuid.UUID(rid),
                        device_id=device_id,
                        site=SITE,
                        patient="BENCH-0001",
                        visit="V1",
                        form_id="vas_pain",
                        form_version="1.0.0",
                        form_sha256="0" * 64,
                        respondent="child",
                        language="en",
                        submitted_at=now,
                        out_of_window=False,
                        suite="x25519",
                        sealed=base64.b64encode(sealed).decode(),
                    ),
                    device_key.sign,
                )
                uow.outbox.add(OutboxEntry(rid, envelope.model_dump_json(), envelope.sha256, now))
            uow.commit()
    return store


def bodies(store: Any, batch: int) -> list[bytes]:
    with store.unit_of_work() as uow:
        entries = uow.outbox.pending(10**9)
    return [
        b'{"envelopes":['
        + b",".join(e.envelope_json.encode() for e in entries[i : i + batch])
        + b"]}"
        for i in range(0, len(entries), batch)
    ]


def bare_upload(url: str, payloads: list[bytes], in_flight: int) -> float:
    """Seconds to POST every body to the bare endpoint, ``in_flight`` requests at a time (as
    the sync client keeps them) over kept-alive connections."""
    started = time.perf_counter()
    with (
        httpx.Client(base_url=url, timeout=120) as client,
        ThreadPoolExecutor(in_flight) as senders,
    ):
        replies = [
            senders.submit(
                client.post,
                "/bare/v1/responses:batch",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            for body in payloads
        ]
        for reply in replies:
            assert len(reply.result().json()["receipts"]) > 0
    return time.perf_counter() - started


def preload_server(database_url: str, rows: int) -> None:
    """Store ``rows`` responses of another kiosk on the (started, migrated) server, dated over
    the past year: ids and receipt ids made as kiosks and the server make them."""
    if rows <= 0:
        return
    from sqlalchemy import insert

    from epro.store.domain import new_response_id
    from epro_sync.db import make_engine
    from epro_sync.tables import StoredResponse
    from epro_sync.upload import _new_receipt_ids

    table = StoredResponse.metadata.tables["responses"]
    engine = make_engine(database_url)
    first = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / rows
    envelope = json.dumps({"preloaded": "A" * 900})  # about the size of a real envelope
    try:
        with engine.begin() as conn:
            for start in range(0, rows, 5000):
                count = min(5000, rows - start)
                when = first + step * start
                receipts = _new_receipt_ids(count, when)
                conn.execute(
                    insert(table),
                    [
                        {
                            "response_id": new_response_id(when + step * i),
                            "receipt_id": receipts[i],
                            "device_id": "preloaded-kiosk",
                            "site": SITE,
                            "patient": f"PRE-{(start + i) % 500:04d}",
                            "visit": f"V{(start + i) // 500 % 9 + 1}",
                            "form_id": "chaq",
                            "form_version": "1.0.0",
                            "respondent": "parent",
                            "submitted_at": when + step * i,
                            "out_of_window": False,
                            "sha256": "0" * 64,
                            "envelope": envelope,
                            "received_at": when + step * i,
                        }
                        for i in range(count)
                    ],
                )
    finally:
        engine.dispose()


def warm_kiosk_imports() -> None:
    """Import what a running kiosk process has loaded long before it syncs (the session
    service acknowledges receipts), so the first sync is not charged for compiling modules;
    build the TLS context the kiosk's first background sync built when its station opened
    (loading the CA bundle takes tens of milliseconds, once per process); and settle the
    start-up objects as the kiosk does once its station is open."""
    import epro.schedule
    import epro.session  # noqa: F401
    from epro.startup import settle_after_startup
    from epro.sync_client.http import tls_context

    tls_context()
    settle_after_startup()


def run_backend(
    database_url: str, key_file: Path, n: int, batch: int, work: Path, server_rows: int = 0
) -> dict[str, float]:
    """One measurement: a fresh server and kiosk; bare before and after the app (interleaved,
    so a load spike on a shared machine hits both sides), the app once in between."""
    from epro.sync_client import SyncClient

    with server_process(database_url, key_file) as url:
        preload_server(database_url, server_rows)
        store = queued_kiosk(
            work / f"kiosk-{uuid.uuid4().hex[:6]}.db", url, enrol_code(database_url, key_file), n
        )
        try:
            payloads = bodies(store, batch)
            warm_kiosk_imports()
            client = SyncClient(store, batch_size=batch, timeout=120)
            bare_before = bare_upload(url, payloads, client.in_flight)
            started = time.perf_counter()
            report = client.sync_once()
            app = time.perf_counter() - started
            if report.error is not None or report.acknowledged != n:
                raise SystemExit(f"benchmark: the sync did not complete: {report.error}")
            bare_after = bare_upload(url, payloads, client.in_flight)
        finally:
            store.close()
    return {"app_seconds": app, "bare_seconds": (bare_before + bare_after) / 2}


def median_run(
    database: Callable[[], contextlib.AbstractContextManager[str]],
    key_file: Path,
    args: argparse.Namespace,
    work: Path,
) -> dict[str, float]:
    """Per-key medians over ``--repeat`` runs, each on a fresh server database and kiosk."""
    runs = []
    for _ in range(args.repeat):
        with database() as url:
            runs.append(run_backend(url, key_file, args.n, args.batch, work, args.server_rows))
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main(argv: list[str] | None = None) -> int:
    from epro.protocol import DEFAULT_BATCH_MAX

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=10_000, help="queued responses (default 10000)")
    parser.add_argument(
        "--batch", type=int, default=DEFAULT_BATCH_MAX, help="envelopes per request (default 500)"
    )
    parser.add_argument(
        "--server-rows",
        type=int,
        default=0,
        help="responses already stored on the server before each run (default 0)",
    )
    parser.add_argument("--postgres-url", default=os.environ.get("EPRO_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeat", type=int, default=3, help="runs per backend (medians)")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(int(args.serve[0]), args.serve[1], Path(args.serve[2]))
        return 0
    from epro.crypto import generate_study_keypair

    scale = 10_000 / args.n
    result: dict[str, Any] = {
        "n": args.n,
        "batch": args.batch,
        "repeat": args.repeat,
        "server_rows": args.server_rows,
    }
    with tempfile.TemporaryDirectory(prefix="epro-bench-sync-") as tmp:
        work = Path(tmp)
        key_file = work / "study-public.json"
        key_file.write_text(generate_study_keypair().public_key().to_json(), encoding="utf-8")

        def sqlite_file() -> contextlib.AbstractContextManager[str]:
            return contextlib.nullcontext(f"sqlite:///{work / uuid.uuid4().hex}.sqlite3")

        sqlite = median_run(sqlite_file, key_file, args, work)
        result["sqlite_app_seconds"] = round(sqlite["app_seconds"], 3)
        result["bare_seconds"] = round(sqlite["bare_seconds"], 3)
        result["sqlite_seconds_10k"] = round(sqlite["app_seconds"] * scale, 2)
        result["ratio"] = round(sqlite["bare_seconds"] / sqlite["app_seconds"], 3)
        result["postgres_seconds_10k"] = None
        if args.postgres_url:
            base = args.postgres_url
            pg = median_run(lambda: postgres_schema(base), key_file, args, work)
            result["postgres_app_seconds"] = round(pg["app_seconds"], 3)
            result["postgres_seconds_10k"] = round(pg["app_seconds"] * scale, 2)
            result["postgres_ratio"] = round(pg["bare_seconds"] / pg["app_seconds"], 3)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24} {value}")
        print("goals: sqlite_seconds_10k <= 10, ratio >= 0.3")
    return 0


if __name__ == "__main__":
    sys.exit(main())
