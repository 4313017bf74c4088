"""Site data exchanged at each sync besides responses: roster, completion, audit chain head.

The server is the source of truth for the site's patients and completion across kiosks; the
kiosk pushes what it enrolled, adds what others enrolled, caches completion for the nurse
station, and sends the head of its audit chain so later local tampering can be detected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import httpx
from pydantic import ValidationError

from epro.protocol import AuditHead, Completion, Roster, RosterPatient, RosterPush
from epro.store.domain import Patient
from epro.sync_client import status as keys_
from epro.sync_client.errors import SyncFailure
from epro.sync_client.http import error_detail

if TYPE_CHECKING:
    from epro.store import Store


class SiteReplies(NamedTuple):
    """The server's replies to one roster and completion exchange (see SiteData.fetch)."""

    pushed: httpx.Response | None  # None: no local patient to push
    roster: httpx.Response
    completion: httpx.Response


class SiteData:
    """One sync's exchange of site data over an open client; ``check`` vets each reply."""

    def __init__(
        self, store: Store, client: httpx.Client, check: Callable[[httpx.Response], None]
    ) -> None:
        self.store = store
        self.client = client
        self.check = check

    def local_patients(self) -> list[Patient]:
        """The patients enrolled on this kiosk, to push (read on the caller's thread)."""
        with self.store.unit_of_work() as uow:
            return uow.patients.list()

    def fetch(self, patients: list[Patient]) -> SiteReplies:
        """The HTTP half of the roster and completion exchange, touching no store: push the
        kiosk's patients (if any), then pull the site roster and completion. Safe to run on
        another thread while the outbox uploads: neither depends on it."""
        pushed = None
        if patients:
            push = RosterPush(patients=[_roster_patient(p) for p in patients])
            pushed = self.client.post("/v1/roster", content=push.model_dump_json())
        return SiteReplies(pushed, self.client.get("/v1/roster"), self.client.get("/v1/completion"))

    def apply(self, replies: SiteReplies) -> SyncFailure | None:
        """Check the replies of :meth:`fetch` in order, add the site's patients enrolled on
        other kiosks and cache the completion; a roster code enrolled differently elsewhere
        is returned (syncing goes on), any other refusal raised."""
        problem = None
        if replies.pushed is not None and replies.pushed.status_code == 409:
            problem = SyncFailure(
                f"the site roster disagrees with this kiosk: {error_detail(replies.pushed)}",
                retryable=False,
            )
        elif replies.pushed is not None:
            self.check(replies.pushed)
        self.check(replies.roster)
        roster = _parse(Roster, replies.roster)
        self.check(replies.completion)
        completion = _parse(Completion, replies.completion)
        with self.store.unit_of_work() as uow:
            known = {p.code for p in uow.patients.list()}
            for p in roster.patients:
                if p.code not in known:
                    uow.patients.add(
                        Patient(
                            code=p.code,
                            birth_ym=p.birth_ym,
                            baseline_date=p.baseline_date,
                            site=p.site,
                            language=p.language,
                        )
                    )
            uow.keys.set_setting(keys_.COMPLETION, completion.model_dump_json())
            uow.commit()
        return problem

    def push_audit_head(self) -> None:
        """Send the audit chain head, so later local tampering is detectable."""
        with self.store.unit_of_work() as uow:
            head = uow.audit.head()
        if head is None:
            return
        body = AuditHead(seq=head.seq, hash=head.hash, at=head.at)
        response = self.client.post("/v1/audit-head", content=body.model_dump_json())
        self.check(response)


def _roster_patient(p: Patient) -> RosterPatient:
    return RosterPatient(
        code=p.code,
        site=p.site,
        birth_ym=p.birth_ym,
        baseline_date=p.baseline_date,
        language=p.language,
    )


_M = TypeVar("_M", Roster, Completion)


def _parse(model: type[_M], response: httpx.Response) -> _M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError:
        raise SyncFailure(
            "a reply from the study server was not understood: check that the kiosk and the "
            "server run the same epro version",
            retryable=False,
        ) from None
