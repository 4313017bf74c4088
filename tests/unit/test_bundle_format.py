"""The export bundle format (DESIGN §9): written in one stream, checked in one pass.

Every damage a copy can suffer — cut short anywhere, one byte changed anywhere, a line added,
records reordered — is reported by name before the export opens a single envelope.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from epro.bundle import (
    FORMAT,
    AnnotationRecord,
    AuditRecord,
    BundleHeader,
    BundleWriter,
    DeviceRecord,
    QuarantineRecord,
    ResponseRecord,
    RosterRecord,
    open_bundle,
)
from epro.errors import BundleError

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _response(patient: str, visit: str, minute: int, rid: str) -> ResponseRecord:
    at = NOW + timedelta(minutes=minute)
    return ResponseRecord(
        site="UMCU",
        patient=patient,
        visit=visit,
        submitted_at=at,
        response_id=rid,
        device_id="kiosk-1",
        receipt_id=f"receipt-{rid}",
        received_at=at + timedelta(seconds=5),
        sha256=hashlib.sha256(rid.encode()).hexdigest(),
        # Stored envelope text with characters JSON must escape, to show they come back exact.
        envelope=f'{{"response_id":"{rid}","label":"caf\u00e9 \\"quoted\\""}}',
    )


RECORDS = [
    DeviceRecord("kiosk-1", "UMCU", "outpatient clinic", "A" * 43 + "=", NOW, None),
    DeviceRecord("kiosk-2", "UMCU", "ward 3", "B" * 43 + "=", NOW, NOW + timedelta(days=2)),
    RosterRecord("DEMO-001", "UMCU", "2015-07", date(2026, 1, 5)),
    RosterRecord("DEMO-002", "UMCU", "2012-11", date(2026, 1, 12)),
    AuditRecord(1, NOW, "enrol", "kiosk-1", "UMCU", '{"label": "outpatient clinic"}'),
    AuditRecord(2, NOW, "verify", None, None, '{"checked": 3}'),
    QuarantineRecord(1, "r2", "kiosk-1", "c" * 64, NOW, "receipt-r2", '{"response_id":"r2"}'),
    AnnotationRecord(
        1, "r4", "UMCU", "DEMO-002", "entered_in_error", "wrong patient \u00e9", "dm", NOW
    ),
    _response("DEMO-001", "V1", 0, "r1"),
    _response("DEMO-001", "V1", 3, "r2"),
    _response("DEMO-001", "V2", 1, "r3"),
    _response("DEMO-002", "V1", 0, "r4"),
    _response("DEMO-003", "V1", 0, "r5"),
]


def _write(path: Path, records: list[object] = RECORDS) -> None:
    with path.open("wb") as out:
        writer = BundleWriter(out, BundleHeader(NOW, 3, "UMCU", "f" * 16))
        for record in records:
            writer.write(record)  # type: ignore[arg-type]
        writer.finish()


@pytest.fixture
def bundle_file(tmp_path: Path) -> Path:
    path = tmp_path / "study.bundle"
    _write(path)
    return path


def test_every_record_reads_back_exactly_as_written(bundle_file: Path) -> None:
    bundle = open_bundle(bundle_file)
    assert bundle.header == BundleHeader(NOW, 3, "UMCU", "f" * 16)
    assert list(bundle.devices()) == RECORDS[0:2]
    assert list(bundle.patients()) == RECORDS[2:4]
    assert list(bundle.audit()) == RECORDS[4:6]
    assert list(bundle.quarantine()) == RECORDS[6:7]
    assert list(bundle.annotations()) == RECORDS[7:8]
    assert list(bundle.responses()) == RECORDS[8:]
    assert dict(bundle.counts) == {
        "device": 2,
        "patient": 2,
        "audit": 2,
        "quarantine": 1,
        "annotation": 1,
        "response": 5,
    }


def test_the_manifest_hash_is_the_sha256_of_every_byte_before_the_manifest_line(
    bundle_file: Path,
) -> None:
    lines = bundle_file.read_bytes().splitlines(keepends=True)
    manifest = json.loads(lines[-1])
    assert manifest["type"] == "manifest"
    assert manifest["sha256"] == hashlib.sha256(b"".join(lines[:-1])).hexdigest()
    assert json.loads(lines[0])["format"] == FORMAT
    assert open_bundle(bundle_file).manifest.sha256 == manifest["sha256"]


def test_the_file_is_plain_ascii_one_record_per_line(bundle_file: Path) -> None:
    data = bundle_file.read_bytes()
    data.decode("ascii")
    assert data.endswith(b"\n")
    assert len(data.splitlines()) == 1 + len(RECORDS) + 1


def test_each_patient_s_responses_are_one_group_read_on_their_own(bundle_file: Path) -> None:
    bundle = open_bundle(bundle_file)
    assert [(g.patient, g.span.count) for g in bundle.groups] == [
        ("DEMO-001", 3),
        ("DEMO-002", 1),
        ("DEMO-003", 1),
    ]
    for group in bundle.groups:
        read = list(bundle.responses(group.span))
        assert read == [r for r in RECORDS[8:] if getattr(r, "patient", None) == group.patient]


def test_a_bundle_cut_short_anywhere_is_reported_as_truncated(bundle_file: Path) -> None:
    data = bundle_file.read_bytes()
    cut = bundle_file.with_name("cut.bundle")
    for length in range(len(data)):
        cut.write_bytes(data[:length])
        with pytest.raises(BundleError) as caught:
            open_bundle(cut)
        message = str(caught.value)
        if length < len('{"format":"epro-bundle/'):
            assert "is not an epro export bundle" in message, length
        else:
            assert "is truncated: it ends before its manifest" in message, length


def test_one_changed_byte_anywhere_is_found(bundle_file: Path) -> None:
    data = bundle_file.read_bytes()
    changed = bundle_file.with_name("changed.bundle")
    for place in range(len(data)):
        flipped = bytearray(data)
        flipped[place] ^= 0x01
        changed.write_bytes(bytes(flipped))
        with pytest.raises(BundleError):
            open_bundle(changed)


def test_a_changed_envelope_is_reported_as_altered_content(bundle_file: Path) -> None:
    data = bundle_file.read_bytes()
    bundle_file.write_bytes(data.replace(b'"response_id\\":\\"r3', b'"response_id\\":\\"r9', 1))
    with pytest.raises(BundleError, match="altered or damaged: its content does not match"):
        open_bundle(bundle_file)


def test_a_line_after_the_manifest_is_reported(bundle_file: Path) -> None:
    with bundle_file.open("ab") as out:
        out.write(b'{"type":"response"}\n')
    with pytest.raises(BundleError, match="follows the manifest, which must come last"):
        open_bundle(bundle_file)


def _rehashed(lines: list[bytes]) -> bytes:
    """``lines`` (header and records) with a manifest that matches them."""
    body = b"".join(lines)
    sections: tuple[str, ...] = (
        "device",
        "patient",
        "audit",
        "quarantine",
        "annotation",
        "response",
    )
    if b'"epro-bundle/1"' in lines[0]:
        sections = tuple(kind for kind in sections if kind != "annotation")
    counts = dict.fromkeys(sections, 0)
    for line in lines[1:]:
        kind = json.loads(line)["type"]
        counts[kind] = counts.get(kind, 0) + 1
    manifest = {
        "type": "manifest",
        "counts": counts,
        "created_at": "2026-03-02T10:00:00.000000Z",
        "server_schema_version": 3,
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    return body + json.dumps(manifest).encode() + b"\n"


def test_responses_out_of_order_are_refused_even_with_a_matching_manifest(
    bundle_file: Path,
) -> None:
    lines = bundle_file.read_bytes().splitlines(keepends=True)[:-1]
    lines[-1], lines[-2] = lines[-2], lines[-1]  # DEMO-003 before DEMO-002
    bundle_file.write_bytes(_rehashed(lines))
    with pytest.raises(BundleError, match="the responses are out of order"):
        open_bundle(bundle_file)


def test_a_section_out_of_place_is_refused_even_with_a_matching_manifest(
    bundle_file: Path,
) -> None:
    lines = bundle_file.read_bytes().splitlines(keepends=True)[:-1]
    lines.append(lines[1])  # a device record after the responses
    bundle_file.write_bytes(_rehashed(lines))
    with pytest.raises(BundleError, match="a device record after the responses"):
        open_bundle(bundle_file)


def test_counts_that_disagree_with_the_records_are_refused(bundle_file: Path) -> None:
    lines = bundle_file.read_bytes().splitlines(keepends=True)
    manifest = json.loads(lines[-1])
    manifest["counts"]["response"] = 6
    lines[-1] = json.dumps(manifest).encode() + b"\n"
    bundle_file.write_bytes(b"".join(lines))
    with pytest.raises(BundleError, match="manifest counts 6 response records but it holds 5"):
        open_bundle(bundle_file)


def test_a_file_that_is_not_a_bundle_says_so_and_how_to_make_one(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("patient,visit\nDEMO-001,V1\n", encoding="utf-8")
    with pytest.raises(BundleError, match=r"not an epro export bundle .*`epro-sync bundle"):
        open_bundle(path)


def test_a_bundle_of_another_format_version_names_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "future.bundle"
    path.write_text('{"format":"epro-bundle/3"}\n', encoding="utf-8")
    with pytest.raises(
        BundleError, match="format epro-bundle/3; this epro reads epro-bundle/1 and epro-bundle/2"
    ):
        open_bundle(path)


def _as_format_one(lines: list[bytes]) -> list[bytes]:
    """The header and records of a bundle relabelled as format 1 (which had no annotations)."""
    header = json.loads(lines[0])
    header["format"] = "epro-bundle/1"
    return [json.dumps(header, separators=(",", ":")).encode() + b"\n", *lines[1:]]


def test_a_format_one_bundle_still_reads_with_no_annotations(bundle_file: Path) -> None:
    lines = bundle_file.read_bytes().splitlines(keepends=True)[:-1]
    kept = [line for line in lines if b'"type":"annotation"' not in line]
    bundle_file.write_bytes(_rehashed(_as_format_one(kept)))
    bundle = open_bundle(bundle_file)
    assert bundle.header.format == "epro-bundle/1"
    assert list(bundle.annotations()) == []
    assert bundle.counts["annotation"] == 0
    assert list(bundle.responses()) == RECORDS[8:]


def test_a_format_one_bundle_cannot_carry_annotations(bundle_file: Path) -> None:
    lines = bundle_file.read_bytes().splitlines(keepends=True)[:-1]
    bundle_file.write_bytes(_rehashed(_as_format_one(lines)))
    with pytest.raises(BundleError, match="is not a bundle record"):
        open_bundle(bundle_file)


def test_a_format_two_manifest_must_count_the_annotations(bundle_file: Path) -> None:
    lines = bundle_file.read_bytes().splitlines(keepends=True)
    manifest = json.loads(lines[-1])
    del manifest["counts"]["annotation"]
    lines[-1] = json.dumps(manifest).encode() + b"\n"
    bundle_file.write_bytes(b"".join(lines))
    with pytest.raises(BundleError, match="does not list the records of every section"):
        open_bundle(bundle_file)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="cannot open the bundle"):
        open_bundle(tmp_path / "nowhere.bundle")


def test_the_writer_refuses_responses_out_of_order(tmp_path: Path) -> None:
    with (tmp_path / "b").open("wb") as out:
        writer = BundleWriter(out, BundleHeader(NOW, 3, None))
        writer.write(_response("DEMO-002", "V1", 0, "r1"))
        with pytest.raises(BundleError, match="must be written in"):
            writer.write(_response("DEMO-001", "V1", 0, "r2"))


def test_the_writer_refuses_a_section_after_a_later_one(tmp_path: Path) -> None:
    with (tmp_path / "b").open("wb") as out:
        writer = BundleWriter(out, BundleHeader(NOW, 3, None))
        writer.write(_response("DEMO-001", "V1", 0, "r1"))
        with pytest.raises(BundleError, match="cannot follow response records"):
            writer.write(RECORDS[0])  # type: ignore[arg-type]


def test_an_empty_study_is_a_valid_bundle(tmp_path: Path) -> None:
    path = tmp_path / "empty.bundle"
    _write(path, [])
    bundle = open_bundle(path)
    assert bundle.groups == ()
    assert list(bundle.responses()) == []
    assert sum(bundle.counts.values()) == 0
