"""The sealed export bundle: what the study server hands the data manager, in one file.

A bundle is UTF-8 text, one JSON object per line (ASCII only: anything else is escaped):

1. a header ``{"format": "epro-bundle/2", "created_at", "server_schema_version", "site",
   "study_key_fingerprint"}`` (``site`` is null for a bundle of every site);
2. records, each with a ``type``, in this order of sections: ``device`` (the kiosk registry
   with each kiosk's public key and revocation), ``patient`` (the server roster: the birth
   month and baseline date the export needs for ages and visits), ``audit`` (the server audit
   log), ``quarantine`` (conflicting copies the server kept apart), ``annotation`` (a data
   manager's marks on stored responses: entered in error, with the reason, who and when) and
   ``response`` (each stored envelope *exactly* as the server stored it, with its receipt),
   responses ordered by (site, patient, visit, submitted_at, response_id);
3. a manifest ``{"type": "manifest", "counts", "created_at", "server_schema_version",
   "sha256"}``: the number of records of each type and the SHA-256 of every byte before the
   manifest line.

Format 1 is format 2 without the ``annotation`` section (its manifest counts the other five);
this reader reads both, and writes 2. A reader of format 1 alone refuses a format-2 bundle by
naming both versions rather than calling it damaged.

Nothing in a bundle is plaintext answers: those travel only inside the sealed envelopes, which
only the study private key opens. The manifest hash finds truncation and damage; it is not a
signature (the envelopes carry their kiosks' signatures, and the export checks each of them).

:class:`BundleWriter` streams a bundle to a binary file and hashes as it goes;
:func:`open_bundle` checks a bundle in one pass (hash, counts, order) and returns a
:class:`Bundle` whose sections are read back lazily, responses one patient at a time, so no
reader ever holds the responses in memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Final

from epro.errors import BundleError
from epro.protocol import utc_timestamp

FORMAT: Final = "epro-bundle/2"
#: The record types in the order their sections appear.
SECTIONS: Final = ("device", "patient", "audit", "quarantine", "annotation", "response")
#: The sections of each format this reader accepts (format 1 had no annotations).
FORMATS: Final[Mapping[str, tuple[str, ...]]] = {
    "epro-bundle/1": tuple(kind for kind in SECTIONS if kind != "annotation"),
    FORMAT: SECTIONS,
}
MANIFEST: Final = "manifest"
#: The annotation kind that takes a response out of the analysis.
ENTERED_IN_ERROR: Final = "entered_in_error"


def _time(value: datetime) -> str:
    if value.tzinfo is None:
        raise BundleError("bundle times must carry a time zone")
    return utc_timestamp(value)


def _optional_time(value: datetime | None) -> str | None:
    return None if value is None else _time(value)


@dataclass(frozen=True, slots=True)
class BundleHeader:
    """The first line of a bundle."""

    created_at: datetime
    server_schema_version: int
    #: The site the bundle is limited to, or None for every site.
    site: str | None
    #: Fingerprint of the study public key the server hands kiosks (None if not configured):
    #: the export refuses a study key that is not its pair.
    study_key_fingerprint: str | None = None
    #: The format the bundle was written in (a writer always writes :data:`FORMAT`).
    format: str = FORMAT


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A kiosk as the server registered it; ``public_key`` is its raw Ed25519 key in base64."""

    device_id: str
    site: str
    label: str
    public_key: str
    enrolled_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class RosterRecord:
    """A patient of the server roster (pseudonymous code, birth month, baseline date)."""

    code: str
    site: str
    birth_ym: str
    baseline_date: date


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One event of the server audit log; ``detail`` is its JSON text as stored."""

    id: int
    at: datetime
    event: str
    device_id: str | None
    site: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """A copy of a response id that arrived with different content and was kept apart."""

    id: int
    response_id: str
    device_id: str
    sha256: str
    received_at: datetime
    original_receipt_id: str
    envelope: str


@dataclass(frozen=True, slots=True)
class AnnotationRecord:
    """A data manager's mark on a stored response (``kind`` ``entered_in_error``).

    The envelope itself is never changed: the export keeps the response, with this status and
    reason, in the long file and leaves it out of scores and analysis.
    """

    id: int
    response_id: str
    site: str
    #: The patient of the marked response, as the server stored it (for routing the mark).
    patient: str
    kind: str
    reason: str
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """A stored response: routing columns, the receipt, and the envelope text as stored."""

    site: str
    patient: str
    visit: str
    submitted_at: datetime
    response_id: str
    device_id: str
    receipt_id: str
    received_at: datetime
    sha256: str
    envelope: str


Record = (
    DeviceRecord | RosterRecord | AuditRecord | QuarantineRecord | AnnotationRecord | ResponseRecord
)


@dataclass(frozen=True, slots=True)
class BundleManifest:
    """The last line of a bundle."""

    counts: Mapping[str, int]
    created_at: datetime
    server_schema_version: int
    sha256: str


# ----------------------------------------------------------------------------------- encoding

_ENCODE: Final = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def _line(data: Mapping[str, Any]) -> bytes:
    return (_ENCODE(data) + "\n").encode("ascii")


def _header_json(header: BundleHeader) -> dict[str, Any]:
    if header.format != FORMAT:
        raise BundleError(f"this epro writes bundles of format {FORMAT} only")
    return {
        "format": FORMAT,
        "created_at": _time(header.created_at),
        "server_schema_version": header.server_schema_version,
        "site": header.site,
        "study_key_fingerprint": header.study_key_fingerprint,
    }


def _record_json(record: Record) -> tuple[str, dict[str, Any]]:
    if isinstance(record, ResponseRecord):
        return "response", {
            "type": "response",
            "site": record.site,
            "patient": record.patient,
            "visit": record.visit,
            "submitted_at": _time(record.submitted_at),
            "response_id": record.response_id,
            "device_id": record.device_id,
            "receipt_id": record.receipt_id,
            "received_at": _time(record.received_at),
            "sha256": record.sha256,
            "envelope": record.envelope,
        }
    if isinstance(record, DeviceRecord):
        return "device", {
            "type": "device",
            "device_id": record.device_id,
            "site": record.site,
            "label": record.label,
            "public_key": record.public_key,
            "enrolled_at": _time(record.enrolled_at),
            "revoked_at": _optional_time(record.revoked_at),
        }
    if isinstance(record, RosterRecord):
        return "patient", {
            "type": "patient",
            "code": record.code,
            "site": record.site,
            "birth_ym": record.birth_ym,
            "baseline_date": record.baseline_date.isoformat(),
        }
    if isinstance(record, AnnotationRecord):
        return "annotation", {
            "type": "annotation",
            "id": record.id,
            "response_id": record.response_id,
            "site": record.site,
            "patient": record.patient,
            "kind": record.kind,
            "reason": record.reason,
            "actor": record.actor,
            "at": _time(record.at),
        }
    if isinstance(record, AuditRecord):
        return "audit", {
            "type": "audit",
            "id": record.id,
            "at": _time(record.at),
            "event": record.event,
            "device_id": record.device_id,
            "site": record.site,
            "detail": record.detail,
        }
    return "quarantine", {
        "type": "quarantine",
        "id": record.id,
        "response_id": record.response_id,
        "device_id": record.device_id,
        "sha256": record.sha256,
        "received_at": _time(record.received_at),
        "original_receipt_id": record.original_receipt_id,
        "envelope": record.envelope,
    }


def response_order(
    site: str, patient: str, visit: str, submitted_at: str, response_id: str
) -> tuple[str, str, str, str, str]:
    """The order of responses in a bundle; ``submitted_at`` in its signed rendering, which
    sorts as time does. Text compares by code point (codes are ASCII), as ``COLLATE "C"``."""
    return (site, patient, visit, submitted_at, response_id)


class BundleWriter:
    """Streams a bundle to ``out`` (a binary file), hashing every byte as it goes.

    Records must come section by section in :data:`SECTIONS` order, responses in
    :func:`response_order`; anything else is refused, so no server can write a bundle the
    export would have to re-sort. :meth:`finish` writes the manifest and returns it.
    """

    def __init__(self, out: BinaryIO, header: BundleHeader) -> None:
        self._out = out
        self._hash = hashlib.sha256()
        self._header = header
        self._counts = dict.fromkeys(SECTIONS, 0)
        self._section = 0
        self._last: tuple[str, ...] | None = None
        self._finished = False
        self._put(_line(_header_json(header)))

    def _put(self, data: bytes) -> None:
        self._hash.update(data)
        self._out.write(data)

    def write(self, record: Record) -> None:
        if self._finished:
            raise BundleError("the bundle is finished; nothing can follow its manifest")
        kind, data = _record_json(record)
        section = SECTIONS.index(kind)
        if section < self._section:
            raise BundleError(
                f"a {kind} record cannot follow {SECTIONS[self._section]} records in a bundle"
            )
        self._section = section
        if isinstance(record, ResponseRecord):
            key = response_order(
                record.site,
                record.patient,
                record.visit,
                data["submitted_at"],
                record.response_id,
            )
            if self._last is not None and key < self._last:
                raise BundleError(
                    "responses must be written in (site, patient, visit, submitted_at, "
                    "response_id) order"
                )
            self._last = key
        self._put(_line(data))
        self._counts[kind] += 1

    def finish(self) -> BundleManifest:
        """Write the manifest line (counts and the SHA-256 of everything before it)."""
        if self._finished:
            raise BundleError("the bundle is finished already")
        manifest = BundleManifest(
            counts=dict(self._counts),
            created_at=self._header.created_at,
            server_schema_version=self._header.server_schema_version,
            sha256=self._hash.hexdigest(),
        )
        self._out.write(
            _line(
                {
                    "type": MANIFEST,
                    "counts": manifest.counts,
                    "created_at": _time(manifest.created_at),
                    "server_schema_version": manifest.server_schema_version,
                    "sha256": manifest.sha256,
                }
            )
        )
        self._finished = True
        return manifest


# ----------------------------------------------------------------------------------- decoding


class _Damaged(Exception):
    """A record that does not have the shape of its type (turned into a BundleError)."""


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise _Damaged(f"its {name} is not a text")
    return value


def _optional_text(data: Mapping[str, Any], name: str) -> str | None:
    return None if data.get(name) is None else _text(data, name)


def _int(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Damaged(f"its {name} is not a whole number")
    return value


def _parse_time(data: Mapping[str, Any], name: str) -> datetime:
    """A time as the writer renders it (``YYYY-MM-DDTHH:MM:SS.ffffffZ``) and nothing else, so
    that one text stands for one time and a changed byte cannot leave the same value."""
    text = _text(data, name)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _Damaged(f"its {name} is not a date and time") from None
    if value.tzinfo is None or utc_timestamp(value) != text:
        raise _Damaged(f"its {name} is not a UTC time written YYYY-MM-DDTHH:MM:SS.ffffffZ")
    return value.astimezone(UTC)


def _optional_time_of(data: Mapping[str, Any], name: str) -> datetime | None:
    return None if data.get(name) is None else _parse_time(data, name)


def _device(data: Mapping[str, Any]) -> DeviceRecord:
    return DeviceRecord(
        device_id=_text(data, "device_id"),
        site=_text(data, "site"),
        label=_text(data, "label"),
        public_key=_text(data, "public_key"),
        enrolled_at=_parse_time(data, "enrolled_at"),
        revoked_at=_optional_time_of(data, "revoked_at"),
    )


def _patient(data: Mapping[str, Any]) -> RosterRecord:
    text = _text(data, "baseline_date")
    try:
        baseline = date.fromisoformat(text)
    except ValueError:
        raise _Damaged("its baseline_date is not a date") from None
    if baseline.isoformat() != text:
        raise _Damaged("its baseline_date is not written YYYY-MM-DD")
    return RosterRecord(
        code=_text(data, "code"),
        site=_text(data, "site"),
        birth_ym=_text(data, "birth_ym"),
        baseline_date=baseline,
    )


def _audit(data: Mapping[str, Any]) -> AuditRecord:
    return AuditRecord(
        id=_int(data, "id"),
        at=_parse_time(data, "at"),
        event=_text(data, "event"),
        device_id=_optional_text(data, "device_id"),
        site=_optional_text(data, "site"),
        detail=_text(data, "detail"),
    )


def _quarantine(data: Mapping[str, Any]) -> QuarantineRecord:
    return QuarantineRecord(
        id=_int(data, "id"),
        response_id=_text(data, "response_id"),
        device_id=_text(data, "device_id"),
        sha256=_text(data, "sha256"),
        received_at=_parse_time(data, "received_at"),
        original_receipt_id=_text(data, "original_receipt_id"),
        envelope=_text(data, "envelope"),
    )


def _annotation(data: Mapping[str, Any]) -> AnnotationRecord:
    return AnnotationRecord(
        id=_int(data, "id"),
        response_id=_text(data, "response_id"),
        site=_text(data, "site"),
        patient=_text(data, "patient"),
        kind=_text(data, "kind"),
        reason=_text(data, "reason"),
        actor=_text(data, "actor"),
        at=_parse_time(data, "at"),
    )


def _response(data: Mapping[str, Any]) -> ResponseRecord:
    return ResponseRecord(
        site=_text(data, "site"),
        patient=_text(data, "patient"),
        visit=_text(data, "visit"),
        submitted_at=_parse_time(data, "submitted_at"),
        response_id=_text(data, "response_id"),
        device_id=_text(data, "device_id"),
        receipt_id=_text(data, "receipt_id"),
        received_at=_parse_time(data, "received_at"),
        sha256=_text(data, "sha256"),
        envelope=_text(data, "envelope"),
    )


_DECODERS: Final[dict[str, Callable[[Mapping[str, Any]], Any]]] = {
    "device": _device,
    "patient": _patient,
    "audit": _audit,
    "quarantine": _quarantine,
    "annotation": _annotation,
    "response": _response,
}


@dataclass(frozen=True, slots=True)
class Span:
    """Where records sit in the file: bytes ``start`` to ``end``, ``count`` records."""

    start: int
    end: int
    count: int


@dataclass(frozen=True, slots=True)
class ResponseGroup:
    """One patient's responses: contiguous in the file, since responses are ordered."""

    site: str
    patient: str
    span: Span


