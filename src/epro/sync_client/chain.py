"""The audit head exchange: show the server that this kiosk's log extends what it holds.

At each sync the kiosk posts its audit head with the link hashes of every event since the
head the server stored last (``AUDIT_HEAD_ACKED``), in pages of :data:`AUDIT_LINKS_MAX`, each
extending the one before. The server compares the link at its own head (``epro_sync
.kiosk_heads``): a kiosk file restored from an older copy, or a log rewritten since, is
flagged. A flagged kiosk purges nothing (it keeps every answer and envelope, and still
uploads) until the data manager resolves it on the server; the flag's words are kept for the
nurse station. The exchange runs before the upload, so that no purge happens on the word of a
log the server has not accepted, and again after it, to cover the sync's own events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
from pydantic import ValidationError

from epro.protocol import AUDIT_LINKS_MAX, AuditHeadReply, audit_head_json
from epro.store.domain import AuditKind
from epro.sync_client import status as keys_
from epro.sync_client.errors import SyncFailure

if TYPE_CHECKING:
    from epro.store import Store

#: A ``resend`` is answered once; a server asking again is not followed further.
_RESENDS = 2


def flagged_failure(message: str) -> SyncFailure:
    return SyncFailure(
        "the study server flagged this kiosk's audit log: "
        f"{message}. Nothing is deleted from this kiosk until the data manager has checked it "
        "and resolved it on the server; responses are still uploaded",
        retryable=False,
    )


class AuditHeads:
    """One sync's audit head exchange over an open client; ``check`` vets each reply."""

    def __init__(
        self, store: Store, client: httpx.Client, check: Callable[[httpx.Response], None]
    ) -> None:
        self.store = store
        self.client = client
        self.check = check

    def push(self) -> str | None:
        """Post the head and the links since the last acknowledged one; the server's words if
        it flagged the log (None when it accepted it, or when there is no log yet)."""
        with self.store.unit_of_work() as uow:
            head = uow.audit.head()
            acked = uow.keys.get_setting(keys_.AUDIT_HEAD_ACKED)
            keyed_from = uow.audit.keyed_from()
            acknowledged = uow.outbox.count_acknowledged()
        if head is None:
            return None
        from_seq = min(int(acked), head.seq) if acked else None
        for _ in range(_RESENDS + 1):
            reply = self._post_from(from_seq, head.seq, keyed_from, acknowledged)
            if reply.status == "resend" and reply.held_seq is not None:
                from_seq = max(1, min(reply.held_seq, head.seq))
                continue
            break
        return self._remember(reply)

    def _post_from(
        self, from_seq: int | None, head_seq: int, keyed_from: int | None, acknowledged: int
    ) -> AuditHeadReply:
        if from_seq is None:  # nothing acknowledged yet: the head alone
            with self.store.unit_of_work() as uow:
                (link,), at = uow.audit.links(head_seq, 1)
            body = audit_head_json(
                seq=link[0],
                hash=link[1],
                at=at,
                from_seq=None,
                links=[],
                keyed_from=keyed_from,
                acknowledged=acknowledged,
            )
            return self._post(body)
        start = from_seq
        while True:
            with self.store.unit_of_work() as uow:
                links, at = uow.audit.links(start, AUDIT_LINKS_MAX)
            last = links[-1]
            final = last[0] >= head_seq
            reply = self._post(
                audit_head_json(
                    seq=last[0],
                    hash=last[1],
                    at=at,
                    from_seq=links[0][0],
                    links=[digest for _, digest in links],
                    keyed_from=keyed_from,
                    acknowledged=acknowledged if final else None,
                )
            )
            if final or reply.status not in ("stored", "unchanged"):
                return reply
            start = last[0]  # the next page starts at the head just stored

    def _post(self, body: bytes) -> AuditHeadReply:
        response = self.client.post("/v1/audit-head", content=body)
        self.check(response)
        try:
            reply = AuditHeadReply.model_validate_json(response.content)
        except ValidationError:
            raise SyncFailure(
                "the study server's reply to the audit head was not understood: check that "
                "the kiosk and the server run the same epro version",
                retryable=False,
            ) from None
        if reply.status in ("stored", "unchanged") and reply.held_seq is not None:
            with self.store.unit_of_work() as uow:  # written (one fsync) only when it moves
                if uow.keys.get_setting(keys_.AUDIT_HEAD_ACKED) != str(reply.held_seq):
                    uow.keys.set_setting(keys_.AUDIT_HEAD_ACKED, str(reply.held_seq))
                    uow.commit()
        return reply

    def _remember(self, reply: AuditHeadReply) -> str | None:
        """Keep (or clear) the flag for the nurse station; audit each change of it."""
        flagged = reply.status == "flagged"
        message = reply.message or "the study server gave no detail"
        with self.store.unit_of_work() as uow:
            before = uow.keys.get_setting(keys_.CHAIN_FLAG) or ""
            if flagged and before != message:
                uow.keys.set_setting(keys_.CHAIN_FLAG, message)
                uow.audit.append(AuditKind.SYNC, "system", detail="audit log flagged by server")
            elif not flagged and before:
                uow.keys.set_setting(keys_.CHAIN_FLAG, "")
                uow.audit.append(AuditKind.SYNC, "system", detail="audit log accepted again")
            else:
                return message if flagged else None  # nothing changed: no write, no fsync
            uow.commit()
        return message if flagged else None
