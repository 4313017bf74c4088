"""Site data exchanged at each sync besides responses: roster, completion, audit chain head.

The server is the source of truth for the site's patients and completion across kiosks; the
kiosk pushes what it enrolled, adds what others enrolled, caches completion for the nurse
station, and sends the head of its audit chain so later local tampering can be detected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import httpx
from pydantic import ValidationError

from epro.protocol import AuditHead, Completion, Roster, RosterPatient, RosterPush
from epro.store.domain import Patient
from epro.sync_client import status as keys_
from epro.sync_client.errors import SyncFailure
from epro.sync_client.http import error_detail

if TYPE_CHECKING:
    from epro.store import Store


class SiteData:
    """One sync's exchange of site data over an open client; ``check`` vets each reply."""

    def __init__(
        self, store: Store, client: httpx.Client, check: Callable[[httpx.Response], None]
    ) -> None:
        self.store = store
        self.client = client
        self.check = check

    def push_roster(self) -> SyncFailure | None:
        """Push locally enrolled patients; a conflicting code is returned, not raised."""
        with self.store.unit_of_work() as uow:
            patients = uow.patients.list()
        if not patients:
            return None
        push = RosterPush(patients=[_roster_patient(p) for p in patients])
        response = self.client.post("/v1/roster", content=push.model_dump_json())
        if response.status_code == 409:
            # A code enrolled differently elsewhere: keep syncing, tell staff.
            return SyncFailure(
                f"the site roster disagrees with this kiosk: {error_detail(response)}",
                retryable=False,
            )
        self.check(response)
        return None

    def pull_roster(self) -> None:
        """Add the site's patients enrolled on other kiosks."""
        response = self.client.get("/v1/roster")
        self.check(response)
        roster = _parse(Roster, response)
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
            uow.commit()

    def pull_completion(self) -> None:
        """Cache the site's completion (all kiosks) for the nurse station."""
        response = self.client.get("/v1/completion")
        self.check(response)
        completion = _parse(Completion, response)
        with self.store.unit_of_work() as uow:
            uow.keys.set_setting(keys_.COMPLETION, completion.model_dump_json())
            uow.commit()

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
