"""Drain the kiosk's outbox to the study server, exactly once, whatever the network does.

One :meth:`SyncClient.sync_once` uploads the outbox in batches, then pushes the local roster,
pulls the site roster and completion, and pushes the audit chain head (before the upload too:
a kiosk whose log the server flags as rolled back or forked uploads but purges nothing, see
``chain``). Safety rests on three
facts: every envelope keeps the UUID it was born with; the server answers a repeat of the same
bytes with ``duplicate`` and the original receipt; and the kiosk acknowledges (and purges its
own copy of) an envelope only on a ``stored`` or ``duplicate`` receipt. A reply lost on the
wire therefore costs one repeat upload, never a loss or a second copy.

Receipts count only when the server key pinned at enrolment signed them, and the server's
address, token and key are used only when their MACs hold and the address is https (or
loopback): see ``epro.sync_client.pinning`` and ``epro.store.trust``. A failed check stops
the sync before any request, or before any receipt is applied, and says so plainly.
"""

from __future__ import annotations

import contextlib
import functools
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

import httpx
from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic reads only this one on Python < 3.12

from epro.errors import EproError
from epro.protocol import DEFAULT_BATCH_MAX, ReceiptStatus, ServerKey, UuidText
from epro.store.domain import AuditKind
from epro.store.hot import Queued
from epro.sync_client import status as keys_
from epro.sync_client.backoff import Uniform, backoff_delay
from epro.sync_client.chain import AuditHeads, flagged_failure
from epro.sync_client.errors import (
    HTTPX_ERRORS,
    NotEnrolledError,
    SyncFailure,
    map_http_error,
    status_error,
    unexpected_failure,
)
from epro.sync_client.http import DeviceAuth, error_detail, server_time, tls_context
from epro.sync_client.pinning import check_server_url, checked_server_key, verify_receipts
from epro.sync_client.site import SiteData

if TYPE_CHECKING:
    from epro.store import Store

#: Prefixes of ``OutboxEntry.last_error`` that take an envelope out of automatic retries:
#: a conflict or rejection needs a person to look at it, not the same bytes again.
CONFLICT_PREFIX = "conflict: "
REJECTED_PREFIX = "rejected: "
FLAGGED_PREFIXES = (CONFLICT_PREFIX, REJECTED_PREFIX)

#: The security settings a sync relies on (``epro.store.trust``): who the kiosk is, where it
#: sends, with which token, and whose receipts it believes. Not the study key: envelopes
#: sealed before a swap still go out, while Submit refuses to seal another.
_SYNC_SETTINGS = (
    "device_id",
    "site",
    keys_.SERVER_URL,
    keys_.SERVER_DEVICE_ID,
    keys_.DEVICE_TOKEN,
    keys_.SERVER_PUBLIC_KEY,
)

Progress = Callable[[int, int], None]
Position = tuple[str, str]  # (created_at, response_id): a place in the outbox queue


class Acknowledger(Protocol):
    """Marks a response acknowledged and purges the kiosk's copy (``SessionService`` fits).

    An acknowledger may also offer ``acknowledge_many(receipts, *, at)`` taking
    ``(response_id, receipt_id)`` pairs and doing them all in one transaction; the client uses
    it when present, because one fsync'd transaction per response dominates a large sync.
    """

    def acknowledge(self, response_id: str, *, receipt_id: str, at: datetime) -> None: ...


@dataclass(slots=True)
class SyncReport:
    """The outcome of one sync (or of several attempts, summed by ``sync_until_empty``)."""

    sent: int = 0
    acknowledged: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    remaining: int = 0
    skew_seconds: float | None = None
    error: SyncFailure | None = None
    attempts: int = 1
    flagged: list[str] = field(default_factory=list)  # response ids needing staff review
    #: Stored on the server but kept whole on the kiosk: its audit log is flagged.
    held: int = 0

    @property
    def skew_flagged(self) -> bool:
        return self.skew_seconds is not None and abs(self.skew_seconds) > keys_.SKEW_LIMIT_S


def utc_now() -> datetime:
    return datetime.now(UTC)


class _HasLastError(Protocol):
    @property
    def last_error(self) -> str | None: ...