def read_span(path: Path, span: Span, kind: str) -> Iterator[Any]:
    """The records of ``kind`` in ``span`` of the bundle at ``path``, read one at a time.

    For the workers of an export, which open the bundle themselves. The span was checked by
    :func:`open_bundle`; a file changed since then is reported, not trusted.
    """
    decode = _DECODERS[kind]
    try:
        with path.open("rb") as handle:
            handle.seek(span.start)
            remaining = span.end - span.start
            for _ in range(span.count):
                line = handle.readline(remaining)
                remaining -= len(line)
                yield _decode_line(line, kind, decode, path)
    except OSError as error:
        raise BundleError(f"cannot read the bundle {path.name}: {error.strerror}") from None


def _decode_line(
    line: bytes, kind: str, decode: Callable[[Mapping[str, Any]], Any], path: Path
) -> Any:
    try:
        data = json.loads(line)
        if not isinstance(data, dict) or data.get("type") != kind:
            raise _Damaged(f"it is not a {kind} record")
        return decode(data)
    except (ValueError, _Damaged):
        raise BundleError(
            f"the bundle {path.name} changed while it was being read; copy it again and start over"
        ) from None


@dataclass(frozen=True, slots=True)
class Bundle:
    """A checked bundle (:func:`open_bundle`): header, manifest, and where each section is."""

    path: Path
    header: BundleHeader
    manifest: BundleManifest
    sections: Mapping[str, Span]
    #: Every patient's responses, in bundle order.
    groups: tuple[ResponseGroup, ...]

    @property
    def counts(self) -> Mapping[str, int]:
        return self.manifest.counts

    def devices(self) -> Iterator[DeviceRecord]:
        return read_span(self.path, self.sections["device"], "device")

    def patients(self) -> Iterator[RosterRecord]:
        return read_span(self.path, self.sections["patient"], "patient")

    def audit(self) -> Iterator[AuditRecord]:
        return read_span(self.path, self.sections["audit"], "audit")

    def quarantine(self) -> Iterator[QuarantineRecord]:
        return read_span(self.path, self.sections["quarantine"], "quarantine")

    def annotations(self) -> Iterator[AnnotationRecord]:
        return read_span(self.path, self.sections["annotation"], "annotation")

    def responses(self, span: Span | None = None) -> Iterator[ResponseRecord]:
        """Every response in bundle order, or those of ``span`` (a group's, or several)."""
        return read_span(self.path, span or self.sections["response"], "response")


