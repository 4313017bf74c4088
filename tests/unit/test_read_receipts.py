"""The kiosk reads upload replies as plain dicts: the same receipts the protocol models give,
and the same refusal of a reply that is not one."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from epro.protocol import BatchReply, Receipt
from epro.sync_client.client import read_receipts
from epro.sync_client.errors import SyncFailure

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

_RECEIPTS = st.lists(
    st.builds(
        Receipt,
        response_id=st.none() | st.uuids(),
        status=st.sampled_from(["stored", "duplicate", "conflict", "rejected"]),
        receipt_id=st.none() | st.uuids(),
        received_at=st.none() | st.just(WHEN),
        sha256=st.none() | st.just("ab" * 32),
        message=st.text(max_size=40),
    ),
    max_size=20,
)


@given(_RECEIPTS)
def test_a_reply_written_from_the_protocol_models_reads_back_field_for_field(
    receipts: list[Receipt],
) -> None:
    content = BatchReply(receipts=receipts).model_dump_json().encode()
    read = read_receipts(content)
    assert [(r["response_id"], r["status"], r["receipt_id"], r["message"]) for r in read] == [
        (
            None if r.response_id is None else str(r.response_id),
            r.status,
            None if r.receipt_id is None else str(r.receipt_id),
            r.message,
        )
        for r in receipts
    ]


def _receipt(**changes: object) -> dict[str, object]:
    receipt: dict[str, object] = {
        "response_id": str(uuid.uuid4()),
        "status": "stored",
        "receipt_id": str(uuid.uuid4()),
        "received_at": WHEN.isoformat(),
        "sha256": "ab" * 32,
        "message": "",
    }
    return receipt | changes


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        b'{"receipts": {}}',
        json.dumps({"receipts": [_receipt(status="kept")]}).encode(),
        json.dumps({"receipts": [_receipt(response_id="NOT-A-UUID")]}).encode(),
        json.dumps({"receipts": [_receipt(receipt_id=str(uuid.uuid4()).upper())]}).encode(),
        json.dumps({"receipts": [{"status": "stored"}]}).encode(),
    ],
    ids=["text", "list", "no-list", "status", "id", "upper-case", "missing"],
)
def test_a_reply_that_is_not_a_batch_reply_is_a_retryable_failure(content: bytes) -> None:
    with pytest.raises(SyncFailure, match="not understood") as caught:
        read_receipts(content)
    assert caught.value.retryable