def is_flagged(entry: _HasLastError) -> bool:
    """True when the entry waits for staff (conflict or rejected), not for the network."""
    return entry.last_error is not None and entry.last_error.startswith(FLAGGED_PREFIXES)


class SyncClient:
    """Uploads the outbox of one kiosk store; see the module docstring for the guarantees."""

    def __init__(
        self,
        store: Store,
        *,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        batch_size: int = DEFAULT_BATCH_MAX,
        timeout: float = 30.0,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        rng: Uniform | None = None,
        acknowledger: Acknowledger | None = None,
        in_flight: int = 2,
        read_ahead: int = 2,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if in_flight < 1:
            raise ValueError("in_flight must be at least 1")
        if read_ahead < 0:
            raise ValueError("read_ahead must be 0 or more")
        self.in_flight = in_flight
        self.read_ahead = read_ahead
        self.store = store
        self.base_url = base_url
        self.transport = transport
        self.batch_size = batch_size
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self.rng: Uniform = rng if rng is not None else random.Random()
        self._acknowledger = acknowledger
        self._hold = False  # this sync purges nothing (the server flagged the audit log)
        self._server_key: bytes | None = None  # pinned receipt-signing key, read per sync

    # ------------------------------------------------------------------------ public API

    def sync_once(self, progress: Progress | None = None) -> SyncReport:
        """One full sync; failures come back in ``report.error`` (the outbox keeps everything)."""
        report = SyncReport()
        try:
            with (
                self._client() as client,
                ThreadPoolExecutor(1, thread_name_prefix="epro-site") as side,
            ):
                if self._server_key is None:
                    self._server_key = self._pin_server_key(client, report)
                site = SiteData(self.store, client, lambda r: self._check(r, report))
                heads = AuditHeads(self.store, client, lambda r: self._check(r, report))
                # First: does this kiosk's audit log extend the head the server holds? If
                # not (a rolled-back or forked file), upload but purge nothing.
                chain_flag = heads.push()
                self._hold = chain_flag is not None
                # The roster and completion exchange does not depend on the upload: its
                # requests travel while the outbox drains instead of after it (the store is
                # read before and written after, on this thread).
                exchange = side.submit(site.fetch, site.local_patients())
                try:
                    self._drain(client, report, progress)
                finally:
                    wait([exchange])  # never leave it running on a client about to close
                report.error = site.apply(exchange.result())
                if chain_flag is None:
                    chain_flag = heads.push()  # last: it covers this sync's audit events
                if chain_flag is not None:
                    report.error = flagged_failure(chain_flag)
        except SyncFailure as failure:
            report.error = failure
        except HTTPX_ERRORS as error:
            report.error = map_http_error(error)
        except Exception as error:  # a sync must never end the kiosk's syncing
            report.error = unexpected_failure(error)
        self._remember(report)
        return report

    def sync_until_empty(
        self,
        *,
        max_attempts: int = 6,
        base_delay: float = 0.5,
        max_delay: float = 60.0,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Retry :meth:`sync_once` with backoff until the queue is empty or retrying is futile."""
        total = SyncReport(attempts=0)
        for attempt in range(max_attempts):
            report = self.sync_once(progress)
            total.attempts += 1
            for name in ("sent", "acknowledged", "duplicates", "conflicts", "rejected", "held"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.flagged.extend(report.flagged)
            total.remaining = report.remaining
            total.skew_seconds = report.skew_seconds
            total.error = report.error
            if report.error is None or not report.error.retryable:
                break
            if attempt + 1 < max_attempts:
                self.sleep(backoff_delay(attempt, base_delay, max_delay, self.rng))
        return total

    # ------------------------------------------------------------------------ internals

    def _client(self) -> httpx.Client:
        """A client for the server the kiosk enrolled with, once every setting it relies on
        authenticates and the address may be used: before any request, so a redirected
        address or a swapped token never gets one."""
        self._server_key = None
        with self.store.unit_of_work() as uow:
            try:
                trusted = uow.keys.check_trusted(*_SYNC_SETTINGS)
                token = trusted[keys_.DEVICE_TOKEN]
                url = self.base_url or trusted[keys_.SERVER_URL]
                if not token or not url:
                    raise NotEnrolledError()
                url = check_server_url(url)
            except NotEnrolledError:
                raise
            except EproError as error:  # a setting changed outside epro, or plain http
                raise SyncFailure(str(error), retryable=False) from None
            pinned = trusted[keys_.SERVER_PUBLIC_KEY]
            if pinned is not None:
                self._server_key = checked_server_key(pinned)
            sign = uow.keys.device_key().sign
        return httpx.Client(
            base_url=url,
            transport=self.transport,
            timeout=self.timeout,
            auth=DeviceAuth(token, sign, clock=self.clock),
            headers={"Content-Type": "application/json"},
            verify=tls_context(),
        )

    def _pin_server_key(self, client: httpx.Client, report: SyncReport) -> bytes:
        """For a kiosk enrolled before receipts were signed: take the server's key now, over
        the address and token that authenticate, and keep it (authenticated) from then on.

        No weaker than before the upgrade, when every receipt was believed; from this sync
        on, only receipts this key signed are. A server that has no key (an older epro) gets
        nothing purged: the sync stops here and says why.
        """
        response = client.get("/v1/server-key")
        if response.status_code == 404:
            raise SyncFailure(
                "this study server does not sign its receipts (it runs an older epro): "
                "nothing was sent, and every response stays on this kiosk until the server "
                "is updated; tell the data manager",
                retryable=False,
            )
        self._check(response, report)
        try:
            value = ServerKey.model_validate_json(response.content).public_key
        except ValidationError:
            raise SyncFailure(
                "the study server's signing key was not understood: check that the kiosk and "
                "the server run the same epro version",
                retryable=False,
            ) from None
        raw = checked_server_key(value)
        with self.store.unit_of_work() as uow:
            uow.keys.set_setting(keys_.SERVER_PUBLIC_KEY, value)
            uow.audit.append(
                AuditKind.SYNC,
                "system",
                detail="pinned the study server's receipt-signing key (enrolled before "
                "receipts were signed)",
            )
            uow.commit()
        return raw

    def _acknowledge(self, receipts: list[tuple[str, str]], at: datetime) -> None:
        if not receipts:
            return
        if self._acknowledger is None:
            self._acknowledger = default_acknowledger(self.store)
        many = getattr(self._acknowledger, "acknowledge_many", None)
        if callable(many):
            many(receipts, at=at)
            return
        for response_id, receipt_id in receipts:
            self._acknowledger.acknowledge(response_id, receipt_id=receipt_id, at=at)

    def _check(self, response: httpx.Response, report: SyncReport) -> None:
        """Record the clock skew of every reply; turn an unusable status into a failure."""
        when = server_time(response)
        if when is not None:
            report.skew_seconds = (when - self.clock()).total_seconds()
        if response.status_code >= 400:
            raise status_error(response.status_code, error_detail(response))

    def _next_batch(self, after: Position | None) -> tuple[list[Queued], Position | None]:
        """The next batch to send and the queue position it ends at.

        Each read continues after the last entry read, so nothing in flight is read again;
        entries flagged for staff are passed over, and reading on past a whole batch of them
        keeps such a wall from stalling the queue.
        """
        while True:
            with self.store.transaction() as tx:
                entries = tx.queued(self.batch_size, after)
            if not entries:
                return [], after
            after = entries[-1].position
            batch = [entry for entry in entries if not is_flagged(entry)]
            if batch:
                return batch, after

    def _drain(self, client: httpx.Client, report: SyncReport, progress: Progress | None) -> None:
        """Upload batch after batch, up to ``in_flight`` of them travelling at once.

        The POSTs run on worker threads and every store access stays on this thread, so the
        kiosk's bookkeeping (receipts, purge, audit) of one batch overlaps the network and the
        server's work on the next ones. Up to ``read_ahead`` more batches wait, read and
        encoded, behind those travelling: a worker whose reply came back sends the next one at
        once instead of waiting for this thread to finish the bookkeeping of an earlier reply
        (which had left the server idle for several milliseconds per batch).

        Safety does not change: replies are taken in order, an envelope is acknowledged only
        from its own receipt, and a batch still travelling when something fails is simply
        uploaded again next time. A failed upload stops the line at once: the worker that saw
        it marks it, and batches waiting behind are not sent (on a dead network each would
        otherwise wait out its own timeout before the nurse sees the error).
        """
        with self.store.unit_of_work() as uow:
            total = uow.outbox.count_pending()
        handled = 0
        if progress is not None:
            progress(0, total)
        travelling: deque[tuple[list[Queued], Future[_Upload]]] = deque()
        depth = self.in_flight + self.read_ahead
        stop = threading.Event()  # set by the worker that sees an upload fail
        assert self._server_key is not None  # pinned before the upload starts
        # Checked on the worker, as soon as the reply is in: hashing the body and the reply
        # and one Ed25519 verification then overlap this thread's bookkeeping.
        verify = functools.partial(verify_receipts, self._server_key, self.store.device_id)
        with ThreadPoolExecutor(self.in_flight, thread_name_prefix="epro-upload") as uploader:
            batch, position = self._next_batch(None)
            try:
                while batch or travelling:
                    while batch and len(travelling) < depth:
                        travelling.append((batch, _send(uploader, client, batch, stop, verify)))
                        batch, position = self._next_batch(position)  # read while it travels
                    sent, future = travelling.popleft()
                    response, unsigned = future.result()
                    report.sent += len(sent)
                    self._check(response, report)
                    if unsigned is not None:  # nothing of this reply is believed
                        raise unsigned
                    if batch:  # keep the line full before the bookkeeping
                        travelling.append((batch, _send(uploader, client, batch, stop, verify)))
                        batch, position = self._next_batch(position)
                    self._apply_receipts(sent, response, report)
                    handled += len(sent)
                    if progress is not None:
                        progress(handled, max(total, report.sent))
            finally:
                stop.set()  # whatever ended the loop, nothing waiting is sent now
                for _batch, future in travelling:  # let them finish before the connection closes
                    with contextlib.suppress(Exception):
                        future.result()
        with self.store.unit_of_work() as uow:
            report.remaining = uow.outbox.count_pending()

    def _apply_receipts(
        self, batch: list[Queued], response: httpx.Response, report: SyncReport
    ) -> None:
        receipts = read_receipts(response.content)
        by_id = {e.response_id: e for e in batch}
        if len(receipts) != len(batch):
            raise SyncFailure(
                f"the study server returned {len(receipts)} receipts for {len(batch)} responses; "
                "nothing was marked as sent, the next sync repeats it safely",
                retryable=True,
            )
        now = self.clock()
        acknowledged: list[tuple[str, str]] = []
        flagged: list[tuple[str, str, str]] = []  # (response id, status, message)
        for entry, receipt in zip(batch, receipts, strict=True):
            rid = receipt["response_id"] or entry.response_id
            if rid not in by_id or rid != entry.response_id:
                raise SyncFailure(
                    "the study server's receipts do not match the uploaded responses; nothing "
                    "was marked as sent, the next sync repeats it safely",
                    retryable=True,
                )
            status = receipt["status"]
            if status in ("stored", "duplicate"):
                receipt_id = receipt["receipt_id"]
                if receipt_id is None:
                    raise SyncFailure(
                        "the study server sent a receipt without an id; nothing was marked as "
                        "sent, the next sync repeats it safely",
                        retryable=True,
                    )
                acknowledged.append((rid, receipt_id))
                report.duplicates += status == "duplicate"
                continue
            default = (
                "the server already holds different content under this response id"
                if status == "conflict"
                else "the server rejected this response"
            )
            flagged.append((rid, status, receipt["message"] or default))
        # Receipts are checked as a whole before anything is written, so a malformed reply
        # changes nothing on the kiosk.
        if self._hold:  # stored on the server, kept whole here until the flag is resolved
            report.held += len(acknowledged)
        else:
            self._acknowledge(acknowledged, now)
            report.acknowledged += len(acknowledged)
        if flagged:
            self._flag(flagged, report)

    def _flag(self, flagged: list[tuple[str, str, str]], report: SyncReport) -> None:
        """Conflicts and rejections wait for staff: recorded, audited, never resent blindly."""
        with self.store.unit_of_work() as uow:
            for rid, status, message in flagged:
                prefix = CONFLICT_PREFIX if status == "conflict" else REJECTED_PREFIX
                uow.outbox.record_error(rid, prefix + message)
                uow.audit.append(
                    AuditKind.SYNC, "system", response_id=rid, detail=f"{status} on upload"
                )
                report.flagged.append(rid)
                if status == "conflict":
                    report.conflicts += 1
                else:
                    report.rejected += 1
            uow.commit()

    def _remember(self, report: SyncReport) -> None:
        """Keep what the nurse station shows: last success or error, skew, revocation."""
        with self.store.unit_of_work() as uow:
            keys = uow.keys
            if report.skew_seconds is not None:
                keys.set_setting(keys_.CLOCK_SKEW, f"{report.skew_seconds:.1f}")
            if report.error is None:
                keys.set_setting(keys_.LAST_SUCCESS, self.clock().isoformat())
                keys.set_setting(keys_.LAST_ERROR, "")
            else:
                keys.set_setting(keys_.LAST_ERROR, str(report.error))
            # Only a server that answered can lift the revoked flag; a network error cannot.
            if report.error is None:
                keys.set_setting(keys_.REVOKED, "0")
            elif report.error.revoked:
                keys.set_setting(keys_.REVOKED, "1")
            if report.error is None or report.acknowledged:
                uow.audit.append(
                    AuditKind.SYNC,
                    "system",
                    detail=f"sync: {report.acknowledged} acknowledged, {report.remaining} waiting",
                )
            if report.error is not None:
                report.remaining = uow.outbox.count_pending()
            uow.commit()


class _Receipt(TypedDict):
    """``epro.protocol.Receipt`` as the kiosk reads it: ids kept as their text (the kiosk
    compares and stores them as text), times not parsed (the kiosk does not use them)."""

    response_id: UuidText | None
    status: ReceiptStatus
    receipt_id: UuidText | None
    received_at: str | None
    sha256: str | None
    message: str


class _Reply(TypedDict):
    receipts: list[_Receipt]


_REPLY = TypeAdapter(_Reply)


def read_receipts(content: bytes) -> list[_Receipt]:
    """The receipts of an upload's reply (a ``BatchReply``), validated into plain dicts.

    Models for hundreds of receipts, and turning their UUIDs back into text, cost more than
    the rest of reading the reply. SyncFailure (retryable) when the reply is not one.
    """
    try:
        return _REPLY.validate_json(content)["receipts"]
    except ValidationError:
        raise SyncFailure(
            "the study server's reply to an upload was not understood; nothing was marked "
            "as sent, the next sync repeats it safely",
            retryable=True,
        ) from None


class _NotSent(Exception):
    """A batch left unsent because an upload before it failed (never reaches the caller: the
    earlier failure is taken first, as replies are taken in order)."""


Verify = Callable[[bytes, httpx.Response], None]


class _Upload(NamedTuple):
    """A reply to one upload, and why its receipts are not to be believed (None: signed)."""

    response: httpx.Response
    unsigned: SyncFailure | None


def _send(
    uploader: ThreadPoolExecutor,
    client: httpx.Client,
    batch: list[Queued],
    stop: threading.Event,
    verify: Verify,
) -> Future[_Upload]:
    # The stored envelope JSON goes out byte for byte: no re-serialisation that could change
    # what was signed.
    body = b'{"envelopes":[' + b",".join(e.envelope_json.encode() for e in batch) + b"]}"
    return uploader.submit(_post_batch, client, body, stop, verify)


def _post_batch(
    client: httpx.Client, body: bytes, stop: threading.Event, verify: Verify
) -> _Upload:
    """One upload on a worker thread, unless an earlier one failed; a failure stops the line.
    A reply whose receipts the pinned server key did not sign is a failure too."""
    if stop.is_set():
        raise _NotSent()
    try:
        response = client.post("/v1/responses:batch", content=body)
    except BaseException:
        stop.set()
        raise
    if response.status_code >= 400:
        stop.set()
        return _Upload(response, None)
    try:
        verify(body, response)
    except SyncFailure as failure:
        stop.set()
        return _Upload(response, failure)
    return _Upload(response, None)


def default_acknowledger(store: Store) -> Acknowledger:
    """A ``SessionService`` on the kiosk's study: it purges on acknowledgement."""
    from epro.schedule import load_study
    from epro.session import SessionService

    # Acknowledging reads no form, so none is parsed (that was most of a small sync's time).
    return SessionService(store, {}, load_study())