def open_bundle(path: Path) -> Bundle:
    """Check the bundle at ``path`` in one pass and return it, ready to be read.

    Raises :class:`BundleError` saying plainly whether the file is not a bundle, truncated
    (it ends before its manifest), or altered (its bytes do not match the manifest's hash or
    counts, or a record is damaged or out of order).
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as error:
        raise BundleError(f"cannot open the bundle {path}: {error.strerror}") from None
    with handle:
        try:
            return _check(path, handle)
        except OSError as error:
            raise BundleError(f"cannot read the bundle {path}: {error.strerror}") from None


def _not_a_bundle(path: Path) -> BundleError:
    return BundleError(
        f"{path.name} is not an epro export bundle (it does not start with a bundle header); "
        "make one on the study server with `epro-sync bundle --out FILE`"
    )


def _truncated(path: Path) -> BundleError:
    return BundleError(
        f"the bundle {path.name} is truncated: it ends before its manifest, so part of it is "
        "missing; copy it from the server again (or make a new one with `epro-sync bundle`)"
    )


def _altered(path: Path, what: str) -> BundleError:
    return BundleError(
        f"the bundle {path.name} has been altered or damaged: {what}; copy it from the "
        "server again (or make a new one with `epro-sync bundle`)"
    )


def _read_header(path: Path, line: bytes) -> BundleHeader:
    try:
        data = json.loads(line)
    except ValueError:
        if line.startswith(b'{"format":"epro-bundle/') and not line.endswith(b"\n"):
            raise _truncated(path) from None  # cut inside its very first line
        raise _not_a_bundle(path) from None
    if not isinstance(data, dict) or not isinstance(data.get("format"), str):
        raise _not_a_bundle(path)
    found = data["format"]
    if found not in FORMATS:
        if found.startswith("epro-bundle/"):
            readable = " and ".join(FORMATS)
            raise BundleError(
                f"the bundle {path.name} is of format {found}; this epro reads {readable} — "
                "use the epro release that matches the study server"
            )
        raise _not_a_bundle(path)
    if not line.endswith(b"\n"):
        raise _truncated(path)
    try:
        return BundleHeader(
            format=found,
            created_at=_parse_time(data, "created_at"),
            server_schema_version=_int(data, "server_schema_version"),
            site=_optional_text(data, "site"),
            study_key_fingerprint=_optional_text(data, "study_key_fingerprint"),
        )
    except _Damaged as error:
        raise _altered(path, f"its header is damaged ({error})") from None


def _read_manifest(path: Path, data: Mapping[str, Any], header: BundleHeader) -> BundleManifest:
    counts = data.get("counts")
    if not isinstance(counts, dict) or set(counts) != set(FORMATS[header.format]):
        raise _altered(path, "its manifest does not list the records of every section")
    if any(not isinstance(v, int) or isinstance(v, bool) for v in counts.values()):
        raise _altered(path, "its manifest counts are not whole numbers")
    try:
        manifest = BundleManifest(
            counts={kind: counts.get(kind, 0) for kind in SECTIONS},
            created_at=_parse_time(data, "created_at"),
            server_schema_version=_int(data, "server_schema_version"),
            sha256=_text(data, "sha256"),
        )
    except _Damaged as error:
        raise _altered(path, f"its manifest is damaged ({error})") from None
    if (manifest.created_at, manifest.server_schema_version) != (
        header.created_at,
        header.server_schema_version,
    ):
        raise _altered(path, "its manifest and its header disagree on when it was made")
    return manifest


#: A header is a few hundred bytes; a file whose first line is longer is not a bundle (and is
#: not read into memory whole to find that out).
_HEADER_LIMIT: Final = 65_536


def _check(path: Path, handle: BinaryIO) -> Bundle:
    first = handle.readline(_HEADER_LIMIT)
    if not first:
        raise _not_a_bundle(path)
    header = _read_header(path, first)
    allowed = FORMATS[header.format]
    digest = hashlib.sha256(first)
    offset = len(first)
    number = 1
    counts = dict.fromkeys(SECTIONS, 0)
    starts: dict[str, int] = {}
    ends: dict[str, int] = {}
    section = 0
    groups: list[ResponseGroup] = []
    group_key: tuple[str, str] | None = None
    group_start = group_count = 0
    last: tuple[str, ...] | None = None
    manifest: BundleManifest | None = None
    for line in handle:
        number += 1
        if manifest is not None:
            raise _altered(path, f"line {number} follows the manifest, which must come last")
        if not line.endswith(b"\n"):
            raise _truncated(path)
        try:
            data = json.loads(line)
        except ValueError:
            raise _altered(path, f"line {number} is not a JSON record") from None
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == MANIFEST:
            manifest = _read_manifest(path, data, header)
            if manifest.sha256 != digest.hexdigest():
                raise _altered(path, "its content does not match the SHA-256 of its manifest")
            continue
        if kind not in allowed:
            raise _altered(path, f"line {number} is not a bundle record")
        place = SECTIONS.index(kind)
        if place < section:
            raise _altered(path, f"line {number}: a {kind} record after the {SECTIONS[section]}s")
        section = place
        starts.setdefault(kind, offset)
        if kind == "response":
            try:
                site, patient = _text(data, "site"), _text(data, "patient")
                key = response_order(
                    site,
                    patient,
                    _text(data, "visit"),
                    _text(data, "submitted_at"),
                    _text(data, "response_id"),
                )
                _text(data, "envelope")
            except _Damaged as error:
                raise _altered(path, f"line {number} is a damaged response ({error})") from None
            if last is not None and key < last:
                raise _altered(path, f"line {number}: the responses are out of order")
            last = key
            if (site, patient) != group_key:
                if group_key is not None:
                    groups.append(ResponseGroup(*group_key, Span(group_start, offset, group_count)))
                group_key, group_start, group_count = (site, patient), offset, 0
            group_count += 1
        else:
            try:
                _DECODERS[kind](data)
            except _Damaged as error:
                raise _altered(path, f"line {number} is a damaged {kind} ({error})") from None
        counts[kind] += 1
        digest.update(line)
        offset += len(line)
        ends[kind] = offset
    if manifest is None:
        raise _truncated(path)
    if group_key is not None:
        groups.append(ResponseGroup(*group_key, Span(group_start, ends["response"], group_count)))
    for kind in SECTIONS:
        if manifest.counts[kind] != counts[kind]:
            raise _altered(
                path,
                f"its manifest counts {manifest.counts[kind]} {kind} records but it holds "
                f"{counts[kind]}",
            )
    sections = {
        kind: Span(starts.get(kind, offset), ends.get(kind, offset), counts[kind])
        for kind in SECTIONS
    }
    return Bundle(path, header, manifest, sections, tuple(groups))
