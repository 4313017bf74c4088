"""No answer is ever on disk in clear: marker answers are absent from the .db, -wal and logs."""

from __future__ import annotations

from pathlib import Path

from epro.store import AuditKind, ResponseMeta, Store

from .conftest import MakeResponse

MARKER = "ZQXMARKER"


def files_holding(folder: Path, needle: bytes) -> list[str]:
    """Names of the files under ``folder`` whose raw bytes contain ``needle``."""
    return sorted(
        path.name for path in folder.rglob("*") if path.is_file() and needle in path.read_bytes()
    )


def test_marker_answers_never_reach_the_disk_in_clear(
    store: Store, db_path: Path, make_response: MakeResponse
) -> None:
    metas: list[ResponseMeta] = [make_response(), make_response("DEMO-002")]
    with store.unit_of_work() as uow:
        for number, meta in enumerate(metas):
            uow.answers.put(meta, "chaq_devices_other", f"{MARKER} splint {number}")
            uow.answers.put(meta, "chaq_devices", [f"{MARKER}_code"])
            uow.audit.append(
                AuditKind.ANSWERED, "anna", response_id=meta.id, link_id="chaq_devices_other"
            )
        uow.commit()
    # While open, recent pages live in the -wal file: scan it too.
    assert Path(f"{db_path}-wal").exists()
    assert files_holding(db_path.parent, MARKER.encode()) == []
    assert files_holding(db_path.parent, MARKER.encode("utf-16-le")) == []
    store.close()  # checkpoint: everything now in the main file
    assert files_holding(db_path.parent, MARKER.encode()) == []


def test_the_scan_does_find_a_value_stored_in_clear(store: Store, db_path: Path) -> None:
    # Control for the test above: a plain (non-secret) setting is stored as is, and found.
    with store.unit_of_work() as uow:
        uow.keys.set_setting("label", f"{MARKER} kiosk")
        uow.commit()
    store.close()
    assert files_holding(db_path.parent, MARKER.encode()) == [db_path.name]
