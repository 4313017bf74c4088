"""Batch upload: check each envelope on its own, store it exactly once, answer with receipts.

The primary key on ``responses.response_id`` is what makes "exactly once" true under
concurrency: a batch is inserted with ``ON CONFLICT (response_id) DO NOTHING``, so the key, not
a prior look-up, decides. An id the key refused was stored by some request (an earlier one, a
concurrent one, another server instance — on PostgreSQL the insert waits for a concurrent
writer of the same id to commit); we then read what it stored and answer ``duplicate`` or
``conflict``. One statement for the whole batch instead of one round trip per envelope.
Functions never commit; the route does.

The route has already checked the request signature, which authenticates every byte of the
body, so envelopes are not verified one by one here (``epro-sync verify`` checks each stored
envelope's own signature). What is checked per envelope is what decides how it is filed: its
shape, that it is this kiosk's and site's, and that ``sha256`` is the hash of its content —
duplicate and conflict detection rest on that hash.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Annotated, Any, NamedTuple

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy import Connection, Dialect, Table, select
from sqlmodel import Session
from typing_extensions import TypedDict  # pydantic reads only this one on Python < 3.12

from epro import protocol
from epro.protocol import (
    BatchRequest,
    Envelope,
    ReceiptStatus,
    SignedTime,
    UuidText,
    problem_text,
    utc_timestamp,
    wire_signing_bytes,
)
from epro_sync.storage import Refusal, Sender, record
from epro_sync.tables import Quarantined, StoredResponse, as_utc


class WireReceipt(TypedDict):
    """A receipt as it goes on the wire (``epro.protocol.Receipt``), built as plain JSON values:
    a reply holds hundreds, and building validated models for them cost more than storing."""

    response_id: str | None
    status: ReceiptStatus
    receipt_id: str | None
    received_at: str | None
    sha256: str | None
    message: str


def reply_json(receipts: list[WireReceipt]) -> bytes:
    """The ``BatchReply`` body: what ``json.dumps`` writes, a "stored" receipt from a template.

    Every value of a "stored" receipt is text JSON writes as it is (ids, hex, an ISO time, all
    checked or made here), so those skip the general encoder; anything else goes through it.
    """
    parts = []
    for receipt in receipts:
        if receipt["status"] == "stored" and not receipt["message"]:
            parts.append(
                f'{{"response_id":"{receipt["response_id"]}","status":"stored",'
                f'"receipt_id":"{receipt["receipt_id"]}","received_at":"{receipt["received_at"]}",'
                f'"sha256":"{receipt["sha256"]}","message":""}}'
            )
        else:
            parts.append(_ENCODE(receipt))
    return f'{{"receipts":[{",".join(parts)}]}}'.encode()


_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"]) or "envelope"
    return f"{where}: {problem_text(problem)}"


#: An envelope as the server works with it: ``Envelope``'s fields by name, with
#: ``response_id`` as its canonical text and ``submitted_at`` as its signed rendering (the
#: forms :func:`epro.protocol.wire_signing_bytes` takes).
WireEnvelope = dict[str, Any]


@functools.cache
def _wire_batch(batch_max: int) -> TypeAdapter[dict[str, list[WireEnvelope]]]:
    """``BatchRequest`` read straight into plain values: each field with ``Envelope``'s own type
    and constraints, except the id and the time, which must already be in the one text form
    that is signed. Envelopes come from kiosks that write exactly that form, so the common
    case needs no UUID or datetime objects only to render them back into text (together with
    model instances, that was a third of checking an upload). Anything else, valid or not, is
    read by the full model instead (:func:`parse_batch`), so this changes no outcome.
    """
    decorators = Envelope.__pydantic_decorators__
    if decorators.field_validators or decorators.model_validators or decorators.validators:
        raise RuntimeError("epro_sync.upload: Envelope validators must be in its field types")
    fields: dict[str, Any] = {
        name: Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        for name, info in Envelope.model_fields.items()
    }
    fields["response_id"] = UuidText
    fields["submitted_at"] = SignedTime
    # Built at run time from the model's fields, so the two cannot drift apart.
    envelope = _closed_typed_dict("WireEnvelope", fields)
    # The count is checked as the list is read, before any envelope is validated: a body of
    # a million empty objects is refused at the first one past the limit.
    envelopes = Annotated[list[envelope], Field(max_length=batch_max)]  # type: ignore[valid-type]
    batch = _closed_typed_dict("WireBatch", {"envelopes": envelopes})
    adapter: TypeAdapter[dict[str, list[WireEnvelope]]] = TypeAdapter(batch)
    return adapter


def _closed_typed_dict(name: str, fields: dict[str, Any]) -> Any:
    """A TypedDict of ``fields`` that pydantic validates refusing unknown keys."""
    made: Any = TypedDict(name, fields)  # type: ignore[misc]
    setattr(made, "__pydantic_config__", ConfigDict(extra="forbid"))  # noqa: B010
    return made


_wire_batch(protocol.DEFAULT_BATCH_MAX)  # fail at start-up, not at the first upload


class ParsedBatch(NamedTuple):
    """A body's envelopes in order (None where one was malformed) and, by place in the batch,
    the ``rejected`` receipts of the malformed ones."""

    envelopes: list[WireEnvelope | None]
    rejected: dict[int, WireReceipt]


def parse_batch(body: bytes, batch_max: int) -> ParsedBatch:
    """The body's envelopes, each parsed or (when malformed) a ``rejected`` receipt, in order.

    A body that is not ``{"envelopes": [...]}`` at all, or holds more than ``batch_max``
    envelopes, is refused as a whole. The common case — every envelope well formed, ids and
    times in their signed form — is one validation of the whole body into plain values; any
    other body is validated by the ``BatchRequest`` model, and one holding a bad envelope is
    then taken apart item by item, so that one bad envelope does not hold back the others.
    """
    _check_count_bound(body, batch_max)
    try:
        envelopes = _wire_batch(batch_max).validate_json(body)["envelopes"]
        for envelope in envelopes:
            datetime.fromisoformat(envelope["submitted_at"])  # a real date and time
    except ValidationError as error:
        if any(p["type"] == "too_long" and p["loc"] == ("envelopes",) for p in error.errors()):
            raise Refusal(
                413, f"more than {batch_max} envelopes in one batch; send at most {batch_max}"
            ) from None
    except ValueError:
        pass
    else:
        _check_size(len(envelopes), batch_max)
        return ParsedBatch(list(envelopes), {})
    try:
        models = BatchRequest.model_validate_json(body).envelopes
    except ValidationError:
        pass
    else:
        _check_size(len(models), batch_max)
        return ParsedBatch([_wire(model) for model in models], {})
    try:
        payload = json.loads(body)
    except ValueError:
        raise Refusal(400, "the request body is not valid JSON text (UTF-8)") from None
    except RecursionError:
        raise Refusal(
            400, "the request body is nested too deeply; send the documented shape"
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("envelopes"), list):
        raise Refusal(422, 'the body must be {"envelopes": [ ... ]}')
    if extra := sorted(set(payload) - {"envelopes"}):
        raise Refusal(422, f"unexpected field(s) {', '.join(map(str, extra))}; send only envelopes")
    items: list[Any] = payload["envelopes"]
    _check_size(len(items), batch_max)
    parsed = ParsedBatch([], {})
    for index, item in enumerate(items):
        try:
            parsed.envelopes.append(_wire(Envelope.model_validate(item)))
        except ValidationError as error:
            raw_id = item.get("response_id") if isinstance(item, dict) else None
            parsed.envelopes.append(None)
            parsed.rejected[index] = _rejected(
                raw_id, f"envelope {index} is malformed: {_first_problem(error)}"
            )
    return parsed


def _wire(envelope: Envelope) -> WireEnvelope:
    """A validated model as the plain values the common case reads (see :data:`WireEnvelope`)."""
    fields = dict(envelope)
    fields["response_id"] = str(envelope.response_id)
    fields["submitted_at"] = utc_timestamp(envelope.submitted_at)
    return fields


#: Commas one envelope holds at most: 13 between its 16 fields, and one after it. No field
#: value may contain a comma or a brace (codes, hex, base64, a fixed time format).
_COMMAS_PER_ENVELOPE = 16


def _check_count_bound(body: bytes, batch_max: int) -> None:
    """Refuse a body that cannot hold at most ``batch_max`` envelopes, before parsing it.

    A well-formed body has one ``{`` per envelope plus its own, and a bounded number of commas
    per envelope; counting bytes costs no memory, whereas parsing a body of a million ``{}``
    first built a million objects. A body this refuses would not have been stored anyway.
    """
    if body.count(b"{") - 1 > batch_max or body.count(b",") > _COMMAS_PER_ENVELOPE * batch_max:
        raise Refusal(
            413,
            f"more than {batch_max} envelopes in one batch (or items that are not envelopes); "
            f"send at most {batch_max}",
        )


def _check_size(count: int, batch_max: int) -> None:
    if count > batch_max:
        raise Refusal(413, f"{count} envelopes in one batch; send at most {batch_max}")


class CheckedBatch(NamedTuple):
    """A batch checked and made ready to store, before any database work (see
    :func:`check_batch`): receipts of the envelopes refused so far, and one row per
    envelope to store."""

    receipts: list[WireReceipt | None]  # in the order of the batch; None: still to store
    checked: list[_Checked]


def check_batch(
    parsed: ParsedBatch,
    device_id: str,
    site: str,
    dialect: Dialect,
    now: datetime,
) -> CheckedBatch:
    """Check each envelope on its own and build its row; no database access.

    The upload route runs this before it takes the database's write lock, so one upload's
    checks overlap another's insert and commit. Written as one loop over plain values: it is
    the largest share of the server's work on an upload.
    """
    items = parsed.envelopes
    receipts: list[WireReceipt | None] = [None] * len(items)
    checked: list[_Checked] = []
    stored_time = _time_storer(dialect)
    flag = _processor(dialect, "out_of_window")
    received = _processor(dialect, "received_at")(now)
    receipt_ids = _new_receipt_ids(len(items), now)
    sha256 = hashlib.sha256
    for index, item in enumerate(items):
        if item is None:
            receipts[index] = parsed.rejected[index]
            continue
        key = item["response_id"]
        signed = wire_signing_bytes(item)
        if item["device_id"] != device_id or item["site"] != site:
            receipts[index] = _rejected(key, _sender_problem(item, key, device_id, site))
            continue
        digest = item["sha256"]
        if sha256(signed).hexdigest() != digest:
            receipts[index] = _rejected(
                key,
                f"envelope {key}: sha256 does not match its content; it was changed after it "
                "was signed",
            )
            continue
        # The envelope as stored: its signed canonical JSON with ``sha256`` and ``signature``
        # added (the same fields and values as the upload, without serialising it again).
        text = (
            f'{signed[:-1].decode("ascii")},"sha256":"{digest}","signature":"{item["signature"]}"}}'
        )
        row = (  # in _COLUMNS order, as the columns' bind processors give them
            key,
            receipt_ids[index],
            device_id,
            site,
            item["patient"],
            item["visit"],
            item["form_id"],
            item["form_version"],
            item["respondent"],
            stored_time(item["submitted_at"]),
            flag(item["out_of_window"]),
            digest,
            text,
            received,
        )
        checked.append(_Checked(index, item, key, row))
    return CheckedBatch(receipts, checked)


def _sender_problem(envelope: WireEnvelope, key: str, device_id: str, site: str) -> str:
    if envelope["device_id"] != device_id:
        return (
            f"envelope {key} names kiosk {envelope['device_id']} but was sent "
            f"with the token of kiosk {device_id}; each kiosk uploads only its own"
        )
    return (
        f"envelope {key} is for site {envelope['site']} but this kiosk is enrolled at site {site}"
    )


def store_batch(
    session: Session, device: Sender, batch: CheckedBatch, now: datetime
) -> list[WireReceipt]:
    """Store the checked envelopes exactly once; receipts come back in the order of the batch.

    ``now`` must be the time :func:`check_batch` was given (it is in the rows). The caller
    records the kiosk as seen (``storage.touch_device``) in the same transaction.
    """
    receipts = list(batch.receipts)
    for index, receipt in _store_all(session, device, batch.checked, now).items():
        receipts[index] = receipt
    done = [receipt for receipt in receipts if receipt is not None]
    counts = dict.fromkeys(_STATUSES, 0)
    for receipt in done:
        counts[receipt["status"]] += 1
    record(session, now, "batch_received", device=device, **counts)
    return done


class _Checked(NamedTuple):
    """An envelope that passed its checks: its place in the batch, its id as text, and its row
    of values (in ``_COLUMNS`` order, bind-processed)."""

    place: int  # in the batch
    envelope: WireEnvelope
    key: str
    row: tuple[Any, ...]


_STATUSES = ("stored", "duplicate", "conflict", "rejected")


def _rejected(response_id: Any, message: str) -> WireReceipt:
    try:
        parsed = str(uuid.UUID(str(response_id))) if response_id is not None else None
    except ValueError:
        parsed = None
    return {
        "response_id": parsed,
        "status": "rejected",
        "receipt_id": None,
        "received_at": None,
        "sha256": None,
        "message": message,
    }


def _store_all(
    session: Session, device: Sender, envelopes: list[_Checked], now: datetime
) -> dict[int, WireReceipt]:
    """Insert every new id in one statement; what the key refused is re-read and classified."""
    first: dict[str, tuple[Any, ...]] = {}
    for checked in envelopes:
        first.setdefault(checked.key, checked.row)
    # Sorted ids give every transaction the same lock order: no deadlock between two batches.
    connection = session.connection()
    count = _insert_new(connection, [first[key] for key in sorted(first)]) if first else 0
    received = now.isoformat()
    if count == len(envelopes):  # the usual case: every envelope new, each once
        return {
            index: {
                "response_id": key,
                "status": "stored",
                "receipt_id": row[_RECEIPT_AT],
                "received_at": received,
                "sha256": row[_SHA256_AT],
                "message": "",
            }
            for index, _envelope, key, row in envelopes
        }
    # Rows the key refused were stored earlier, by a concurrent request, or by an earlier
    # copy in this very batch; read every id now (READ COMMITTED sees a concurrent winner).
    # A row holding the receipt id made for it here is one this statement inserted: receipt
    # ids carry 74 random bits and are unique (a constraint): no other request wrote it.
    stored = _read_receipts(session, set(first))
    inserted = {key for key, row in first.items() if stored[key].receipt_id == row[_RECEIPT_AT]}
    for key in inserted:
        row = first[key]
        stored[key] = _Stored(key, row[_RECEIPT_AT], row[_SHA256_AT], received)
    receipts: dict[int, WireReceipt] = {}
    fresh = inserted
    for index, envelope, key, row in envelopes:
        original = stored[key]
        if key in fresh and original.sha256 == envelope["sha256"]:
            fresh.discard(key)  # the first copy in the batch is the one that was stored
            receipts[index] = _receipt(original, "stored", "")
        elif original.sha256 == envelope["sha256"]:
            receipts[index] = _receipt(
                original, "duplicate", "already stored; this is the original receipt"
            )
        else:
            text = row[_ENVELOPE_AT]
            receipts[index] = _quarantine(session, device, envelope, text, original, now)
    return receipts


_RESPONSES: Table = StoredResponse.metadata.tables["responses"]

#: The columns of a stored response in the order :func:`_row_builder` fills them.
_COLUMNS = (
    "response_id",
    "receipt_id",
    "device_id",
    "site",
    "patient",
    "visit",
    "form_id",
    "form_version",
    "respondent",
    "submitted_at",
    "out_of_window",
    "sha256",
    "envelope",
    "received_at",
)
if set(_COLUMNS) != set(_RESPONSES.columns.keys()):  # pragma: no cover
    raise RuntimeError("epro_sync.upload: _COLUMNS must name every column of responses")
_RECEIPT_AT = _COLUMNS.index("receipt_id")
_SHA256_AT = _COLUMNS.index("sha256")
_ENVELOPE_AT = _COLUMNS.index("envelope")
#: Rows per INSERT statement: 14 parameters each stays far below SQLite's and PostgreSQL's
#: limits on parameters per statement.
_ROWS_PER_INSERT = 500


def _processor(dialect: Dialect, name: str) -> Callable[[Any], Any]:
    """The column's own bind processor for ``dialect`` (what the ORM would apply)."""
    process = _RESPONSES.c[name].type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else _same


def _same(value: Any) -> Any:
    return value


def _time_storer(dialect: Dialect) -> Callable[[str], Any]:
    """``submitted_at`` as its column stores it, given its signed rendering.

    On SQLite the column's bind processor writes the UTC time as ``YYYY-MM-DD HH:MM:SS.ffffff``:
    the signed rendering (``YYYY-MM-DDTHH:MM:SS.ffffffZ``) with two characters changed, so the
    text is not parsed at all. That shortcut is taken only when the processor gives the same
    text for a probe with every field distinct; any other dialect (or a changed processor)
    gets the processor itself, of the parsed time.
    """
    process = _processor(dialect, "submitted_at")
    probe = datetime(2001, 2, 3, 4, 5, 6, 70809, tzinfo=UTC)
    if process(probe) == _from_signed(utc_timestamp(probe)):
        return _from_signed
    return lambda signed: process(datetime.fromisoformat(signed))


def _from_signed(signed: str) -> str:
    return f"{signed[:10]} {signed[11:26]}"


def _insert_new(connection: Connection, rows: list[tuple[Any, ...]]) -> int:
    """``INSERT … ON CONFLICT (response_id) DO NOTHING``: how many of ``rows`` were stored.

    Written for the driver's own cursor, many rows per statement: SQLAlchemy's per-row
    parameter handling cost more than the database's own work. The rows hold values already
    passed through the columns' own bind processors, so they are stored exactly as the ORM
    would. The cursor belongs to the session's connection, inside its transaction.

    A count, not ``RETURNING`` the ids: a returned row is one more step of the statement, and
    the SQLite driver lets go of the GIL and takes it back at every step, so under load the
    write transaction (which every upload waits for) queued for the GIL once per row. Without
    rows to return, each statement runs in one step.
    """
    mark = "%s" if connection.dialect.paramstyle in ("format", "pyformat") else "?"
    one_row = "(" + ", ".join([mark] * len(_COLUMNS)) + ")"
    count = 0
    cursor = connection.connection.cursor()
    try:
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start : start + _ROWS_PER_INSERT]
            statement = (
                f"INSERT INTO responses ({', '.join(_COLUMNS)}) VALUES "
                + ", ".join([one_row] * len(chunk))
                + " ON CONFLICT (response_id) DO NOTHING"
            )
            cursor.execute(statement, tuple(chain.from_iterable(chunk)))
            count += cursor.rowcount
    finally:
        cursor.close()
    return count


def _new_receipt_ids(count: int, now: datetime) -> list[str]:
    """``count`` new receipt ids as text: time-ordered UUIDs (version 7, RFC 9562) of ``now``.

    48 bits of Unix milliseconds, then 74 random bits, from one read of the system's random
    source; the text is cut from the hex as ``str(uuid.UUID(...))`` gives it (a test holds
    the two equal). Receipt ids are unique by a database constraint, so their index grows
    with every stored response: random (version 4) ids put each new one on a random page of
    it, and a batch of 500 rewrote hundreds of pages once the server held 100,000 responses
    (storing a batch took four times as long as with ids that sort by time, which land
    together at the end of the index). The time they carry is the receipt's own
    ``received_at``.
    """
    if count == 0:
        return []
    millis = (now - _EPOCH) // _MILLISECOND & (1 << 48) - 1
    pool = bytearray(os.urandom(16 * count))
    for place, byte in enumerate(millis.to_bytes(6, "big")):
        pool[place::16] = bytes((byte,)) * count
    pool[6::16] = bytes(b & 0x0F | 0x70 for b in pool[6::16])  # version 7
    pool[8::16] = bytes(b & 0x3F | 0x80 for b in pool[8::16])  # RFC 9562 variant
    text = pool.hex()
    return [
        f"{text[i : i + 8]}-{text[i + 8 : i + 12]}-{text[i + 12 : i + 16]}-"
        f"{text[i + 16 : i + 20]}-{text[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True)
class _Stored:
    response_id: str
    receipt_id: str
    sha256: str
    received_at: str  # ISO 8601, as it goes into receipts


def _read_receipts(session: Session, ids: set[str]) -> dict[str, _Stored]:
    found: dict[str, _Stored] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):  # keep IN lists well under driver limits
        chunk = ordered[start : start + 500]
        rows = session.connection().execute(
            select(
                _RESPONSES.c.response_id,
                _RESPONSES.c.receipt_id,
                _RESPONSES.c.sha256,
                _RESPONSES.c.received_at,
            ).where(_RESPONSES.c.response_id.in_(chunk))
        )
        for row in rows:
            found[row.response_id] = _Stored(
                row.response_id, row.receipt_id, row.sha256, as_utc(row.received_at).isoformat()
            )
    return found


def _quarantine(
    session: Session,
    device: Sender,
    envelope: WireEnvelope,
    text: str,
    original: _Stored,
    now: datetime,
) -> WireReceipt:
    session.add(
        Quarantined(
            response_id=original.response_id,
            device_id=envelope["device_id"],
            sha256=envelope["sha256"],
            envelope=text,
            received_at=now,
            original_receipt_id=original.receipt_id,
        )
    )
    record(
        session,
        now,
        "conflict",
        device=device,
        response_id=original.response_id,
        original_sha256=original.sha256,
        new_sha256=envelope["sha256"],
    )
    receipt = _receipt(
        original,
        "conflict",
        "a different response with this id was stored before; the original is kept and this "
        "one is quarantined for the data manager to review",
    )
    receipt["sha256"] = envelope["sha256"]  # the hash of what was sent, not of the original
    return receipt


def _receipt(row: _Stored, status: ReceiptStatus, message: str) -> WireReceipt:
    return {
        "response_id": row.response_id,
        "status": status,
        "receipt_id": row.receipt_id,
        "received_at": row.received_at,
        "sha256": row.sha256,
        "message": message,
    }
